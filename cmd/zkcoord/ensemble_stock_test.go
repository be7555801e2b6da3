package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// checkStockDiffs checks what `ensemble up` said differs from a stock
// server against what the server was started with: every difference
// claimed is there (the JVM's command line, its zoo.cfg), and every
// setting there is either claimed or stock.
func checkStockDiffs(t *testing.T, m localServer, upOutput string) {
	t.Helper()
	diffs, err := stockDiffs(m.Config)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(upOutput, "differs from a stock ZooKeeper server") {
		t.Errorf("up did not say how its servers differ from stock:\n%s", upOutput)
	}
	for _, d := range diffs {
		if !strings.Contains(upOutput, d.Setting+"="+d.Value) {
			t.Errorf("up did not name %s=%s:\n%s", d.Setting, d.Value, upOutput)
		}
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", m.PID))
	if err != nil {
		t.Fatalf("the server's command line: %v", err)
	}
	args := strings.Split(string(cmdline), "\x00")
	claimed := map[string]string{}
	for _, d := range diffs {
		claimed[d.Setting] = d.Value
	}
	for _, d := range jvmDiffs {
		if !slices.Contains(args, "-D"+d.Setting+"="+d.Value) {
			t.Errorf("the server was not started with -D%s=%s: %q", d.Setting, d.Value, args)
		}
	}
	for _, a := range args {
		k, v, ok := strings.Cut(strings.TrimPrefix(a, "-D"), "=")
		if !ok || !strings.HasPrefix(a, "-Dzookeeper.") && !strings.HasPrefix(a, "-Dznode.") || k == "zookeeper.jmx.log4j.disable" {
			continue
		}
		if claimed[k] != v {
			t.Errorf("the server runs with %s, which up does not list", a)
		}
	}
	f, err := os.Open(m.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || slices.Contains(stockSame, k) || strings.HasPrefix(k, "server.") {
			continue
		}
		if stock, known := stockConfig[k]; known && stock.value == v {
			continue
		}
		if claimed[k] != v {
			t.Errorf("zoo.cfg sets %s=%s, which up does not list", k, v)
		}
	}
}
