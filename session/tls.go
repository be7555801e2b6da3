package session

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/go-zookeeper/zk"
)

// TLSDialer returns a Config.Dialer that connects to ZooKeeper's secure
// client port (secureClientPort) with cfg. The TCP connect and the TLS
// handshake together take at most the client's dial timeout, so a server
// that accepts but never completes a handshake is skipped like one that
// does not answer. When cfg.ServerName is empty, the certificate is checked
// against each server's host as written in Config.Servers, an IP address or
// a name. A nil cfg means the zero configuration: the system's roots.
//
// A handshake that fails names the server and wraps crypto/tls's error, so
// errors.As finds *tls.CertificateVerificationError and the x509 error
// inside it; New reports the last such error when its context ends before
// a session is established.
func TLSDialer(cfg *tls.Config) zk.Dialer {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone() // later changes by the caller must not race with dials
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		ctx := context.Background()
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		d := tls.Dialer{Config: cfg}
		c, err := d.DialContext(ctx, network, address)
		if err != nil {
			if _, ok := err.(*net.OpError); ok {
				return nil, err // already names the address
			}
			return nil, fmt.Errorf("TLS handshake with %s: %w", address, err)
		}
		return c, nil
	}
}
