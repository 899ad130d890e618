package s3compat_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	aliyun "github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/oss"
)

const (
	keyID    = "LTAI5tS3CompatKeyID"
	secret   = "s3compat-secret-0123456789"
	stsID    = "STS.NUs3compatTempKey"
	stsKey   = "sts-secret-abcdef"
	stsToken = "CAIS-s3compat-security-token"
	region   = "cn-hangzhou"
	bucket   = "velero-backups"
	// domain is the real endpoint name; virtual-host clients dial it (and
	// <bucket>.<domain>) at the test server.
	domain = "oss-cn-hangzhou.aliyuncs.com"
)

// clock is an adjustable server clock.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time        { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) shift(d time.Duration) { c.offset.Add(int64(d)) }

type env struct {
	srv    *oss.Server
	ts     *httptest.Server
	clock  *clock
	store  *auth.Store
	faults *fault.Injector
}

func newEnv(t testing.TB, mods ...func(*oss.Config)) *env {
	t.Helper()
	e := &env{
		clock: &clock{},
		store: auth.NewStore(
			auth.Credential{AccessKeyID: keyID, AccessKeySecret: secret},
			auth.Credential{AccessKeyID: stsID, AccessKeySecret: stsKey, SecurityToken: stsToken, Expiration: time.Now().Add(time.Hour)},
		),
		faults: fault.New(fault.Config{Seed: 1}),
	}
	cfg := oss.Config{Auth: e.store, DataDir: t.TempDir(), Buckets: []string{bucket}, Region: region, Faults: e.faults, Now: e.clock.now}
	for _, m := range mods {
		m(&cfg)
	}
	srv, err := oss.New(cfg)
	if err != nil {
		t.Fatalf("oss.New: %v", err)
	}
	e.srv = srv
	e.ts = httptest.NewServer(srv)
	t.Cleanup(e.ts.Close)
	return e
}

// addr is the test server's host:port.
func (e *env) addr() string { return e.ts.Listener.Addr().String() }

func (e *env) port() string {
	_, p, _ := net.SplitHostPort(e.addr())
	return p
}

// transport sends every connection to the test server, whatever host the
// client names, the way DNS would send <bucket>.oss-cn-hangzhou.aliyuncs.com
// to OSS.
func (e *env) transport() *http.Transport {
	var d net.Dialer
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, e.addr())
	}
	return tr
}

// style is how a client addresses the bucket.
type style string

const (
	pathStyle    style = "path"
	virtualStyle style = "virtual-host"
)

type clientOpts struct {
	id, secret, token string
	region            string
	retries           int
	trailing          bool
}

func defaults() clientOpts { return clientOpts{id: keyID, secret: secret, region: region, retries: 1} }

// minioClient is minio-go as kopia configures it (static V4 credentials,
// plain HTTP, the BSL's region); path style through the IP endpoint, or
// virtual-host style through the OSS endpoint name, which minio-go
// recognizes as Aliyun OSS.
func (e *env) minioClient(t testing.TB, st style, mods ...func(*clientOpts)) *minio.Client {
	t.Helper()
	o := defaults()
	for _, m := range mods {
		m(&o)
	}
	endpoint, lookup := e.addr(), minio.BucketLookupPath
	if st == virtualStyle {
		endpoint, lookup = domain+":"+e.port(), minio.BucketLookupAuto
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:           miniocreds.NewStaticV4(o.id, o.secret, o.token),
		Secure:          false,
		Region:          o.region,
		BucketLookup:    lookup,
		Transport:       e.transport(),
		MaxRetries:      o.retries,
		TrailingHeaders: o.trailing,
	})
	if err != nil {
		t.Fatalf("minio.New: %v", err)
	}
	return c
}

// awsClient is the AWS SDK for Go v2 S3 client with a custom endpoint.
func (e *env) awsClient(t testing.TB, st style, mods ...func(*clientOpts)) *s3.Client {
	t.Helper()
	o := defaults()
	for _, m := range mods {
		m(&o)
	}
	endpoint := e.ts.URL
	if st == virtualStyle {
		endpoint = "http://" + domain + ":" + e.port()
	}
	return s3.New(s3.Options{
		Region:       o.region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: st == pathStyle,
		Credentials:  awscreds.NewStaticCredentialsProvider(o.id, o.secret, o.token),
		HTTPClient:   &http.Client{Transport: e.transport()},
		Retryer: retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = max(o.retries, 1)
			so.MaxBackoff = 50 * time.Millisecond
		}),
	})
}

// ossClient is the Alibaba OSS SDK (V4 signatures, path style through the IP endpoint).
func (e *env) ossBucket(t testing.TB) *aliyun.Bucket {
	t.Helper()
	c, err := aliyun.New(e.ts.URL, keyID, secret, aliyun.Region(region), aliyun.AuthVersion(aliyun.AuthV4), aliyun.Timeout(5, 30))
	if err != nil {
		t.Fatalf("aliyun.New: %v", err)
	}
	b, err := c.Bucket(bucket)
	if err != nil {
		t.Fatalf("Bucket: %v", err)
	}
	return b
}

// errCode is the S3 error code a client reports ("" for none).
func errCode(err error) string {
	if err == nil {
		return ""
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	if r := minio.ToErrorResponse(err); r.Code != "" {
		return r.Code
	}
	return "not an S3 error: " + err.Error()
}

// httpDo sends a plain request (for presigned URLs) to the test server.
func (e *env) httpDo(t testing.TB, method, rawURL string, body string) (*http.Response, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse %q: %v", rawURL, err)
	}
	req, err := http.NewRequest(method, u.String(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body = http.NoBody
	}
	resp, err := (&http.Client{Transport: e.transport()}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	return resp, b.String()
}
