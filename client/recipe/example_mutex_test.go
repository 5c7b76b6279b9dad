package recipe_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/corral-io/corral/client"
	"github.com/corral-io/corral/client/recipe"
)

// serverAddr is set by TestMain to a corral server's address; in a program it would
// be a connect string such as "zk1:2181,zk2:2181,zk3:2181/myapp".

func dial() *client.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := client.Connect(ctx, serverAddr)
	if err != nil {
		log.Fatal(err)
	}
	return conn
}

// A lock can be lost while held: watch Lost, and hand the fencing token to the
// resource so it can refuse a holder whose lock was taken over.
func ExampleMutex() {
	conn := dial()
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	m := recipe.NewMutex(conn, "/examples/mutex", []byte("127.0.0.1"))
	if err := m.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	defer m.Unlock(context.Background())

	work, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-m.Lost():
			stop() // the lock is gone: stop touching the resource
		case <-work.Done():
		}
	}()
	token := m.FencingToken()
	fmt.Println("holding:", token > 0, work.Err() == nil)
	// storage.Write(work, key, value, token): the storage rejects tokens smaller than
	// the largest it has seen.
	// Output: holding: true true
}

func ExampleRWMutex() {
	conn := dial()
	defer conn.Close()
	ctx := context.Background()
	rw := recipe.NewRWMutex(conn, "/examples/rw", nil)
	r1, _ := rw.RLock(ctx)
	r2, _ := rw.RLock(ctx) // readers share
	fmt.Println("two readers")
	r1.Unlock(ctx)
	r2.Unlock(ctx)
	w, err := rw.Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("writer alone, token", w.FencingToken() > 0)
	w.Unlock(ctx)
	// Output:
	// two readers
	// writer alone, token true
}

func ExampleSemaphore() {
	conn := dial()
	defer conn.Close()
	ctx := context.Background()
	sem := recipe.NewSemaphore(conn, "/examples/sem", 2, nil)
	a, _ := sem.Acquire(ctx)
	b, _ := sem.Acquire(ctx)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err := sem.Acquire(short)
	fmt.Println("third lease:", err)
	a.Release(ctx)
	b.Release(ctx)
	// Output: third lease: context deadline exceeded
}
