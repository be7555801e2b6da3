package zktest

import (
	"crypto/x509"
	"errors"
	"testing"
)

// A TLS cluster serves its secure ports to a client with its CA and
// certificate, also through a Link, and to no one else.
func TestTLSCluster(t *testing.T) {
	c := Start(t, Options{Nodes: 1, TLS: true})
	if len(c.TLSServers()) != 1 || c.ClientTLS() == nil {
		t.Fatalf("TLSServers %v, ClientTLS %v", c.TLSServers(), c.ClientTLS())
	}
	if err := tlsRuok(c.TLSServers()[0], c.ClientTLS()); err != nil {
		t.Fatal(err)
	}
	link := c.NewTLSLink()
	defer link.Close()
	if err := tlsRuok(link.Servers()[0], c.ClientTLS()); err != nil {
		t.Fatalf("through a link: %v", err)
	}
	link.Cut()
	if err := tlsRuok(link.Servers()[0], c.ClientTLS()); err == nil {
		t.Fatal("ruok through a cut link")
	}
	link.Heal()

	// A client that does not trust the cluster's CA rejects the server.
	other, _, err := newCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	wrong := c.ClientTLS()
	wrong.RootCAs = x509.NewCertPool()
	wrong.RootCAs.AddCert(other)
	err = tlsRuok(c.TLSServers()[0], wrong)
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); !ok {
		t.Fatalf("wrong CA: %v", err)
	}
	// A client without a certificate is turned away by the server.
	anon := c.ClientTLS()
	anon.Certificates = nil
	if err := tlsRuok(c.TLSServers()[0], anon); err == nil {
		t.Fatal("a client without a certificate was served")
	} else {
		t.Logf("no-certificate client: %v", err)
	}
	// A restarted server serves TLS again before Restart returns.
	if err := c.Restart(0); err != nil {
		t.Fatal(err)
	}
	if err := tlsRuok(c.TLSServers()[0], c.ClientTLS()); err != nil {
		t.Fatalf("after Restart: %v", err)
	}

	plain := &Cluster{addrs: []string{"127.0.0.1:1"}}
	if plain.TLSServers() != nil || plain.ClientTLS() != nil {
		t.Fatal("TLS settings on a cluster without TLS")
	}
}
