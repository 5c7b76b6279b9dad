package recipe_test

import (
	"context"
	"fmt"
	"log"

	"github.com/corral-io/corral/client/recipe"
)

func ExampleLeaderLatch() {
	conn := dial()
	defer conn.Close()
	ctx := context.Background()
	latch := recipe.NewLeaderLatch(conn, "/examples/latch", "worker-1")
	if err := latch.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer latch.Close(ctx)
	if err := latch.Await(ctx); err != nil {
		log.Fatal(err)
	}
	leader, _ := latch.Leader(ctx)
	fmt.Println("leader:", leader, latch.IsLeader())
	// Lead until latch.Lost() closes; tag every write with latch.FencingToken().
	// Output: leader: worker-1 true
}

func ExampleLeaderSelector() {
	conn := dial()
	defer conn.Close()
	sel := recipe.NewLeaderSelector(conn, "/examples/selector", []byte("worker-1"),
		func(ctx context.Context) error {
			// Lead until ctx is cancelled (leadership lost) or the work is done.
			fmt.Println("leading")
			return nil
		})
	if err := sel.Lead(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output: leading
}
