package zktest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// tlsJars are the Debian jars ZooKeeper's Netty connection factory needs
// beyond those zookeeper.jar's manifest names: the manifest lists
// netty-handler and netty-transport but not what they depend on (the codec
// SslHandler extends, the resolver the transport loads, the native
// transport's common classes). An Apache release (ZOOKEEPER_HOME) ships
// them all in lib/ already.
var tlsJars = []string{
	"/usr/share/java/netty-codec.jar",
	"/usr/share/java/netty-resolver.jar",
	"/usr/share/java/netty-transport-native-unix-common.jar",
}

// tlsSetup is what a TLS cluster's servers and clients need: the PEM files
// the servers read and the client configuration that goes with them.
type tlsSetup struct {
	dir    string      // holds ca.pem, server.pem (key and chain), client.pem
	client *tls.Config // trusts the CA, presents the client certificate
}

// tlsClasspath adds the Netty jars the secure port needs to cp, unless a
// netty codec jar is on it already.
func tlsClasspath(cp string) (string, error) {
	for _, j := range strings.Split(cp, string(os.PathListSeparator)) {
		if strings.HasPrefix(filepath.Base(j), "netty-codec") {
			return cp, nil
		}
	}
	parts := []string{cp}
	for _, j := range tlsJars {
		if _, err := os.Stat(j); err != nil {
			return "", fmt.Errorf("zktest: Options.TLS needs %s (Debian package libnetty-java): %w", j, err)
		}
		parts = append(parts, j)
	}
	return strings.Join(parts, string(os.PathListSeparator)), nil
}

// newTLSSetup makes a throwaway CA, a server certificate for 127.0.0.1 and
// localhost and a client certificate, writes them as PEM into dir and
// returns the client side's configuration.
func newTLSSetup(dir string) (*tlsSetup, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("zktest: %w", err)
	}
	ca, caKey, err := newCA("zktest CA")
	if err != nil {
		return nil, err
	}
	notAfter := time.Now().Add(7 * 24 * time.Hour)
	serverDER, serverKey, err := issue(ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "zktest server"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		// Server and client auth: the same key pair would serve quorum
		// TLS, where each server is both.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}
	clientDER, clientKey, err := issue(ca, caKey, &x509.Certificate{
		Subject: pkix.Name{CommonName: "zktest client"},
		// The server may check the client's certificate against the
		// address it connects from, which is loopback here.
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}
	caPEM := pemBlock("CERTIFICATE", ca.Raw)
	files := map[string][]byte{
		"ca.pem":     caPEM,
		"server.pem": concat(pemKey(serverKey), pemBlock("CERTIFICATE", serverDER), caPEM),
		"client.pem": concat(pemKey(clientKey), pemBlock("CERTIFICATE", clientDER), caPEM),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, fmt.Errorf("zktest: %w", err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tlsSetup{
		dir: dir,
		client: &tls.Config{
			RootCAs: pool,
			Certificates: []tls.Certificate{{
				Certificate: [][]byte{clientDER, ca.Raw},
				PrivateKey:  clientKey,
			}},
			MinVersion: tls.VersionTLS12,
		},
	}, nil
}

func (t *tlsSetup) caPath() string     { return filepath.Join(t.dir, "ca.pem") }
func (t *tlsSetup) serverPath() string { return filepath.Join(t.dir, "server.pem") }

// zooCfg is what a server's zoo.cfg gains for a secure client port. Keys
// zoo.cfg does not know become "zookeeper."-prefixed system properties, as
// the ssl.* and serverCnxnFactory settings must be.
func (t *tlsSetup) zooCfg(securePort int) string {
	var b strings.Builder
	b.WriteString("serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n")
	fmt.Fprintf(&b, "secureClientPort=%d\n", securePort)
	b.WriteString("secureClientPortAddress=127.0.0.1\n")
	fmt.Fprintf(&b, "ssl.keyStore.location=%s\n", filepath.ToSlash(t.serverPath()))
	b.WriteString("ssl.keyStore.type=PEM\n")
	fmt.Fprintf(&b, "ssl.trustStore.location=%s\n", filepath.ToSlash(t.caPath()))
	b.WriteString("ssl.trustStore.type=PEM\n")
	// Mutual TLS: a client must present a certificate from the CA. The
	// x509 auth provider then authenticates it as its subject's DN.
	b.WriteString("ssl.clientAuth=need\n")
	return b.String()
}

// appendZooCfg adds the secure port's settings to a written zoo.cfg.
func (t *tlsSetup) appendZooCfg(s *server, securePort int) error {
	f, err := os.OpenFile(s.cfgPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("zktest: %w", err)
	}
	if _, err := io.WriteString(f, t.zooCfg(securePort)); err != nil {
		f.Close()
		return fmt.Errorf("zktest: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("zktest: %w", err)
	}
	return nil
}

func newCA(name string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("zktest: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("zktest: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("zktest: %w", err)
	}
	return cert, key, nil
}

func issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("zktest: %w", err)
	}
	if tmpl.SerialNumber, err = serialNumber(); err != nil {
		return nil, nil, err
	}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("zktest: %w", err)
	}
	return der, key, nil
}

func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("zktest: %w", err)
	}
	return n, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// pemKey encodes key as unencrypted PKCS #8 ("PRIVATE KEY"), the form
// ZooKeeper's PEM key store reads.
func pemKey(key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err) // cannot fail for a P-256 key
	}
	return pemBlock("PRIVATE KEY", der)
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// tlsRuok completes a TLS handshake with addr as cfg's client and asks ruok.
// The first handshake with a fresh JVM loads and warms its TLS stack, which
// can take longer than a client's one-second connect timeout; New and
// Restart make it before they return so the client under test does not.
func tlsRuok(addr string, cfg *tls.Config) error {
	d := &net.Dialer{Timeout: flwTimeout}
	conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return fmt.Errorf("zktest: TLS to %s: %w", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(flwTimeout))
	if _, err := io.WriteString(conn, "ruok"); err != nil {
		return fmt.Errorf("zktest: ruok over TLS to %s: %w", addr, err)
	}
	out, err := io.ReadAll(conn)
	if err != nil && len(out) == 0 {
		return fmt.Errorf("zktest: ruok over TLS to %s: %w", addr, err)
	}
	if string(out) != "imok" {
		return fmt.Errorf("zktest: ruok over TLS to %s: answered %q", addr, out)
	}
	return nil
}

// waitTLS waits until every running server's secure port answers.
func (c *Cluster) waitTLS(ctx context.Context) error {
	return poll(ctx, func() error {
		var errs []error
		for i, s := range c.procs {
			if s.running() {
				if err := tlsRuok(c.tlsAddrs[i], c.tls.client); err != nil {
					errs = append(errs, err)
				}
			}
		}
		return errors.Join(errs...)
	})
}

// TLSServers returns every server's secure client address, in server order,
// for a cluster started with Options.TLS, else nil. Clients connecting here
// bypass any Link; NewTLSLink puts proxies in front of these ports.
func (c *Cluster) TLSServers() []string {
	if c.tls == nil {
		return nil
	}
	return append([]string(nil), c.tlsAddrs...)
}

// ClientTLS returns a new client configuration for the secure ports of a
// cluster started with Options.TLS: it trusts the cluster's CA only and
// presents a client certificate that CA issued. It returns nil for a
// cluster without TLS.
func (c *Cluster) ClientTLS() *tls.Config {
	if c.tls == nil {
		return nil
	}
	return c.tls.client.Clone()
}

// NewTLSLink is NewLink for the secure client ports of a cluster started
// with Options.TLS: one TCP proxy per server in front of its secure port.
// The proxies forward the TLS stream untouched, so the client still
// verifies the server's certificate (issued for 127.0.0.1 and localhost)
// end to end. It panics when the cluster has no TLS.
func (c *Cluster) NewTLSLink() *Link {
	if c.tls == nil {
		panic("zktest: NewTLSLink on a cluster started without Options.TLS")
	}
	return c.newLinkTo(c.tlsAddrs, nil)
}
