package zktest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNoZooKeeper is returned by New when neither a ZooKeeper installation with
// a Java runtime nor ZK_SERVERS is available. Its text is the one line a test
// failure shows, so it says how to get one.
var ErrNoZooKeeper = errors.New("zktest: no ZooKeeper found: run scripts/install-zookeeper, or set ZOOKEEPER_HOME, or ZK_SERVERS=host:port")

// debianJars is where Debian's zookeeper package puts its jars. zookeeper.jar
// names its runtime dependencies in its manifest's Class-Path, but not an
// slf4j binding, so without the last two the server would log nothing.
var debianJars = []string{
	"/usr/share/java/zookeeper.jar",
	"/usr/share/java/slf4j-log4j12.jar",
	"/usr/share/java/log4j-1.2.jar",
}

// runtimeEnv is what it takes to launch a server.
type runtimeEnv struct {
	java      string
	classpath string
}

func findRuntime() (*runtimeEnv, error) {
	java, err := findJava()
	if err != nil {
		return nil, err
	}
	cp, err := findClasspath()
	if err != nil {
		return nil, err
	}
	return &runtimeEnv{java: java, classpath: cp}, nil
}

func findJava() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("%w (no java on PATH or in JAVA_HOME)", ErrNoZooKeeper)
	}
	return p, nil
}

func findClasspath() (string, error) {
	if home := os.Getenv("ZOOKEEPER_HOME"); home != "" {
		// An Apache binary release keeps zookeeper-*.jar and its
		// dependencies (logback included) in lib/; older layouts also
		// had jars at the top level.
		var jars []string
		for _, dir := range []string{home, filepath.Join(home, "lib")} {
			m, _ := filepath.Glob(filepath.Join(dir, "*.jar"))
			jars = append(jars, m...)
		}
		sort.Strings(jars)
		if !hasZooKeeperJar(jars) {
			return "", fmt.Errorf("%w (ZOOKEEPER_HOME=%s has no zookeeper jar in it or its lib/)", ErrNoZooKeeper, home)
		}
		return strings.Join(jars, string(os.PathListSeparator)), nil
	}
	if _, err := os.Stat(debianJars[0]); err != nil {
		return "", ErrNoZooKeeper
	}
	var jars []string
	for _, j := range debianJars {
		if _, err := os.Stat(j); err == nil {
			jars = append(jars, j)
		}
	}
	return strings.Join(jars, string(os.PathListSeparator)), nil
}

func hasZooKeeperJar(jars []string) bool {
	for _, j := range jars {
		b := filepath.Base(j)
		if strings.HasPrefix(b, "zookeeper-3") || b == "zookeeper.jar" {
			return true
		}
	}
	return false
}
