package tlstest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/mutex"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
	"github.com/zkcoord/zkcoord/zktest"
)

const (
	healthy = testutil.Healthy
	short   = testutil.Short
)

// connect starts a manager that dials servers over TLS with cfg.
func connect(t *testing.T, servers []string, cfg *tls.Config, timeout time.Duration) *session.Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{
		Servers: servers, SessionTimeout: timeout, Identity: t.Name(),
		Dialer: session.TLSDialer(cfg), Logger: testutil.Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// One TLS ensemble for every case: starting three JVMs is most of the time.
func TestTLS(t *testing.T) {
	c := zktest.Start(t, zktest.Options{Nodes: 3, TLS: true})
	c.RequireFaults(t)
	t.Run("MutexAndLossSignal", func(t *testing.T) { testMutexAndLossSignal(t, c) })
	t.Run("WrongCA", func(t *testing.T) { testWrongCA(t, c) })
	t.Run("NoClientCertificate", func(t *testing.T) { testNoClientCertificate(t, c) })
}

// A session over TLS serves a mutex; a holder whose TLS link is cut learns
// it lost the lock before a waiter on another TLS session acquires it.
func testMutexAndLossSignal(t *testing.T, c *zktest.Cluster) {
	ctx := testutil.Within(t, 30*time.Second)
	dir := testutil.Dir(t, "tls")
	link := c.NewTLSLink()
	defer link.Close()
	fragile := connect(t, link.Servers(), c.ClientTLS(), short)
	steady := connect(t, c.TLSServers(), c.ClientTLS(), healthy)

	// The server authenticated the session by its client certificate:
	// a node only that identity may read is readable over TLS, not over
	// the plain port.
	ep, err := steady.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secret := "/" + strings.ReplaceAll(dir[1:], "/", "_") + "-x509"
	acl := []zk.ACL{{Perms: zk.PermAll, Scheme: "x509", ID: "CN=zktest client"}}
	if _, err := ep.Create(ctx, secret, []byte("s"), zk.FlagEphemeral, acl); err != nil {
		t.Fatalf("create with an x509 ACL: %v", err)
	}
	if data, _, err := ep.Get(ctx, secret); err != nil || string(data) != "s" {
		t.Fatalf("read back over TLS: %q %v", data, err)
	}
	plain := testutil.Manager(t, c.Servers(), healthy)
	pep, _ := plain.Epoch(ctx)
	if _, _, err := pep.Get(ctx, secret); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("plain client read an x509-only node: %v", err)
	}

	a, err := mutex.New(fragile, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := mutex.New(steady, dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := a.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	la, err := a.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		lb, err := b.Lock(ctx)
		got <- time.Now()
		if err != nil {
			t.Errorf("waiter: %v", err)
			return
		}
		lb.Unlock(ctx)
	}()
	defer wg.Wait()
	testutil.Eventually(t, 10*time.Second, "b queued", func() bool {
		st, err := b.Status(ctx)
		return err == nil && len(st.Waiters) == 1
	})
	link.Cut()
	var lost, taken time.Time
	select {
	case <-la.Done():
		lost = time.Now()
		taken = <-got
	case taken = <-got:
		t.Fatal("the waiter acquired while the holder's lease was live")
	case <-ctx.Done():
		t.Fatal("the cut holder's lease never ended")
	}
	if !lost.Before(taken) {
		t.Fatalf("loss signalled %v after takeover", lost.Sub(taken))
	}
	if !errors.Is(la.Err(), recipes.ErrLost) {
		t.Fatalf("lease cause: %v", la.Err())
	}
	t.Logf("loss signalled %v before takeover", taken.Sub(lost))
	link.Heal()
	if _, err := fragile.Epoch(ctx); err != nil {
		t.Fatalf("no new TLS session after healing: %v", err)
	}
	wg.Wait()
	if err := ep.Delete(ctx, secret, -1); err != nil {
		t.Fatal(err)
	}
	testutil.Clean(t, c, dir, steady)
}

// A client that does not trust the ensemble's CA gets, within its context,
// an error that says so.
func testWrongCA(t *testing.T, c *zktest.Cluster) {
	cfg := c.ClientTLS()
	cfg.RootCAs = x509.NewCertPool()
	cfg.RootCAs.AddCert(otherCA(t))
	var logs syncBuffer
	const wait = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	start := time.Now()
	m, err := session.New(ctx, session.Config{
		Servers: c.TLSServers(), SessionTimeout: healthy,
		Dialer: session.TLSDialer(cfg),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	took := time.Since(start)
	if m != nil {
		m.Close()
		t.Fatal("connected with the wrong CA")
	}
	t.Logf("New with the wrong CA, after %v: %v", took.Round(time.Millisecond), err)
	if took > wait+time.Second {
		t.Errorf("New returned %v after its context ended", took-wait)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("not the context's error: %v", err)
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); !ok {
		t.Errorf("no *tls.CertificateVerificationError in %v", err)
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); !ok {
		t.Errorf("no x509.UnknownAuthorityError in %v", err)
	}
	if !strings.Contains(err.Error(), "certificate signed by unknown authority") ||
		!strings.Contains(err.Error(), "127.0.0.1:") {
		t.Errorf("the error does not name the certificate problem and server: %v", err)
	}
	if !strings.Contains(logs.String(), "certificate signed by unknown authority") {
		t.Errorf("the logs do not name the certificate problem:\n%s", logs.String())
	}
}

// A client without a certificate is turned away by the server (client auth
// is required): the error says the server refused the certificate.
func testNoClientCertificate(t *testing.T, c *zktest.Cluster) {
	cfg := c.ClientTLS()
	cfg.Certificates = nil
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{
		Servers: c.TLSServers(), SessionTimeout: healthy,
		Dialer: session.TLSDialer(cfg), Logger: testutil.Logger(),
	})
	if m != nil {
		m.Close()
		t.Fatal("connected without a client certificate")
	}
	t.Logf("New without a client certificate: %v", err)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("the error does not name the certificate problem: %v", err)
	}
}

func otherCA(t *testing.T) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the cluster's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
