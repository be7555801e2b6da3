package discover_test

import (
	"fmt"
	"os"

	"github.com/zkcoord/zkcoord/discover"
)

func ExampleServers() {
	os.Setenv("ZK_SERVERS", "zk1:2181, zk2:2181,zk3:2181")
	defer os.Unsetenv("ZK_SERVERS")

	servers, source, err := discover.Servers()
	if err != nil {
		fmt.Println(err) // says how to get an ensemble
		return
	}
	fmt.Println(servers, "from", source)
	// Output: [zk1:2181 zk2:2181 zk3:2181] from ZK_SERVERS
}
