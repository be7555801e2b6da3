package zktest

import (
	"errors"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/zkcoord/zkcoord/internal/proc"
)

// server is one local ZooKeeper JVM and the directory it lives in. The
// directory and ports outlive the process, so Restart brings back the same
// member with the same data.
type server struct {
	id                                   int // myid, 1-based
	dir                                  string
	clientPort, quorumPort, electionPort int
	env                                  *runtimeEnv
	ctr                                  *dockerServer // the server's container, with the Docker provider (container.go)

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited and been reaped
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.clientPort) }

func (s *server) cfgPath() string { return filepath.Join(s.dir, "zoo.cfg") }
func (s *server) logPath() string { return filepath.Join(s.dir, "zookeeper.log") }
func (s *server) outPath() string { return filepath.Join(s.dir, "stdout.log") }

// writeConfig lays out the server's directory: data dir with myid, zoo.cfg
// (peers[i] is the address of all[i]: quorum and election ports), and
// logging configs for both log4j (Debian) and logback (Apache 3.8
// releases), since which binding is on the classpath depends on the install.
func (s *server) writeConfig(all []*server, peers []string, opts Options) error {
	data := filepath.Join(s.dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return fmt.Errorf("zktest: %w", err)
	}
	var b strings.Builder
	b.WriteString(zooCfgTimings(opts))
	fmt.Fprintf(&b, "dataDir=%s\n", filepath.ToSlash(data))
	fmt.Fprintf(&b, "clientPort=%d\n", s.clientPort)
	b.WriteString("clientPortAddress=127.0.0.1\n")
	b.WriteString("4lw.commands.whitelist=*\n")
	b.WriteString("admin.enableServer=false\n")
	// Also what lets each server's static config list its peers at
	// addresses of its own (peers.go).
	b.WriteString("reconfigEnabled=false\n")
	// Test data is disposable: skipping fsync and the 64 MB log
	// preallocation makes writes and startup cheap.
	b.WriteString("forceSync=no\n")
	b.WriteString("preAllocSize=1024\n")
	if len(all) > 1 {
		b.WriteString("standaloneEnabled=false\n")
		for i, o := range all {
			fmt.Fprintf(&b, "server.%d=%s\n", o.id, peers[i])
		}
		if err := os.WriteFile(filepath.Join(data, "myid"), []byte(strconv.Itoa(s.id)+"\n"), 0o644); err != nil {
			return fmt.Errorf("zktest: %w", err)
		}
	}
	if err := os.WriteFile(s.cfgPath(), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("zktest: %w", err)
	}

	pattern := fmt.Sprintf("%%d{ISO8601} %%-5p [myid:%d] [%%t:%%C{1}@%%L] - %%m%%n", s.id)
	log4j := "log4j.rootLogger=INFO, FILE\n" +
		"log4j.appender.FILE=org.apache.log4j.FileAppender\n" +
		"log4j.appender.FILE.File=" + filepath.ToSlash(s.logPath()) + "\n" +
		"log4j.appender.FILE.Append=true\n" +
		"log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n" +
		"log4j.appender.FILE.layout.ConversionPattern=" + pattern + "\n"
	logback := `<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>` + html.EscapeString(s.logPath()) + `</file>
    <append>true</append>
    <encoder><pattern>` + html.EscapeString(pattern) + `</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
`
	if err := os.WriteFile(filepath.Join(s.dir, "log4j.properties"), []byte(log4j), 0o644); err != nil {
		return fmt.Errorf("zktest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "logback.xml"), []byte(logback), 0o644); err != nil {
		return fmt.Errorf("zktest: %w", err)
	}
	return nil
}

func (s *server) args() []string {
	return []string{
		"-cp", s.env.classpath,
		"-Xmx256m", "-XX:+UseSerialGC",
		// C1 only and class-data sharing: a JVM that starts in well under a
		// second on two cores matters more than peak speed.
		"-XX:TieredStopAtLevel=1", "-Xshare:auto",
		"-XX:-UsePerfData", // no hsperfdata files left in /tmp
		"-Djava.net.preferIPv4Stack=true",
		"-Dlog4j.configuration=file:" + filepath.ToSlash(filepath.Join(s.dir, "log4j.properties")),
		"-Dlogback.configurationFile=" + filepath.Join(s.dir, "logback.xml"),
		"-Dzookeeper.jmx.log4j.disable=true",
		// Empty container nodes are reaped once a minute by default; tests
		// (and CheckClean) want that within a few ticks.
		"-Dznode.container.checkIntervalMs=100",
		// TTL nodes are off by default; allow recipes to be tested with them.
		"-Dzookeeper.extendedTypesEnabled=true",
		"org.apache.zookeeper.server.quorum.QuorumPeerMain",
		s.cfgPath(),
	}
}

// start launches the JVM unless it is running. stopped is checked under the
// server's lock so a Restart racing with Stop cannot leave a process behind.
func (s *server) start(stopped func() bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stopped() {
		return errors.New("zktest: cluster is stopped")
	}
	if s.runningLocked() {
		return nil
	}
	if s.ctr != nil {
		return s.ctr.startLocked(s)
	}
	out, err := os.OpenFile(s.outPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("zktest: %w", err)
	}
	// The child gets its own copy of the descriptor; closing ours after
	// Start means no copying goroutine and nothing to leak.
	defer out.Close()
	cmd := exec.Command(s.env.java, s.args()...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = procAttr()
	done := make(chan struct{})
	if err := proc.Start(cmd, func() {
		_ = cmd.Wait()
		close(done)
	}); err != nil {
		return fmt.Errorf("zktest: starting server %d: %w", s.id, err)
	}
	s.cmd, s.done = cmd, done
	return nil
}

// kill sends SIGKILL to the JVM's process group and waits until it is gone,
// so its ports are closed when kill returns.
func (s *server) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctr != nil {
		s.ctr.killLocked(s)
		return
	}
	if s.cmd == nil {
		return
	}
	select {
	case <-s.done:
		// Reaped, and a JVM forks nothing, so its group is empty: the
		// kernel may have given its id to another process group by now
		// (pids wrap at 32768 on many machines), which a kill would hit.
	default:
		killProcess(s.cmd)
	}
	<-s.done
	s.cmd, s.done = nil, nil
}

func (s *server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runningLocked()
}

func (s *server) runningLocked() bool {
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// logTail returns up to limit bytes from the end of the server's JVM output
// and log, for failure reports, without the lines zktest's own four-letter
// polling adds every 50ms, which would otherwise fill the tail.
func (s *server) logTail(limit int64) string {
	if s.ctr != nil {
		return s.ctr.logTail(s.id, limit)
	}
	var b strings.Builder
	for _, p := range []string{s.outPath(), s.logPath()} {
		data, err := readTail(p, 8*limit)
		if err != nil || len(data) == 0 {
			continue
		}
		var kept []string
		for line := range strings.Lines(string(data)) {
			if !strings.Contains(line, "] - Processing ") || !strings.Contains(line, " command from ") {
				kept = append(kept, line)
			}
		}
		text := strings.Join(kept, "")
		if int64(len(text)) > limit {
			text = text[int64(len(text))-limit:]
			if i := strings.IndexByte(text, '\n'); i >= 0 {
				text = text[i+1:] // start at a line boundary
			}
		}
		fmt.Fprintf(&b, "==> server %d %s <==\n%s\n", s.id, filepath.Base(p), text)
	}
	return b.String()
}

func readTail(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-limit, 0)
	buf := make([]byte, st.Size()-off)
	_, err = f.ReadAt(buf, off)
	return buf, err
}

// bindFailed says whether the server died because a port was taken between
// picking it and the JVM binding it.
func (s *server) bindFailed() bool {
	for _, p := range []string{s.outPath(), s.logPath()} {
		data, _ := os.ReadFile(p)
		if strings.Contains(string(data), "Address already in use") {
			return true
		}
	}
	return false
}
