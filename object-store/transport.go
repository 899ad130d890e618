package objectstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"time"
)

// Timeouts of the OSS HTTP client. A stalled connection (no byte moves for
// ioTimeout) fails and is retried instead of hanging a backup.
const (
	connectTimeout = 10 * time.Second
	headerTimeout  = 60 * time.Second
	ioTimeout      = 60 * time.Second
	idleConnTTL    = 50 * time.Second
)

// newHTTPClient builds the client the SDK uses. We build it ourselves because
// the SDK offers no option for a custom CA pool (caCert) and does not honour
// HTTPS_PROXY.
func newHTTPClient(roots *x509.CertPool, concurrency int) *http.Client {
	dialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &stallConn{Conn: c, timeout: ioTimeout}, nil
		},
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   connectTimeout,
		ResponseHeaderTimeout: headerTimeout,
		IdleConnTimeout:       idleConnTTL,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   concurrency + 4,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t}
}

// stallConn fails a read or write that makes no progress for timeout.
type stallConn struct {
	net.Conn
	timeout time.Duration
}

func (c *stallConn) Read(b []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *stallConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
