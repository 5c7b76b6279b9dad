package recipe_test

import (
	"context"
	"fmt"
	"log"

	"github.com/corral-io/corral/client/recipe"
)

func ExampleServiceDiscovery() {
	conn := dial()
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sd := recipe.NewServiceDiscovery(conn, "/examples/services")
	port := 8080
	reg, err := sd.Register(ctx, recipe.ServiceInstance{Name: "api", ID: "i1", Address: "10.0.0.1", Port: &port})
	if err != nil {
		log.Fatal(err)
	}
	updates, _ := sd.Watch(ctx, "api")
	for _, in := range <-updates {
		fmt.Printf("%s at %s:%d\n", in.ID, in.Address, *in.Port)
	}
	reg.Unregister(ctx)
	fmt.Println("after unregister:", len(<-updates))
	// Output:
	// i1 at 10.0.0.1:8080
	// after unregister: 0
}

func ExampleGroup() {
	conn := dial()
	defer conn.Close()
	ctx := context.Background()
	g := recipe.NewGroup(conn, "/examples/group")
	m, err := g.Join(ctx, "node-1", []byte("10.0.0.1"))
	if err != nil {
		log.Fatal(err)
	}
	members, _ := g.Members(ctx)
	fmt.Printf("%s\n", members["node-1"])
	m.Leave(ctx)
	// Output: 10.0.0.1
}
