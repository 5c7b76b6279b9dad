package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/corral-io/corral/client"
)

// serverAddr is set by TestMain to a corral server's address; in a program it would
// be a connect string such as "zk1:2181,zk2:2181,zk3:2181/myapp".

func ExampleConnect() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := client.Connect(ctx, serverAddr,
		client.WithSessionTimeout(10*time.Second),
		client.WithSessionEvents(func(ev client.SessionEvent) {
			log.Printf("session 0x%x is %s", ev.SessionID, ev.State)
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Println(conn.State())
	// Output: Connected
}

func ExampleConn_Create() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := client.Connect(ctx, serverAddr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	if _, err := conn.Create(ctx, "/example-config", []byte("v1"), client.Persistent); err != nil {
		log.Fatal(err)
	}
	data, stat, err := conn.Get(ctx, "/example-config")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s version %d\n", data, stat.Version)

	// Errors match ZooKeeper's codes with errors.Is, and read like zkCli's.
	_, err = conn.Create(ctx, "/example-config", nil, client.Persistent)
	fmt.Println(errors.Is(err, client.ErrNodeExists), err)

	// Conditional update: only if nobody changed it since we read it.
	if _, err := conn.Set(ctx, "/example-config", []byte("v2"), stat.Version); err != nil {
		log.Fatal(err)
	}
	_, err = conn.Set(ctx, "/example-config", []byte("v3"), stat.Version)
	fmt.Println(errors.Is(err, client.ErrBadVersion))
	// Output:
	// v1 version 0
	// true Node already exists: /example-config
	// true
}

func ExampleConn_GetW() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := client.Connect(ctx, serverAddr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Create(ctx, "/example-watched", []byte("a"), client.Persistent); err != nil {
		log.Fatal(err)
	}

	_, _, changed, err := conn.GetW(ctx, "/example-watched")
	if err != nil {
		log.Fatal(err)
	}
	go conn.Set(ctx, "/example-watched", []byte("b"), -1)
	ev := <-changed // one event, then the channel closes
	fmt.Println(ev.Type, ev.Path)
	// Output: NodeDataChanged /example-watched
}

func ExampleConn_AddWatch() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := client.Connect(ctx, serverAddr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	events, remove, err := conn.AddWatch(ctx, "/example-tree", client.WatchPersistentRecursive)
	if err != nil {
		log.Fatal(err)
	}
	defer remove(ctx)
	conn.Create(ctx, "/example-tree", nil, client.Persistent)
	conn.Create(ctx, "/example-tree/leaf", nil, client.Persistent)
	for i := 0; i < 2; i++ {
		ev := <-events
		fmt.Println(ev.Type, ev.Path)
	}
	// Output:
	// NodeCreated /example-tree
	// NodeCreated /example-tree/leaf
}

func ExampleConn_Txn() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := client.Connect(ctx, serverAddr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Create(ctx, "/example-txn", []byte("0"), client.Persistent); err != nil {
		log.Fatal(err)
	}

	// All or nothing: bump the counter and log the change, only if it is still at
	// version 0.
	results, err := conn.Txn().
		Check("/example-txn", 0).
		SetData("/example-txn", []byte("1"), 0).
		Create("/example-txn/entry-", []byte("0->1"), client.PersistentSequential).
		Commit(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(results[2].Path)

	// The same again fails at the check; nothing is applied.
	results, err = conn.Txn().
		Check("/example-txn", 0).
		SetData("/example-txn", []byte("2"), 0).
		Commit(ctx)
	var txnErr *client.TxnError
	fmt.Println(errors.As(err, &txnErr), txnErr.Index, errors.Is(err, client.ErrBadVersion))
	fmt.Println(results[1].Err)
	// Output:
	// /example-txn/entry-0000000000
	// true 0 true
	// KeeperErrorCode = RuntimeInconsistency for /example-txn
}
