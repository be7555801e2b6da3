package session_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkcoord/zkcoord/internal/testutil"
	"github.com/zkcoord/zkcoord/session"
)

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// listen accepts connections and hands each to serve until the test ends.
func listen(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

func TestTLSDialer(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := &tls.Config{Certificates: []tls.Certificate{cert}}
	echo := listen(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Server(c, srv)
		if tc.Handshake() == nil {
			io.Copy(tc, tc)
		}
	})

	// The server name comes from the address: 127.0.0.1, in the certificate.
	cfg := &tls.Config{RootCAs: pool}
	dial := session.TLSDialer(cfg)
	cfg.RootCAs = nil // the dialer took a copy
	c, err := dial("tcp", echo, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo %q %v", buf, err)
	}
	if st := c.(*tls.Conn).ConnectionState(); !st.HandshakeComplete {
		t.Fatal("handshake not complete when the dialer returned")
	}
	c.Close()

	// An untrusted server: the error names the server and wraps crypto/tls's.
	_, err = session.TLSDialer(&tls.Config{})("tcp", echo, 10*time.Second) // refused at once; the bound only rides out a loaded machine
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); !ok || !strings.Contains(err.Error(), echo) {
		t.Fatalf("untrusted server: %v", err)
	}

	// A server that accepts but never answers the handshake: the dial
	// timeout covers the handshake.
	mute := listen(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	start := time.Now()
	_, err = dial("tcp", mute, 200*time.Millisecond)
	if took := time.Since(start); err == nil || took > time.Second {
		t.Fatalf("mute server: %v after %v", err, took)
	}
	t.Logf("mute server: %v", err)

	// Nothing listening: the net error, which names the address.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	if _, err := dial("tcp", closed, time.Second); err == nil || !strings.Contains(err.Error(), closed) {
		t.Fatalf("closed port: %v", err)
	}
}

// A TLS 1.3 server that requires a client certificate rejects a client
// without one only after the client's handshake completed: the client hears
// of it on its first read. New still reports it, not a bare timeout.
func TestNewReportsRejectionAfterHandshake(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := &tls.Config{
		Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13,
	}
	addr := listen(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Server(c, srv)
		_ = tc.Handshake() // fails: no client certificate; sends the alert
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{
		Servers: []string{addr}, SessionTimeout: time.Second, Logger: testutil.Logger(),
		Dialer: session.TLSDialer(&tls.Config{RootCAs: pool}),
	})
	if m != nil {
		m.Close()
		t.Fatal("connected")
	}
	t.Logf("New: %v", err)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("New: %v; want the server's alert", err)
	}
}

// A server that closes every connection at once: New says so, naming it.
func TestNewReportsConnectionClosedBeforeAnswer(t *testing.T) {
	addr := listen(t, func(net.Conn) {})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m, err := session.New(ctx, session.Config{
		Servers: []string{addr}, SessionTimeout: time.Second, Logger: testutil.Logger(),
	})
	if m != nil {
		m.Close()
		t.Fatal("connected")
	}
	// EOF, or a reset if the connect request arrived after the close.
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer to the connect request") ||
		!strings.Contains(err.Error(), addr) {
		t.Fatalf("New: %v", err)
	}
}
