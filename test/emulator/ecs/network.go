package ecs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Network puts a Server behind the real ECS endpoint names, so a client can
// be tested with its production endpoint logic: a TLS listener on 127.0.0.1
// with a certificate (from an in-memory CA) for ecs.aliyuncs.com and, for
// every configured region R, ecs.R.aliyuncs.com, ecs-R.aliyuncs.com and
// ecs-vpc.R.aliyuncs.com. Transport dials those names (port 443) to the
// listener. The VPC endpoint of a region other than the caller's cannot be
// reached, as from outside that region's network: the dial is refused.
type Network struct {
	srv          *Server
	callerRegion string
	ln           net.Listener
	hs           *http.Server
	roots        *x509.CertPool
	hosts        map[string]bool // served host names
	vpcHosts     map[string]bool // ecs-vpc.R.aliyuncs.com of every region

	mu      sync.Mutex
	refused map[string]int
}

// NewNetwork starts the listener for s. callerRegion is the region the
// clients run in (empty: outside every region, so no VPC endpoint is
// reachable); it also becomes s's caller region, so a request that reaches s
// at another region's VPC endpoint anyway has its connection dropped.
func NewNetwork(s *Server, callerRegion string) (*Network, error) {
	if callerRegion != "" && !s.regionExists(callerRegion) {
		return nil, fmt.Errorf("ecs emulator: NewNetwork: caller region %q is not configured", callerRegion)
	}
	n := &Network{srv: s, callerRegion: callerRegion, hosts: map[string]bool{hostID: true},
		vpcHosts: map[string]bool{}, refused: map[string]int{}}
	names := []string{hostID}
	for _, r := range s.cfg.Regions {
		for _, h := range []string{"ecs." + r.ID + ".aliyuncs.com", "ecs-" + r.ID + ".aliyuncs.com"} {
			n.hosts[h] = true
			names = append(names, h)
		}
		vpc := "ecs-vpc." + r.ID + ".aliyuncs.com"
		n.vpcHosts[vpc] = true
		names = append(names, vpc)
		if r.ID == callerRegion {
			n.hosts[vpc] = true
		}
	}
	cert, roots, err := issueCertificate(names)
	if err != nil {
		return nil, fmt.Errorf("ecs emulator: NewNetwork: %w", err)
	}
	n.roots = roots
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n.ln = ln
	n.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		// HTTP/1.1 only, so dropped connections (faults, foreign VPC
		// hosts) can be hijacked as on the plain listener.
		TLSConfig:    &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12},
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	s.mu.Lock()
	s.callerRegion, s.callerSet = callerRegion, true
	s.mu.Unlock()
	go func() { _ = n.hs.ServeTLS(ln, "", "") }()
	return n, nil
}

// Addr is the listener's address (127.0.0.1:port).
func (n *Network) Addr() string { return n.ln.Addr().String() }

// Transport returns a new transport that resolves the ECS endpoint names to
// the listener and trusts the emulator's CA. Dialing another region's VPC
// endpoint fails like a refused connection (a *net.OpError with Op "dial"
// wrapping syscall.ECONNREFUSED) and is counted in Refused; any other host
// fails like DNS (a *net.DNSError with IsNotFound).
func (n *Network) Transport() *http.Transport {
	return &http.Transport{
		DialContext:         n.dial,
		TLSClientConfig:     &tls.Config{RootCAs: n.roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
}

func (n *Network) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	host = strings.ToLower(host)
	refused := func() error {
		return &net.OpError{Op: "dial", Net: network,
			Addr: &net.TCPAddr{IP: net.IPv4(100, 100, 0, 1), Port: 443},
			Err:  os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	switch {
	case n.hosts[host] && port == "443":
		var d net.Dialer
		return d.DialContext(ctx, "tcp", n.ln.Addr().String())
	case n.vpcHosts[host] && !n.hosts[host]:
		n.mu.Lock()
		n.refused[host]++
		n.mu.Unlock()
		return nil, refused()
	case n.hosts[host]:
		return nil, refused() // only HTTPS is served
	}
	return nil, &net.OpError{Op: "dial", Net: network,
		Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
}

// Refused returns the refused dials by host name.
func (n *Network) Refused() map[string]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.refused)
}

// Close stops the listener.
func (n *Network) Close() error {
	err := n.hs.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// issueCertificate makes a CA and a server certificate for names, valid for
// a day, and returns the certificate and a pool trusting the CA.
func issueCertificate(names []string) (tls.Certificate, *x509.CertPool, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ECS emulator CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: hostID},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: names, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}, pool, nil
}
