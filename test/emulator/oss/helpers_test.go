package oss_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	emu "github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/oss"
)

const (
	testID     = "LTAI5tEmulatorKeyID"
	testSecret = "emulator-secret-0123456789"
	stsID      = "STS.NUemulatorTempKey"
	stsSecret  = "sts-secret-abcdef"
	stsToken   = "CAIS-emulator-security-token"
	testRegion = "cn-hangzhou"
	testBucket = "velero-backups"
)

// clock is an adjustable server clock.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time        { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) shift(d time.Duration) { c.offset.Add(int64(d)) }

type env struct {
	srv    *emu.Server
	ts     *httptest.Server
	clock  *clock
	store  *auth.Store
	faults *fault.Injector
}

func newEnv(t testing.TB, mods ...func(*emu.Config)) *env {
	t.Helper()
	e := &env{
		clock: &clock{},
		store: auth.NewStore(
			auth.Credential{AccessKeyID: testID, AccessKeySecret: testSecret},
			auth.Credential{AccessKeyID: stsID, AccessKeySecret: stsSecret, SecurityToken: stsToken, Expiration: time.Now().Add(time.Hour)},
		),
		faults: fault.New(fault.Config{Seed: 1}),
	}
	cfg := emu.Config{Auth: e.store, DataDir: t.TempDir(), Buckets: []string{testBucket}, Region: testRegion, Faults: e.faults, Now: e.clock.now}
	for _, m := range mods {
		m(&cfg)
	}
	srv, err := emu.New(cfg)
	if err != nil {
		t.Fatalf("emu.New: %v", err)
	}
	e.srv = srv
	e.ts = httptest.NewServer(srv)
	t.Cleanup(e.ts.Close)
	return e
}

// client returns a real SDK client (V4, path style through the IP endpoint)
// with the static test key; opts override.
func (e *env) client(t testing.TB, opts ...sdk.ClientOption) *sdk.Client {
	t.Helper()
	return newClient(t, e.ts.URL, testID, testSecret, opts...)
}

func newClient(t testing.TB, endpoint, id, secret string, opts ...sdk.ClientOption) *sdk.Client {
	t.Helper()
	all := append([]sdk.ClientOption{sdk.Region(testRegion), sdk.AuthVersion(sdk.AuthV4), sdk.Timeout(5, 30)}, opts...)
	c, err := sdk.New(endpoint, id, secret, all...)
	if err != nil {
		t.Fatalf("sdk.New: %v", err)
	}
	return c
}

func (e *env) bucket(t testing.TB, opts ...sdk.ClientOption) *sdk.Bucket {
	t.Helper()
	b, err := e.client(t, opts...).Bucket(testBucket)
	if err != nil {
		t.Fatalf("Bucket: %v", err)
	}
	return b
}

// serviceErr asserts err is an OSS service error with the code and status.
func serviceErr(t *testing.T, err error, status int, code string) sdk.ServiceError {
	t.Helper()
	var se sdk.ServiceError
	if !errors.As(err, &se) {
		t.Fatalf("want ServiceError %d %s, got %T %v", status, code, err, err)
	}
	if se.StatusCode != status || se.Code != code {
		t.Fatalf("want %d %s, got %d %s (%s)", status, code, se.StatusCode, se.Code, se.Message)
	}
	if se.RequestID == "" {
		t.Fatalf("error without request ID: %v", se)
	}
	return se
}

func getAll(t *testing.T, b *sdk.Bucket, key string, opts ...sdk.Option) []byte {
	t.Helper()
	rc, err := b.GetObject(key, opts...)
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return data
}

func put(t *testing.T, b *sdk.Bucket, key string, data []byte, opts ...sdk.Option) {
	t.Helper()
	if err := b.PutObject(key, bytes.NewReader(data), opts...); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

// pattern returns n deterministic, non-repeating-looking bytes.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// recorder is an http.RoundTripper that captures requests and answers 200.
type recorder struct{ reqs []*http.Request }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	r.reqs = append(r.reqs, req)
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(nil)), Request: req}, nil
}
