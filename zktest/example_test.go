package zktest_test

import (
	"fmt"
	"log"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/zktest"
)

// A client connected through a Link loses its connections when the link is
// cut and gets them back when it heals, while the ensemble itself keeps
// running. (Not run by go test: it needs ZooKeeper installed.)
func Example() {
	c, err := zktest.New(zktest.Options{Nodes: 3})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Stop()

	link := c.NewLink()
	conn, _, err := zk.Connect(link.Servers(), 2*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Create("/example", []byte("hi"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		log.Fatal(err)
	}

	link.Cut()
	// The servers still answer directly.
	leader, err := c.Leader()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("leader is server", leader)

	link.Heal()
	data, _, err := conn.Get("/example") // waits for the client to reconnect
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(data))
}
