package recipe_test

import (
	"context"
	"fmt"
	"log"
	"sync"

	"github.com/corral-io/corral/client"
	"github.com/corral-io/corral/client/recipe"
)

func ExampleBarrier() {
	conn := dial()
	defer conn.Close()
	ctx := context.Background()
	b := recipe.NewBarrier(conn, "/examples/barrier")
	b.Set(ctx)
	done := make(chan struct{})
	go func() {
		b.Wait(ctx) // blocks until the barrier is removed
		close(done)
	}()
	b.Remove(ctx)
	<-done
	fmt.Println("through")
	// Output: through
}

func ExampleDoubleBarrier() {
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		conn := dial()
		defer conn.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := recipe.NewDoubleBarrier(conn, "/examples/double", 2)
			if err := b.Enter(ctx); err != nil { // waits for both members
				log.Fatal(err)
			}
			if err := b.Leave(ctx); err != nil { // waits for both to leave
				log.Fatal(err)
			}
		}()
	}
	wg.Wait()
	fmt.Println("both entered and left")
	// Output: both entered and left
}

func ExampleQueue() {
	conn := dial()
	defer conn.Close()
	ctx := context.Background()
	q := recipe.NewQueue(conn, "/examples/queue")
	q.Put(ctx, []byte("first"))
	q.Put(ctx, []byte("second"))
	a, _ := q.Take(ctx)
	b, _ := q.Take(ctx)
	fmt.Printf("%s %s\n", a, b)
	// Output: first second
}

func ExampleSharedCount() {
	conn := dial()
	defer conn.Close()
	ctx := context.Background()
	c := recipe.NewSharedCount(conn, "/examples/shared-count", 10)
	v, _ := c.Add(ctx, 5)
	fmt.Println(v)
	// Output: 15
}

func ExampleAtomicLong() {
	conn := dial()
	defer conn.Close()
	ctx := context.Background()
	a := recipe.NewAtomicLong(conn, "/examples/atomic-long")
	a.Increment(ctx)
	pre, post, _ := a.Add(ctx, 41)
	fmt.Println(pre, post)
	// Output: 1 42
}

func ExampleTreeCache() {
	conn := dial()
	defer conn.Close()
	ctx := context.Background()
	conn.Create(ctx, "/examples-tree", []byte("root"), client.Persistent)
	tc := recipe.NewTreeCache(conn, "/examples-tree")
	if err := tc.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer tc.Close()
	for ev := range tc.Events() {
		fmt.Println(ev.Type, ev.Path)
		if ev.Type == recipe.TreeInitialized {
			break
		}
	}
	conn.Create(ctx, "/examples-tree/child", []byte("x"), client.Persistent)
	ev := <-tc.Events()
	n, _ := tc.Get("/examples-tree/child")
	fmt.Println(ev.Type, ev.Path, string(n.Data))
	// Output:
	// Added /examples-tree
	// Initialized /examples-tree
	// Added /examples-tree/child x
}
