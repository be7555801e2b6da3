package zktest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// flwTimeout bounds one four-letter-word exchange; a server that takes longer
// to answer srvr is as good as not serving.
const flwTimeout = 2 * time.Second

// FourLetter sends a four-letter word (srvr, ruok, mntr, wchc, ...) to
// server i directly, bypassing any Link, and returns its whole answer.
func (c *Cluster) FourLetter(i int, cmd string) (string, error) {
	if i < 0 || i >= len(c.addrs) {
		return "", fmt.Errorf("zktest: no server %d in a %d-server ensemble", i, len(c.addrs))
	}
	return fourLetter(c.addrs[i], cmd)
}

func fourLetter(addr, cmd string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, flwTimeout)
	if err != nil {
		return "", fmt.Errorf("zktest: %s to %s: %w", cmd, addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(flwTimeout))
	if _, err := io.WriteString(conn, cmd); err != nil {
		return "", fmt.Errorf("zktest: %s to %s: %w", cmd, addr, err)
	}
	// The server closes the connection after answering, so EOF ends it.
	out, err := io.ReadAll(conn)
	if err != nil {
		return "", fmt.Errorf("zktest: %s to %s: %w", cmd, addr, err)
	}
	return string(out), nil
}

// parseMode returns the Mode line of a srvr answer ("leader", "follower",
// "standalone", ...), or "" when the server is not serving requests yet.
func parseMode(srvr string) string {
	for line := range strings.Lines(srvr) {
		if m, ok := strings.CutPrefix(line, "Mode:"); ok {
			return strings.TrimSpace(m)
		}
	}
	return ""
}

// parseEpoch returns the epoch of the Zxid line of a srvr answer (its high
// 32 bits), or -1 when there is none.
func parseEpoch(srvr string) int64 {
	for line := range strings.Lines(srvr) {
		if z, ok := strings.CutPrefix(line, "Zxid:"); ok {
			z = strings.TrimPrefix(strings.TrimSpace(z), "0x")
			if v, err := strconv.ParseUint(z, 16, 64); err == nil {
				return int64(v >> 32)
			}
		}
	}
	return -1
}

// parseWchc reads wchc output: each session id in hex on its own line,
// followed by the paths it watches, each indented with a tab.
func parseWchc(out string) (map[int64][]string, error) {
	w := make(map[int64][]string)
	var (
		cur  int64
		have bool
	)
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "\t"):
			if !have {
				return nil, fmt.Errorf("zktest: wchc: path %q before any session id", strings.TrimSpace(line))
			}
			w[cur] = append(w[cur], strings.TrimSpace(line))
		case strings.HasPrefix(line, "0x"):
			id, err := strconv.ParseUint(strings.TrimSpace(line[2:]), 16, 64)
			if err != nil {
				return nil, fmt.Errorf("zktest: wchc: session id %q: %w", line, err)
			}
			cur, have = int64(id), true
			if _, ok := w[cur]; !ok {
				w[cur] = nil
			}
		default:
			// e.g. "wchc is not executed because it is not in the whitelist."
			return nil, fmt.Errorf("zktest: wchc: unexpected answer: %q", strings.TrimSpace(line))
		}
	}
	return w, sc.Err()
}

// Watches returns, across all running servers, the paths each session
// watches, as reported by wchc. Sessions without watches may be absent.
func (c *Cluster) Watches() (map[int64][]string, error) {
	all := make(map[int64][]string)
	var errs []error
	for i, addr := range c.addrs {
		if !c.live(i) {
			continue
		}
		out, err := fourLetter(addr, "wchc")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w, err := parseWchc(out)
		if err != nil {
			errs = append(errs, fmt.Errorf("server %d: %w", i, err))
			continue
		}
		for id, paths := range w {
			all[id] = append(all[id], paths...)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return all, err
	}
	return all, nil
}
