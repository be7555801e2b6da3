package once_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/zktest"
)

// BenchmarkCuratorDistinctKeys is BenchmarkDistinctKeys's work done by
// Curator (testdata/CuratorOnce.java), side by side: one JVM per run, b.N
// keys, with 1, 10 and 100 threads. keys/s is timed inside the JVM, so its
// start-up is left out. It needs a JDK and Curator's jars (make
// install-peers); without them it is skipped, saying so.
func BenchmarkCuratorDistinctKeys(b *testing.B) {
	java, cp := curator(b)
	classes := b.TempDir()
	javac := exec.Command(java+"c", "-cp", cp, "-d", classes, filepath.Join("testdata", "CuratorOnce.java"))
	if out, err := javac.CombinedOutput(); err != nil {
		b.Fatalf("javac: %v\n%s", err, out)
	}
	c := zktest.Shared(b)
	done := regexp.MustCompile(`(\d+) keys in (\d+) ms`)
	for _, threads := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			dir := dirFor(b)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, java, "-cp", cp+string(os.PathListSeparator)+classes, "CuratorOnce",
				strings.Join(c.Servers(), ","), dir, strconv.Itoa(b.N), strconv.Itoa(threads))
			out, err := cmd.Output()
			if err != nil {
				b.Fatalf("CuratorOnce: %v\n%s", err, out)
			}
			m := done.FindSubmatch(out)
			if m == nil {
				b.Fatalf("CuratorOnce printed %q", out)
			}
			ms, _ := strconv.ParseFloat(string(m[2]), 64)
			b.ReportMetric(float64(b.N)/(ms/1000), "keys/s")
			m2 := manager(b, c.Servers(), healthy)
			b.ReportMetric(float64(countNodes(b, m2, dir))/float64(b.N), "nodes/key")
			removeTree(b, c, dir)
		})
	}
}

// curator finds java (JAVA_HOME, else PATH; javac beside it) and Curator's
// class path (ZKCOORD_CURATOR_JARS, else Debian's /usr/share/java).
func curator(b *testing.B) (java, classpath string) {
	java = "java"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		java = filepath.Join(home, "bin", "java")
	}
	java, err := exec.LookPath(java)
	if err == nil {
		_, err = exec.LookPath(java + "c")
	}
	if err != nil {
		b.Skipf("no JDK (%v): run make install-peers", err)
	}
	dir := os.Getenv("ZKCOORD_CURATOR_JARS")
	if dir == "" {
		dir = "/usr/share/java"
	}
	var jars []string
	for _, name := range []string{"curator-recipes", "curator-framework", "curator-client", "zookeeper", "zookeeper-jute",
		"guava", "failureaccess", "slf4j-api", "netty-buffer", "netty-codec", "netty-common", "netty-handler",
		"netty-resolver", "netty-transport", "netty-transport-native-unix-common"} {
		p := filepath.Join(dir, name+".jar")
		if _, err := os.Stat(p); err != nil {
			if strings.HasPrefix(name, "curator") || strings.HasPrefix(name, "zookeeper") {
				b.Skipf("no %s in %s: run make install-peers", filepath.Base(p), dir)
			}
			continue
		}
		jars = append(jars, p)
	}
	return java, strings.Join(jars, string(os.PathListSeparator))
}
