// Command chaos-register is the resource the chaos suite's lock holders
// write to: one register per key, on 127.0.0.1, over a line protocol (see
// chaos/internal/proto). Fenced, it accepts a write only if its token is at
// least the highest it has accepted for that key; with -fenced=false it
// accepts every write, which is what the checker must catch.
//
// Every request is logged, as one JSON line, before it is answered:
// client, token, value, outcome and the time it was received on the shared
// clock (CLOCK_MONOTONIC), taken under the register's lock so that the log
// is in the order requests took effect. It prints "ADDR host:port" on
// stdout once listening and exits on SIGTERM or SIGINT.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/zkcoord/zkcoord/chaos/internal/proto"
)

type register struct {
	fenced bool

	mu    sync.Mutex
	log   *os.File
	enc   *json.Encoder
	seq   int64
	high  map[string]int64
	value map[string]string
	token map[string]int64 // token of the current value
	err   error            // first log write error: fatal
}

func (r *register) handle(req proto.Request) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	rec := proto.Record{
		Seq: r.seq, ID: req.ID, Client: req.Client, Key: req.Key, Kind: req.Kind,
		Token: req.Token, Value: req.Value, High: r.high[req.Key], RecvT: proto.Now(),
	}
	var ans string
	switch req.Kind {
	case "w":
		if !r.fenced || req.Token >= r.high[req.Key] {
			rec.Accepted = true
			r.high[req.Key] = max(r.high[req.Key], req.Token)
			r.value[req.Key], r.token[req.Key] = req.Value, req.Token
			ans = "OK"
		} else {
			ans = fmt.Sprintf("REJ %d", r.high[req.Key])
		}
	case "r":
		rec.ReadTok, rec.ReadVal = r.token[req.Key], r.value[req.Key]
		ans = fmt.Sprintf("V %d %s", rec.ReadTok, proto.EncodeValue(rec.ReadVal))
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
	flag.Parse()
	if *logPath == "" {
		fmt.Fprintln(os.Stderr, "chaos-register: -log is required")
		os.Exit(2)
	}
	f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos-register:", err)
		os.Exit(2)
	}
	r := &register{
		fenced: *fenced, log: f, enc: json.NewEncoder(f),
		high: map[string]int64{}, value: map[string]string{}, token: map[string]int64{},
	}
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
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos-register:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
