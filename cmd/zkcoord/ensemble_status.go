package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

// defaultEnsembleDir is the default of `zkcoord ensemble --dir`.
const defaultEnsembleDir = ".ensemble"

// ensembleStateFile, in the ensemble's directory, is what `zkcoord
// ensemble up` records for the other commands to find the local ensemble:
//
//	{"servers": ["127.0.0.1:2181", "127.0.0.1:2182", "127.0.0.1:2183"]}
//
// `ensemble down` removes it with the rest of the directory.
const ensembleStateFile = "ensemble.json"

// ensembleState is the content of ensembleStateFile. Fields may be added;
// readers ignore what they do not know.
type ensembleState struct {
	Servers []string `json:"servers"`
}

var errNoEnsembleState = errors.New("no local ensemble recorded")

func loadEnsembleState(dir string) (*ensembleState, error) {
	file := filepath.Join(dir, ensembleStateFile)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoEnsembleState
	}
	if err != nil {
		return nil, fmt.Errorf("reading the local ensemble's state: %w", err)
	}
	var st ensembleState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): remove it with `zkcoord ensemble down`", file, err)
	}
	list, err := parseServers(strings.Join(st.Servers, ","))
	if err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): remove it with `zkcoord ensemble down`", file, err)
	}
	st.Servers = list
	return &st, nil
}

func (a *app) ensembleStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Which servers of the ensemble serve, in which role",
		Long: `Ask each server of the ensemble (--servers, else $ZK_SERVERS, else the one
'zkcoord ensemble up' recorded in --dir) whether it serves, and as what
(leader, follower, standalone), with its last zxid and client connections.
It uses ZooKeeper's srvr four-letter word, allowed by default.

Exit code 0 when a majority of the servers serve, 1 otherwise.

--json prints {"source", "servers": [{"address", "reachable", "serving",
"mode", "zxid", "connections", "version", "error"}], "serving", "quorum"}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := a.ensembleDir()
			if f := cmd.Flags().Lookup("dir"); f != nil && f.Changed {
				dir = f.Value.String()
			}
			t, err := a.resolveServers(dir)
			if err != nil {
				return err
			}
			r := probeEnsemble(cmd.Context(), t, a.timeout)
			if a.json {
				a.printJSON(r)
			} else {
				r.print(a.stdout)
			}
			if !r.Quorum {
				return failure(kindConnection, "only %d of %d servers serve, not a majority: start the ensemble with `zkcoord ensemble up`, or check ZK_SERVERS", r.Serving, len(r.Servers))
			}
			return nil
		},
	}
}

// ensembleReport is what `zkcoord ensemble status` prints; its JSON field
// names are stable.
type ensembleReport struct {
	Source  string         `json:"source"`
	Servers []serverStatus `json:"servers"`
	Serving int            `json:"serving"`
	Quorum  bool           `json:"quorum"` // a majority of the servers serve
}

type serverStatus struct {
	Address     string `json:"address"`
	Reachable   bool   `json:"reachable"`
	Serving     bool   `json:"serving"`
	Mode        string `json:"mode"` // leader, follower, observer, standalone, or ""
	Zxid        string `json:"zxid"` // as the server says it, "0x..."
	Connections int    `json:"connections"`
	Version     string `json:"version"`
	Error       string `json:"error"`
}

func probeEnsemble(ctx context.Context, t target, timeout time.Duration) *ensembleReport {
	r := &ensembleReport{Source: t.source, Servers: make([]serverStatus, len(t.servers))}
	var wg sync.WaitGroup
	for i, addr := range t.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Servers[i] = probeServer(ctx, addr, timeout)
		}()
	}
	wg.Wait()
	for _, s := range r.Servers {
		if s.Serving {
			r.Serving++
		}
	}
	r.Quorum = r.Serving > len(r.Servers)/2
	return r
}

// probeServer asks one server "srvr".
func probeServer(ctx context.Context, addr string, timeout time.Duration) serverStatus {
	s := serverStatus{Address: addr}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		s.Error = dialReason(addr, err, timeout, false)
		return s
	}
	defer conn.Close()
	s.Reachable = true
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := io.WriteString(conn, "srvr"); err != nil {
		s.Error = err.Error()
		return s
	}
	out, err := io.ReadAll(io.LimitReader(conn, 64<<10)) // the server closes after answering
	if err != nil && len(out) == 0 {
		s.Error = "no answer to srvr: " + err.Error()
		return s
	}
	text := string(out)
	switch {
	case strings.Contains(text, "not in the whitelist"), strings.Contains(text, "not executed"):
		s.Error = "srvr is not allowed by the server's 4lw.commands.whitelist"
		return s
	case strings.Contains(text, "not currently serving"):
		s.Error = "not serving requests (no quorum?)"
		return s
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch key {
		case "Zookeeper version":
			s.Version, _, _ = strings.Cut(value, "-")
			s.Version, _, _ = strings.Cut(s.Version, ",")
		case "Zxid":
			s.Zxid = value
		case "Connections":
			s.Connections, _ = strconv.Atoi(value)
		case "Mode":
			s.Mode = value
		}
	}
	s.Serving = s.Mode != ""
	if !s.Serving {
		s.Error = "unexpected answer to srvr: " + quoteData(out)
	}
	return s
}

func (r *ensembleReport) print(w io.Writer) {
	fmt.Fprintf(w, "ensemble from %s: %d of %d servers serving\n", r.Source, r.Serving, len(r.Servers))
	ss := r.Servers
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	table(w, len(ss),
		column{"SERVER", func(i int) string { return ss[i].Address }},
		column{"STATE", func(i int) string {
			switch {
			case ss[i].Serving:
				return "serving"
			case ss[i].Reachable:
				return "not serving"
			}
			return "down"
		}},
		column{"MODE", func(i int) string { return dash(ss[i].Mode) }},
		column{"ZXID", func(i int) string { return dash(ss[i].Zxid) }},
		column{"CONNECTIONS", func(i int) string {
			if !ss[i].Serving {
				return "-"
			}
			return strconv.Itoa(ss[i].Connections)
		}},
		column{"VERSION", func(i int) string { return dash(ss[i].Version) }},
		column{"ERROR", func(i int) string { return dash(ss[i].Error) }},
	)
}
