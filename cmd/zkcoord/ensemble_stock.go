package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// stockDiff is a setting in which the local ensemble's servers differ from
// a stock ZooKeeper 3.8 server (its defaults, and zoo_sample.cfg's limits).
type stockDiff struct {
	Setting string `json:"setting"`
	Value   string `json:"value"`
	Stock   string `json:"stock"`
	Effect  string `json:"effect"`
}

// jvmDiffs are the system properties zktest starts every server with
// (ensemble_test checks them against the running JVM's command line).
var jvmDiffs = []stockDiff{
	{"znode.container.checkIntervalMs", "100", "60000",
		"empty lock, semaphore and election directories (container nodes) are removed within 0.1 s, not up to a minute later"},
	{"zookeeper.extendedTypesEnabled", "true", "false", "TTL nodes may be created"},
}

// stockConfig is a stock server's value of each zoo.cfg setting the
// ensemble may set, with what a difference means.
var stockConfig = map[string]struct{ value, effect string }{
	"initLimit":               {"10", "followers have less time to sync with a new leader"},
	"syncLimit":               {"5", "a follower cut off from its leader is dropped sooner"},
	"maxSessionTimeout":       {"40000", "sessions may be as long as 100 ticks, not 20"},
	"minSessionTimeout":       {"4000", "sessions may be shorter than 2 ticks"},
	"forceSync":               {"yes", "writes are not fsynced: a machine crash may lose them"},
	"preAllocSize":            {"65536", "transaction logs grow 1 MB at a time, not 64 MB"},
	"4lw.commands.whitelist":  {"srvr", "every four-letter word is answered"},
	"admin.enableServer":      {"true", "no AdminServer on port 8080"},
	"reconfigEnabled":         {"false", "dynamic reconfiguration is allowed"},
	"standaloneEnabled":       {"true", "even a 1-server ensemble runs in quorum mode"},
	"clientPortAddress":       {"0.0.0.0", "clients connect on loopback only"},
	"autopurge.purgeInterval": {"0", "old snapshots are purged"},
}

// stockSame are the settings that only place a server: no difference.
var stockSame = []string{"tickTime", "dataDir", "dataLogDir", "clientPort"}

// stockDiffs lists how the server started with the zoo.cfg at config
// differs from a stock one.
func stockDiffs(config string) ([]stockDiff, error) {
	f, err := os.Open(config)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := slices.Clone(jvmDiffs)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") || slices.Contains(stockSame, k) || strings.HasPrefix(k, "server.") {
			continue
		}
		stock, known := stockConfig[k]
		switch {
		case !known:
			out = append(out, stockDiff{k, v, "unset", "not a stock setting"})
		case stock.value != v:
			out = append(out, stockDiff{k, v, stock.value, stock.effect})
		}
	}
	return out, sc.Err()
}

func printStockDiffs(w io.Writer, diffs []stockDiff) {
	if len(diffs) == 0 {
		return
	}
	fmt.Fprintln(w, "differs from a stock ZooKeeper server (for development, not production):")
	rows := make([]string, len(diffs))
	for i, d := range diffs {
		rows[i] = d.Setting + "=" + d.Value
	}
	table(w, len(diffs),
		column{"SETTING", func(i int) string { return rows[i] }},
		column{"STOCK", func(i int) string { return diffs[i].Stock }},
		column{"EFFECT", func(i int) string { return diffs[i].Effect }},
	)
}
