package fence

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Header carries a fencing token over HTTP: the decimal token of the lease
// the request is made under, e.g. "Zkcoord-Fencing-Token: 4294967302". A
// server that sees it must refuse the request if it has seen a higher token
// for the same resource, and may accept an equal one (readers of an rwlock
// share theirs). HighestHeader, on a 409 answer, is the token it had seen.
const (
	Header        = "Zkcoord-Fencing-Token"
	HighestHeader = "Zkcoord-Fencing-Highest"
)

// Transport is an http.RoundTripper that sends Token in Header on every
// request, for a client acting under one lease:
//
//	client := &http.Client{Transport: &fence.Transport{Token: lease.Token()}}
//
// A request that already carries the header keeps it. A Token ≤ 0 fails
// every request with ErrInvalidToken, before anything is sent.
type Transport struct {
	Base  http.RoundTripper // nil: http.DefaultTransport
	Token int64
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get(Header) == "" {
		if t.Token <= 0 {
			if req.Body != nil {
				_ = req.Body.Close() // a RoundTripper closes the body, even on error
			}
			return nil, fmt.Errorf("%w: Transport.Token %d (tokens are ZooKeeper zxids, > 0)", ErrInvalidToken, t.Token)
		}
		req = req.Clone(req.Context()) // a RoundTripper must not modify the request
		req.Header.Set(Header, strconv.FormatInt(t.Token, 10))
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// A Checker raises a resource's highest token or refuses a stale one:
// *SQL and *Memory are Checkers.
type Checker interface {
	Check(ctx context.Context, resource string, token int64) error
}

// Middleware checks every request's Header against c before next sees it.
// resource names what the request writes to (nil: its URL path). It
// answers 400 Bad Request when the header is missing or not a token > 0,
// 409 Conflict with HighestHeader when the token is stale, and 503 Service
// Unavailable when the check itself fails; in each case with a one-line
// plain-text body saying why, and next is not called.
//
// The check is an admission check, not the write: a holder overtaken after
// it is admitted could still write. Make the write itself fenced, in the
// same transaction, with the token TokenFrom gives next (SQL.Do,
// Memory.Do, Row.Update); the middleware turns most stale writers away
// early and gives every client the same answer.
func Middleware(c Checker, resource func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Path
		if resource != nil {
			name = resource(r)
		}
		raw := r.Header.Get(Header)
		if raw == "" {
			http.Error(w, "missing "+Header+" header: send the fencing token of the lease this request is made under", http.StatusBadRequest)
			return
		}
		token, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || token <= 0 {
			http.Error(w, fmt.Sprintf("malformed %s header %q: want a decimal token > 0", Header, raw), http.StatusBadRequest)
			return
		}
		err = c.Check(r.Context(), name, token)
		var stale *StaleError
		switch {
		case errors.As(err, &stale):
			w.Header().Set(HighestHeader, strconv.FormatInt(stale.Highest, 10))
			http.Error(w, fmt.Sprintf("stale fencing token %d for %s: a holder with token %d has written since; this holder lost its lock", token, name, stale.Highest), http.StatusConflict)
			return
		case errors.Is(err, ErrInvalidArgument) || errors.Is(err, ErrInvalidToken):
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		case err != nil:
			http.Error(w, "checking the fencing token: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, token)))
	})
}

type tokenKey struct{}

// TokenFrom is the token Middleware admitted the request with.
func TokenFrom(ctx context.Context) (int64, bool) {
	t, ok := ctx.Value(tokenKey{}).(int64)
	return t, ok
}

// ResponseError is the *StaleError a 409 answer from Middleware stands
// for (its Resource the request's URL path), or nil for any other answer.
func ResponseError(resp *http.Response) error {
	if resp == nil || resp.StatusCode != http.StatusConflict {
		return nil
	}
	highest, err := strconv.ParseInt(resp.Header.Get(HighestHeader), 10, 64)
	if err != nil {
		return nil
	}
	stale := &StaleError{Highest: highest}
	if req := resp.Request; req != nil {
		stale.Token, _ = strconv.ParseInt(req.Header.Get(Header), 10, 64)
		stale.Resource = req.URL.Path
	}
	return stale
}

// CloseIdleConnections closes Base's idle connections, for
// http.Client.CloseIdleConnections.
func (t *Transport) CloseIdleConnections() {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if c, ok := base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
