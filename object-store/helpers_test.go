package objectstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/retry"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	emuoss "github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/oss"
)

const (
	testRegion = "cn-hangzhou"
	testBucket = "velero-backups"
	testKeyID  = "LTAItestkeyid0001"
	testSecret = "TestSecretDoNotLeak0123456789abc"
)

// env is one emulator on loopback plus what tests need to steer it.
type env struct {
	t      testing.TB
	emu    *emuoss.Server
	srv    *httptest.Server
	auth   *auth.Store
	faults *fault.Injector
	skew   atomic.Int64 // added to the emulator's clock, in nanoseconds
	logs   *testutil.Log
}

func newEnv(t testing.TB, buckets ...string) *env {
	t.Helper()
	if len(buckets) == 0 {
		buckets = []string{testBucket}
	}
	e := &env{t: t, auth: auth.NewStore(auth.Credential{AccessKeyID: testKeyID, AccessKeySecret: testSecret}),
		faults: fault.New(fault.Config{Seed: 1}), logs: &testutil.Log{}}
	emu, err := emuoss.New(emuoss.Config{
		Auth: e.auth, DataDir: t.TempDir(), Buckets: buckets, Region: testRegion, Faults: e.faults,
		Now: func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.emu = emu
	e.srv = httptest.NewServer(emu)
	t.Cleanup(e.srv.Close)
	return e
}

// store returns an initialised ObjectStore talking to the emulator with the
// default test key and fast retries; kv overrides or adds config keys.
func (e *env) store(kv ...string) *ObjectStore {
	e.t.Helper()
	o, err := e.tryStore(kv...)
	if err != nil {
		e.t.Fatalf("Init: %v", err)
	}
	return o
}

func (e *env) tryStore(kv ...string) (*ObjectStore, error) {
	cfg := map[string]string{
		"region":          testRegion,
		"endpoint":        e.srv.URL,
		"bucket":          testBucket,
		"credentialsFile": testutil.CredentialsFile(e.t, testKeyID, testSecret, ""),
	}
	for i := 0; i < len(kv); i += 2 {
		cfg[kv[i]] = kv[i+1]
	}
	o := NewObjectStore(e.logs.Logger())
	o.policy = retry.Policy{Attempts: 10, Base: time.Millisecond, Max: 20 * time.Millisecond}
	if err := o.Init(cfg); err != nil {
		return nil, err
	}
	return o, nil
}

// noUploadsLeft fails the test if the bucket has multipart uploads in progress.
func (e *env) noUploadsLeft(bucket string) {
	e.t.Helper()
	if n := e.emu.MultipartUploads(bucket); n != 0 {
		e.t.Errorf("%d multipart upload(s) left in progress in %s; want none (orphan parts)", n, bucket)
	}
}

// opsDelta returns how many requests of each operation the emulator saw
// while fn ran.
func (e *env) opsDelta(fn func()) map[string]int64 {
	before := e.emu.Operations()
	fn()
	after := e.emu.Operations()
	for k, v := range before {
		after[k] -= v
	}
	return after
}

// streamOnly hides everything but Read, so PutObject cannot learn the length.
type streamOnly struct{ r io.Reader }

func (s streamOnly) Read(p []byte) (int, error) { return s.r.Read(p) }

func randomBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// hook wraps the store's HTTP transport so a test can watch or tamper with
// requests on the wire (between the real SDK and the emulator).
type hook struct {
	base     http.RoundTripper
	mu       sync.Mutex
	inflight map[string]int // by op
	peak     map[string]int
	requests atomic.Int64
	onReq    func(*http.Request) *http.Request
	onResp   func(*http.Request, *http.Response)
	// loseResponse, when it returns true, lets the request reach the
	// emulator but replaces its answer with a connection reset.
	loseResponse func(*http.Request) bool
}

func installHook(o *ObjectStore) *hook {
	h := &hook{base: o.http.Transport, inflight: map[string]int{}, peak: map[string]int{}}
	o.http.Transport = h
	return h
}

func opOf(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case q.Has("partNumber"):
		return "UploadPart"
	case q.Has("uploads"):
		return "Initiate"
	case q.Has("uploadId") && r.Method == http.MethodPost:
		return "Complete"
	case q.Has("uploadId") && r.Method == http.MethodDelete:
		return "Abort"
	}
	return r.Method
}

func (h *hook) RoundTrip(r *http.Request) (*http.Response, error) {
	h.requests.Add(1)
	op := opOf(r)
	h.mu.Lock()
	h.inflight[op]++
	if h.inflight[op] > h.peak[op] {
		h.peak[op] = h.inflight[op]
	}
	onReq, onResp, lose := h.onReq, h.onResp, h.loseResponse
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inflight[op]--
		h.mu.Unlock()
	}()
	if onReq != nil {
		r = onReq(r)
	}
	resp, err := h.base.RoundTrip(r)
	if err == nil && lose != nil && lose(r) {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	if err == nil && onResp != nil {
		onResp(r, resp)
	}
	return resp, err
}

func (h *hook) peakOf(op string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak[op]
}

// flipFirstByte corrupts a request or response body in transit.
type flipFirstByte struct {
	r    io.ReadCloser
	done bool
}

func (f *flipFirstByte) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 && !f.done {
		p[0] ^= 0xff
		f.done = true
	}
	return n, err
}

func (f *flipFirstByte) Close() error { return f.r.Close() }

// dialTo makes every connection of the store go to addr, so that hostnames
// such as velero-backups.oss-cn-hangzhou.aliyuncs.com reach the emulator.
func dialTo(o *ObjectStore, addr string) {
	tr := o.http.Transport.(*http.Transport)
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// httptestServer serves the same emulator on a second loopback address and
// returns its URL (a stand-in for a public endpoint).
func httptestServer(t *testing.T, e *env) string {
	srv := httptest.NewServer(e.emu)
	t.Cleanup(srv.Close)
	return srv.URL
}

// tlsEnv is an env whose emulator speaks HTTPS with a certificate for
// *.oss-cn-hangzhou.aliyuncs.com signed by a test CA.
type tlsEnv struct {
	*env
	caPEM string
}

func newEnvTLS(t *testing.T) *tlsEnv {
	t.Helper()
	e := &env{t: t, auth: auth.NewStore(auth.Credential{AccessKeyID: testKeyID, AccessKeySecret: testSecret}),
		logs: &testutil.Log{}}
	emu, err := emuoss.New(emuoss.Config{
		Auth: e.auth, DataDir: t.TempDir(), Buckets: []string{testBucket}, Region: testRegion,
		Domain: "oss-" + testRegion + ".aliyuncs.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.emu = emu
	caPEM, serverCert := testCertificates(t, "*.oss-"+testRegion+".aliyuncs.com")
	e.srv = httptest.NewUnstartedServer(emu)
	e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}}
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return &tlsEnv{env: e, caPEM: caPEM}
}

// testCertificates makes a CA and a server certificate for host signed by it.
func testCertificates(t *testing.T, host string) (string, tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(crand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return string(caPEM), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
