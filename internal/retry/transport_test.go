package retry

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// rawServer accepts connections on 127.0.0.1 and hands each to serve.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

// readRequest reads the request head so that closing the connection comes
// after the client has sent it.
func readRequest(c net.Conn) { _, _ = http.ReadRequest(bufio.NewReader(c)) }

// closedPort is an address on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// tlsServer is an HTTPS server with httptest's certificate, which only its
// own Client trusts. Its handshake failures are not logged.
func tlsServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func get(url string, c *http.Client) error {
	if c == nil {
		c = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	}
	res, err := c.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, err = io.ReadAll(res.Body)
	return err
}

func TestIsTransportError(t *testing.T) {
	refused := closedPort(t)
	reset := rawServer(t, func(c net.Conn) {
		readRequest(c)
		_ = c.(*net.TCPConn).SetLinger(0) // close with RST
		c.Close()
	})
	hangUp := rawServer(t, func(c net.Conn) { readRequest(c); c.Close() })
	cutBody := rawServer(t, func(c net.Conn) {
		readRequest(c)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
		c.Close()
	})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	tlsSrv := tlsServer(t)
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(plain.Close)

	wrongName := tlsSrv.Client()
	wrongName.Transport.(*http.Transport).TLSClientConfig.ServerName = "wrong.example"

	_, dialErr := net.Dial("tcp", refused)
	resetErr := get("http://"+reset, nil)

	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"dial refused", dialErr, true},
		{"GET refused", get("http://"+refused, nil), true},
		{"reset", resetErr, true},
		{"closed before the response", get("http://"+hangUp, nil), true},
		{"closed mid-body", get("http://"+cutBody, nil), true},
		{"client timeout", get(slow.URL, &http.Client{Timeout: 50 * time.Millisecond}), true},
		{"wrapped", fmt.Errorf("upload part 3: %w", resetErr), true},
		{"flattened by an SDK", fmt.Errorf("get metadata token failed: %s", "read tcp 10.0.0.1:1->100.100.100.200:80: read: connection reset by peer"), true},
		{"syscall reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{"closed under the request", &net.OpError{Op: "set", Net: "tcp", Err: net.ErrClosed}, true},
		{"host unreachable", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.EHOSTUNREACH}, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"DNS timeout", &net.DNSError{Err: "i/o timeout", Name: "oss.example", IsTimeout: true, IsTemporary: true}, true},
		{"DNS server failure", &net.DNSError{Err: "server misbehaving", Name: "oss.example", IsTemporary: true}, true},
		{"DNS not found", &net.DNSError{Err: "no such host", Name: "oss.example", IsNotFound: true}, false},
		{"dial DNS not found", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", IsNotFound: true}}, false},
		{"unknown certificate authority", get(tlsSrv.URL, &http.Client{}), false},
		{"certificate name mismatch", get(tlsSrv.URL, wrongName), false},
		{"TLS to a plain HTTP server", get("https://"+plain.Listener.Addr().String(), &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}), false},
		{"canceled", context.Canceled, false},
		{"other", errors.New("oss: object name is empty"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil && tt.name != "nil" {
				t.Fatal("the scenario did not fail")
			}
			if got := IsTransportError(tt.err); got != tt.want {
				t.Errorf("IsTransportError(%v) = %v; want %v", tt.err, got, tt.want)
			}
		})
	}
	// The real errors are the typed ones, not matched by their text.
	for _, c := range []struct {
		name   string
		err    error
		target error
	}{
		{"dial refused", dialErr, syscall.ECONNREFUSED},
		{"reset", resetErr, syscall.ECONNRESET},
	} {
		if !errors.Is(c.err, c.target) {
			t.Errorf("%s: %v is not %v", c.name, c.err, c.target)
		}
	}
}

func TestIsCertificateError(t *testing.T) {
	srv := tlsServer(t)
	if err := get(srv.URL, &http.Client{}); !IsCertificateError(err) {
		t.Errorf("IsCertificateError(%v) = false", err)
	}
	if err := get(srv.URL, srv.Client()); err != nil || IsCertificateError(io.EOF) {
		t.Errorf("trusted server: %v", err)
	}
}
