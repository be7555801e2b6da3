package fence_test

import (
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/zkcoord/zkcoord/fence"
	"github.com/zkcoord/zkcoord/fence/fencetest"
)

// Over HTTP: the client's Transport sends the token, the Middleware turns
// away what is missing, malformed or stale, and the handler's own write is
// fenced in the database with the token it was admitted with.
func TestHTTP(t *testing.T) {
	fencetest.Dialects(t, func(t *testing.T, db *sql.DB, d fence.Dialect) {
		f := newLedger(t, db, d)
		handler := fence.Middleware(f, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, ok := fence.TokenFrom(r.Context())
			if !ok {
				http.Error(w, "no token in the context", http.StatusInternalServerError)
				return
			}
			body, _ := io.ReadAll(r.Body)
			err := write(r.Context(), f, r.URL.Path, string(body), token)
			switch {
			case errors.Is(err, fence.ErrStale):
				http.Error(w, err.Error(), http.StatusConflict)
			case err != nil:
				http.Error(w, err.Error(), http.StatusInternalServerError)
			default:
				w.WriteHeader(http.StatusNoContent)
			}
		}))
		srv := httptest.NewServer(handler)
		defer srv.Close()
		defer srv.Client().CloseIdleConnections()

		post := func(token int64, body string) *http.Response {
			t.Helper()
			c := &http.Client{Transport: &fence.Transport{Base: srv.Client().Transport, Token: token}}
			resp, err := c.Post(srv.URL+"/orders", "text/plain", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = resp.Body.Close() })
			return resp
		}
		if resp := post(10, "A"); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("A, token 10: %s", resp.Status)
		}
		if resp := post(11, "B"); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("B, token 11: %s", resp.Status)
		}
		resp := post(10, "A late")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusConflict || resp.Header.Get(fence.HighestHeader) != "11" ||
			!strings.Contains(string(body), "stale fencing token 10 for /orders") {
			t.Errorf("A's late request: %s %q %s=%q", resp.Status, body, fence.HighestHeader, resp.Header.Get(fence.HighestHeader))
		}
		var stale *fence.StaleError
		if err := fence.ResponseError(resp); !errors.As(err, &stale) || *stale != (fence.StaleError{Resource: "/orders", Token: 10, Highest: 11}) {
			t.Errorf("ResponseError: %v", err)
		}
		if got, want := ledgerRows(t, db), []entry{{"A", 10}, {"B", 11}}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("ledger %v, want %v", got, want)
		}

		for _, header := range []string{"", "abc", "0", "-5", "1.5", strconv.Quote("12")} {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader("bad"))
			if header != "" {
				req.Header.Set(fence.Header, header)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), fence.Header) {
				t.Errorf("header %q: %s %q, want 400 naming the header", header, resp.Status, body)
			}
			if fence.ResponseError(resp) != nil {
				t.Errorf("ResponseError of a 400")
			}
		}

		// A Transport without a token sends nothing.
		c := &http.Client{Transport: &fence.Transport{Base: srv.Client().Transport}}
		if _, err := c.Get(srv.URL + "/orders"); !errors.Is(err, fence.ErrInvalidToken) {
			t.Errorf("a Transport with token 0: %v, want ErrInvalidToken", err)
		}
		if rows := ledgerRows(t, db); len(rows) != 2 {
			t.Errorf("bad requests wrote: %v", rows)
		}

		// A fence that cannot check answers 503.
		_ = db.Close()
		if resp := post(12, "C"); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("with the database closed: %s, want 503", resp.Status)
		}
	})
}

// Memory fences state kept in one process, and the resource may be any
// part of the request.
func TestMemoryMiddleware(t *testing.T) {
	var m fence.Memory
	var writes []string
	h := fence.Middleware(&m, func(r *http.Request) string { return r.URL.Query().Get("account") },
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, _ := fence.TokenFrom(r.Context())
			err := m.Do(r.URL.Query().Get("account"), token, func() error {
				writes = append(writes, r.URL.RawQuery+"@"+strconv.FormatInt(token, 10))
				return nil
			})
			if err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
			}
		}))
	do := func(token int64, query string) int {
		req := httptest.NewRequest(http.MethodPut, "/pay?"+query, nil)
		req.Header.Set(fence.Header, strconv.FormatInt(token, 10))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, c := range []struct {
		token int64
		query string
		want  int
	}{
		{5, "account=a", 200}, {7, "account=b", 200}, {4, "account=a", 409},
		{5, "account=a", 200}, {6, "account=b", 409}, {7, "account=b", 200}, {3, "account=", 400},
	} {
		if got := do(c.token, c.query); got != c.want {
			t.Errorf("token %d, %s: %d, want %d", c.token, c.query, got, c.want)
		}
	}
	if want := "account=a@5 account=b@7 account=a@5 account=b@7"; strings.Join(writes, " ") != want {
		t.Errorf("writes %q, want %q", writes, want)
	}
	if h, err := m.Highest("a"); h != 5 || err != nil {
		t.Errorf("Highest(a) = %d, %v", h, err)
	}
	if _, err := m.Highest("c"); !errors.Is(err, fence.ErrUnknownResource) {
		t.Errorf("Highest of an unknown resource: %v", err)
	}
	if err := m.Do("a", 0, nil); !errors.Is(err, fence.ErrInvalidToken) {
		t.Errorf("Memory token 0: %v", err)
	}
	boom := errors.New("boom")
	if err := m.Do("a", 9, func() error { return boom }); err != boom {
		t.Errorf("a failed fn: %v", err)
	}
	if h, _ := m.Highest("a"); h != 5 {
		t.Errorf("a failed fn raised the token to %d", h)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The Transport adds the header to a copy of the request, keeps one the
// caller set, and closes the body of a request it refuses.
func TestTransport(t *testing.T) {
	var sent []string
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r.Header.Get(fence.Header))
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
	})
	tr := &fence.Transport{Base: base, Token: 4294967302}
	req := httptest.NewRequest(http.MethodGet, "http://example.invalid/x", nil)
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if req.Header.Get(fence.Header) != "" {
		t.Error("the caller's request was modified")
	}
	req.Header.Set(fence.Header, "77")
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if want := "4294967302 77"; strings.Join(sent, " ") != want {
		t.Errorf("sent %q, want %q", sent, want)
	}

	body := &closeCounter{Reader: strings.NewReader("x")}
	req = httptest.NewRequest(http.MethodPost, "http://example.invalid/x", body)
	if _, err := (&fence.Transport{Base: base, Token: -1}).RoundTrip(req); !errors.Is(err, fence.ErrInvalidToken) {
		t.Errorf("token -1: %v", err)
	}
	if body.closed != 1 || len(sent) != 2 {
		t.Errorf("a refused request: body closed %d times, %d requests sent", body.closed, len(sent))
	}
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }
