package interop_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// installHint is what a test that lacks a peer says, besides what it lacks.
const installHint = "run `make install-peers` (scripts/install-peers: Debian's libcurator-recipes-java, python3-kazoo and a JDK)"

// unavailable ends a test whose peer cannot run: a skip under -short, else
// a failure saying how to install it. CI runs without -short, so a missing
// peer fails it.
func unavailable(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("interop: %v; %s", err, installHint)
	if testing.Short() {
		t.Skip(msg)
	}
	t.Fatal(msg)
}

// javaTool finds java or javac as zktest finds java: JAVA_HOME, then PATH.
func javaTool(name string) (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("no %s on PATH or in JAVA_HOME", name)
	}
	return p, nil
}

// curatorJars are what the driver needs on its class path: Curator and the
// ZooKeeper client (required), and their dependencies, taken when present
// (Debian's jars also name them in their manifests). slf4j-simple makes
// Curator's and ZooKeeper's warnings reach the driver's stderr, which a
// failing test shows.
var (
	requiredJars = []string{"curator-recipes", "curator-framework", "curator-client", "zookeeper", "zookeeper-jute"}
	optionalJars = []string{
		"guava", "failureaccess", "slf4j-api", "slf4j-simple",
		"netty-buffer", "netty-codec", "netty-common", "netty-handler", "netty-resolver",
		"netty-transport", "netty-transport-native-epoll", "netty-transport-native-unix-common",
	}
)

// curatorClasspath builds the class path from ZKCOORD_CURATOR_JARS, a
// directory of jars, or Debian's /usr/share/java. A jar is "<name>.jar" or,
// as Maven names them, "<name>-<version>.jar".
func curatorClasspath() (string, error) {
	dir := os.Getenv("ZKCOORD_CURATOR_JARS")
	if dir == "" {
		dir = "/usr/share/java"
	}
	find := func(name string) string {
		if p := filepath.Join(dir, name+".jar"); fileExists(p) {
			return p
		}
		m, _ := filepath.Glob(filepath.Join(dir, name+"-[0-9]*.jar"))
		if len(m) > 0 {
			return m[len(m)-1]
		}
		return ""
	}
	var jars, missing []string
	for _, name := range requiredJars {
		if p := find(name); p != "" {
			jars = append(jars, p)
		} else {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("no %s jar in %s (ZKCOORD_CURATOR_JARS names another directory)", strings.Join(missing, ", "), dir)
	}
	for _, name := range optionalJars {
		if p := find(name); p != "" {
			jars = append(jars, p)
		}
	}
	return strings.Join(jars, string(os.PathListSeparator)), nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// curator is the compiled Java driver: how to run it.
type curator struct {
	java      string
	classpath string // the jars and the compiled driver
}

// compileCurator compiles testdata/java/CuratorDriver.java into a
// directory that lasts as long as t: the parent test of every Curator
// test, so it is compiled once per test binary.
func compileCurator(t *testing.T) *curator {
	t.Helper()
	java, err := javaTool("java")
	if err != nil {
		unavailable(t, err)
	}
	javac, err := javaTool("javac")
	if err != nil {
		unavailable(t, fmt.Errorf("%w (a JDK, not only a JRE)", err))
	}
	cp, err := curatorClasspath()
	if err != nil {
		unavailable(t, err)
	}
	out := t.TempDir()
	src, err := filepath.Glob(filepath.Join("testdata", "java", "*.java"))
	if err != nil || len(src) == 0 {
		t.Fatalf("no Java driver sources in testdata/java: %v", err)
	}
	// -nowarn -Xlint:-path: Debian's jars name in their manifests some jars
	// it does not install (jline), which is harmless.
	args := append([]string{"-nowarn", "-Xlint:-path", "-encoding", "UTF-8", "-d", out, "-cp", cp}, src...)
	if b, err := exec.Command(javac, args...).CombinedOutput(); err != nil {
		t.Fatalf("javac %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return &curator{java: java, classpath: cp + string(os.PathListSeparator) + out}
}

// start runs one Curator driver connected to servers.
func (cu *curator) start(t testing.TB, servers []string) *peer {
	t.Helper()
	cmd := exec.Command(cu.java,
		// Start fast: these JVMs live for seconds and do little.
		"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto",
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-Dorg.slf4j.simpleLogger.logFile=System.err",
		"-cp", cu.classpath, "CuratorDriver", strings.Join(servers, ","))
	return startProcess(t, "curator", cmd)
}

// kazoo is a Python that can import kazoo.
type kazoo struct{ python string }

// findKazoo finds the interpreter that has kazoo: ZKCOORD_KAZOO_PYTHON, or
// Debian's /usr/bin/python3 (python3-kazoo installs there; the python3 first
// on PATH may be a pyenv or venv build without it), or that python3.
func findKazoo(t testing.TB) *kazoo {
	t.Helper()
	var candidates []string
	if p := os.Getenv("ZKCOORD_KAZOO_PYTHON"); p != "" {
		candidates = []string{p}
	} else {
		candidates = []string{"/usr/bin/python3"}
		if p, err := exec.LookPath("python3"); err == nil && p != candidates[0] {
			candidates = append(candidates, p)
		}
	}
	var errs []error
	for _, py := range candidates {
		// Lock's extra_lock_patterns came in kazoo 2.7.1.
		check := "import inspect, kazoo.recipe.lock as l; assert 'extra_lock_patterns' in inspect.signature(l.Lock.__init__).parameters, 'kazoo older than 2.7.1'"
		b, err := exec.Command(py, "-c", check).CombinedOutput()
		if err == nil {
			return &kazoo{python: py}
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		errs = append(errs, fmt.Errorf("%s: %v: %s", py, err, lines[len(lines)-1]))
	}
	unavailable(t, fmt.Errorf("no Python with kazoo 2.7.1+ (ZKCOORD_KAZOO_PYTHON names one): %w", errors.Join(errs...)))
	return nil
}

// start runs one kazoo driver connected to servers.
func (k *kazoo) start(t testing.TB, servers []string) *peer {
	t.Helper()
	cmd := exec.Command(k.python, "-u", filepath.Join("testdata", "kazoo_driver.py"), strings.Join(servers, ","))
	return startProcess(t, "kazoo", cmd)
}
