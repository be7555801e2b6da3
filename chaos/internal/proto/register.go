package proto

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// The register speaks lines over TCP, one request and one answer at a time
// per connection:
//
//	W <id> <client> <key> <token> <value>   ->  OK | REJ <highest>
//	R <id> <client> <key>                   ->  V <token> <value>
//
// Values and ids contain no spaces; the empty value travels as "-".

// EncodeValue and DecodeValue carry the empty value.
func EncodeValue(v string) string {
	if v == "" {
		return "-"
	}
	return v
}

func DecodeValue(v string) string {
	if v == "-" {
		return ""
	}
	return v
}

// Request is a parsed request line.
type Request struct {
	Kind   string // "w" or "r"
	ID     string
	Client int
	Key    string
	Token  int64
	Value  string
}

// ParseRequest parses one request line (without its newline).
func ParseRequest(line string) (Request, error) {
	f := strings.Fields(line)
	switch {
	case len(f) == 6 && f[0] == "W":
		c, err1 := strconv.Atoi(f[2])
		tok, err2 := strconv.ParseInt(f[4], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return Request{}, err
		}
		return Request{Kind: "w", ID: f[1], Client: c, Key: f[3], Token: tok, Value: DecodeValue(f[5])}, nil
	case len(f) == 4 && f[0] == "R":
		c, err := strconv.Atoi(f[2])
		if err != nil {
			return Request{}, err
		}
		return Request{Kind: "r", ID: f[1], Client: c, Key: f[3]}, nil
	}
	return Request{}, fmt.Errorf("bad request %q", line)
}

// ErrNotSent marks a request that never left the client: it had no effect.
var ErrNotSent = errors.New("request not sent")

// RegClient is one connection to a register, reopened after a failure.
// Not safe for concurrent use.
type RegClient struct {
	Addr    string
	Timeout time.Duration // per request, dial included

	conn net.Conn
	r    *bufio.Reader
}

// Close drops the connection.
func (c *RegClient) Close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn, c.r = nil, nil
	}
}

// Reply is a parsed answer.
type Reply struct {
	Accepted bool
	High     int64 // REJ
	Token    int64 // V
	Value    string
}

// Do sends one request and reads its answer. ErrNotSent means nothing was
// written: the request cannot have taken effect. Any other error leaves the
// outcome unknown (the connection is dropped, so no stale answer is ever
// read for a later request). call is stamped just before the write.
func (c *RegClient) Do(req Request) (rep Reply, call int64, err error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.Addr, c.Timeout)
		if err != nil {
			return Reply{}, Now(), fmt.Errorf("%w: %w", ErrNotSent, err)
		}
		c.conn, c.r = conn, bufio.NewReader(conn)
	}
	var line string
	if req.Kind == "w" {
		line = fmt.Sprintf("W %s %d %s %d %s\n", req.ID, req.Client, req.Key, req.Token, EncodeValue(req.Value))
	} else {
		line = fmt.Sprintf("R %s %d %s\n", req.ID, req.Client, req.Key)
	}
	_ = c.conn.SetDeadline(time.Now().Add(c.Timeout))
	call = Now()
	if _, err := c.conn.Write([]byte(line)); err != nil {
		c.Close()
		return Reply{}, call, err
	}
	ans, err := c.r.ReadString('\n')
	if err != nil {
		c.Close()
		return Reply{}, call, err
	}
	f := strings.Fields(ans)
	switch {
	case len(f) == 1 && f[0] == "OK":
		return Reply{Accepted: true}, call, nil
	case len(f) == 2 && f[0] == "REJ":
		h, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			c.Close()
			return Reply{}, call, err
		}
		return Reply{High: h}, call, nil
	case len(f) == 3 && f[0] == "V":
		tok, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			c.Close()
			return Reply{}, call, err
		}
		return Reply{Accepted: true, Token: tok, Value: DecodeValue(f[2])}, call, nil
	}
	c.Close()
	return Reply{}, call, fmt.Errorf("bad answer %q", ans)
}
