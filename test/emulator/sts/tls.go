package sts

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
)

// StartTLS serves s over HTTPS on 127.0.0.1 and returns the test server and
// the endpoint (host:port) to give credentials-go as its STS endpoint. The
// caller must make the client trust srv.Certificate(): in-process with
// TrustInProcess, in a child process with WriteCAFile + SSL_CERT_FILE.
func StartTLS(s *Server) (srv *httptest.Server, endpoint string) {
	srv = httptest.NewTLSServer(s)
	return srv, strings.TrimPrefix(srv.URL, "https://")
}

var trustMu sync.Mutex

// TrustInProcess adds the certificate of srv to the roots of
// http.DefaultTransport. credentials-go builds each STS request's transport
// by cloning http.DefaultTransport and has no option for a CA, so this is how
// a test in the same process makes it trust the emulator. Test-only: it
// changes a process-wide default.
func TrustInProcess(srv *httptest.Server) {
	trustMu.Lock()
	defer trustMu.Unlock()
	t := http.DefaultTransport.(*http.Transport)
	cfg := &tls.Config{}
	if t.TLSClientConfig != nil {
		cfg = t.TLSClientConfig.Clone()
	}
	if cfg.RootCAs == nil {
		if sys, err := x509.SystemCertPool(); err == nil {
			cfg.RootCAs = sys
		} else {
			cfg.RootCAs = x509.NewCertPool()
		}
	}
	cfg.RootCAs.AddCert(srv.Certificate())
	t.TLSClientConfig = cfg
}

// WriteCAFile writes srv's certificate as PEM to path, for a child process
// (for example the plugin binary) started with SSL_CERT_FILE=path.
func WriteCAFile(srv *httptest.Server, path string) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
}
