package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/zkcoord/zkcoord/zktest"
)

// machine says what the figures were measured on: they mean little without it.
type machine struct {
	nproc     int
	cpu       string
	memory    string
	os        string
	goVersion string
	zookeeper string
	java      string
}

func describe(c *zktest.Cluster) machine {
	m := machine{
		nproc:     runtime.NumCPU(),
		cpu:       cpuModel(),
		memory:    memTotal(),
		os:        runtime.GOOS + "/" + runtime.GOARCH,
		goVersion: runtime.Version(),
		zookeeper: zkVersion(c),
		java:      javaVersion(),
	}
	if k, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.os += ", kernel " + strings.TrimSpace(string(k))
	}
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(v)
			if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
				return fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	return "unknown"
}

// zkVersion asks the servers themselves (srvr), and adds the Debian
// package version when that is where the jars come from.
func zkVersion(c *zktest.Cluster) string {
	v := "unknown (srvr unanswered)"
	if out, err := c.FourLetter(0, "srvr"); err == nil {
		for line := range strings.Lines(out) {
			if s, ok := strings.CutPrefix(line, "Zookeeper version:"); ok {
				v = strings.TrimSpace(s)
				if i := strings.Index(v, ", built on"); i > 0 {
					v = v[:i]
				}
				// Debian's build leaves Maven's placeholder for the commit.
				v = strings.TrimSuffix(v, "-${mvngit.commit.id}")
			}
		}
	}
	if c.External() {
		return v + ", external ensemble (ZK_SERVERS)"
	}
	if os.Getenv("ZOOKEEPER_HOME") == "" {
		if out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "zookeeper").Output(); err == nil {
			v += ", Debian package zookeeper " + strings.TrimSpace(string(out))
		}
	}
	return v
}

// javaVersion is the first two lines of `java -version` for the java
// zktest runs (JAVA_HOME's, else PATH's).
func javaVersion() string {
	java := "java"
	if h := os.Getenv("JAVA_HOME"); h != "" {
		java = filepath.Join(h, "bin", "java")
	}
	out, err := exec.Command(java, "-version").CombinedOutput()
	if err != nil {
		return "unknown"
	}
	lines := strings.Split(strings.TrimSpace(string(bytes.ReplaceAll(out, []byte("\r"), nil))), "\n")
	if len(lines) > 2 {
		lines = lines[:2]
	}
	return strings.Join(lines, "; ")
}
