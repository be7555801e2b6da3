// Command chaos-register is the resource the chaos suite's lock holders
// write to: one register per key, on 127.0.0.1, over a line protocol (see
// chaos/internal/proto), kept in a database: SQLite in the file -db names,
// or PostgreSQL when POSTGRES_URL is set. Fenced, it writes through
// zkcoord/fence, which accepts a write only if its token is at least the
// highest accepted for that key, in the write's transaction; with
// -fenced=false it writes the same rows without the fence and accepts
// every write, which is what the checker must catch.
//
// Every request is logged, as one JSON line, before it is answered:
// client, token, value, outcome and the time it was received on the shared
// clock (CLOCK_MONOTONIC), taken under the register's lock so that the log
// is in the order requests took effect. It prints "ADDR host:port" on
// stdout once listening and exits on SIGTERM or SIGINT.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/zkcoord/zkcoord/chaos/internal/proto"
)

type register struct {
	store *store

	// mu orders requests, one at a time, so that the log is in the order
	// the database applied them.
	mu  sync.Mutex
	log *os.File
	enc *json.Encoder
	seq int64
	err error // first log write error: fatal
}

func (r *register) handle(req proto.Request) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	rec := proto.Record{
		Seq: r.seq, ID: req.ID, Client: req.Client, Key: req.Key, Kind: req.Kind,
		Token: req.Token, Value: req.Value, RecvT: proto.Now(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ans string
	var err error
	switch req.Kind {
	case "w":
		rec.Accepted, rec.High, err = r.store.write(ctx, req.Key, req.Token, req.Value)
		if rec.Accepted {
			ans = "OK"
		} else {
			ans = fmt.Sprintf("REJ %d", rec.High)
		}
	case "r":
		rec.ReadTok, rec.ReadVal, rec.High, err = r.store.read(ctx, req.Key)
		ans = fmt.Sprintf("V %d %s", rec.ReadTok, proto.EncodeValue(rec.ReadVal))
	}
	if err != nil {
		// The register is the run's ground truth: a database that fails
		// ends the run rather than leave a request's effect unknown.
		fmt.Fprintf(os.Stderr, "chaos-register: %s %s: %v\n", req.Kind, req.ID, err)
		os.Exit(2)
	}
	// Logged before the answer leaves: an answered request is always in
	// the log.
	if err := r.enc.Encode(rec); err != nil && r.err == nil {
		r.err = err
		fmt.Fprintln(os.Stderr, "chaos-register: writing the log:", err)
		os.Exit(2)
	}
	return ans
}

func (r *register) serve(c net.Conn) {
	defer c.Close()
	in := bufio.NewScanner(c)
	for in.Scan() {
		req, err := proto.ParseRequest(in.Text())
		if err != nil {
			fmt.Fprintf(c, "ERR %v\n", err)
			return
		}
		if _, err := fmt.Fprintln(c, r.handle(req)); err != nil {
			return
		}
	}
}

func main() {
	fenced := flag.Bool("fenced", true, "refuse writes whose token is below the highest accepted")
	logPath := flag.String("log", "", "where to write the record of every request (required)")
	dbPath := flag.String("db", "", "the SQLite file to keep the registers in (required unless POSTGRES_URL is set)")
	name := flag.String("name", "", "the register's name, for its table and fence resources (default: fenced or unfenced)")
	flag.Parse()
	if *logPath == "" || (*dbPath == "" && os.Getenv("POSTGRES_URL") == "") {
		fmt.Fprintln(os.Stderr, "chaos-register: -log, and -db or POSTGRES_URL, are required")
		os.Exit(2)
	}
	if *name == "" {
		*name = map[bool]string{true: "fenced", false: "unfenced"}[*fenced]
	}
	st, err := openStore(context.Background(), *name, *dbPath, *fenced)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos-register:", err)
		os.Exit(2)
	}
	f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos-register:", err)
		os.Exit(2)
	}
	r := &register{store: st, log: f, enc: json.NewEncoder(f)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos-register:", err)
		os.Exit(2)
	}
	fmt.Printf("ADDR %s\n", ln.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		_ = ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				fmt.Fprintln(os.Stderr, "chaos-register:", err)
			}
			break
		}
		go r.serve(c)
	}
	// Connections may still be mid-request: take the lock so no record is
	// half written, then sync what the log holds.
	r.mu.Lock()
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if cerr := st.close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos-register:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
