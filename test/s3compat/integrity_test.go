package s3compat_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sha256Hasher is the md5simd.Hasher minio-go's streaming signer takes.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

// flipAt corrupts one byte of a request body in transit.
type flipAt struct {
	r   io.Reader
	at  int64
	pos int64
}

func (f *flipAt) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.pos && f.at < f.pos+int64(n) {
		p[f.at-f.pos] ^= 0xff
	}
	f.pos += int64(n)
	return n, err
}

func (f *flipAt) Close() error { return nil }

// TestBodyIntegrity sends requests signed by the clients' own signers
// (aws-sdk-go-v2's v4.Signer, minio-go's pkg/signer) with bodies that do not
// match what was signed or declared: nothing is stored, and the error is the
// one S3/OSS gives.
func TestBodyIntegrity(t *testing.T) {
	payload := bytes.Repeat([]byte("kopia blob "), 20000) // > 3 aws-chunks of 64 KiB
	awsSigned := func(e *env, method, path string, body []byte, hdr map[string]string) *http.Request {
		req, _ := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		if req.Header.Get("x-amz-content-sha256") == "" {
			req.Header.Set("x-amz-content-sha256", sha256Hex(body))
		}
		err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
			aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, req, req.Header.Get("x-amz-content-sha256"), "s3", region, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	minioStreaming := func(e *env, flip int64) *http.Request {
		req, _ := http.NewRequest(http.MethodPut, e.ts.URL+"/"+bucket+"/integrity/object", bytes.NewReader(payload))
		req = signer.StreamingSignV4(req, keyID, secret, "", region, int64(len(payload)), time.Now().UTC(), sha256Hasher{sha256.New()})
		if flip >= 0 {
			req.Body = &flipAt{r: req.Body, at: flip}
		}
		return req
	}
	cases := []struct {
		name   string
		req    func(e *env) *http.Request
		status int
		code   string
	}{
		{"signed SHA-256 matches", func(e *env) *http.Request {
			return awsSigned(e, http.MethodPut, "/"+bucket+"/integrity/object", payload, nil)
		}, 200, ""},
		{"signed SHA-256 of other bytes", func(e *env) *http.Request {
			return awsSigned(e, http.MethodPut, "/"+bucket+"/integrity/object", payload, map[string]string{"x-amz-content-sha256": sha256Hex([]byte("other"))})
		}, 400, "XAmzContentSHA256Mismatch"},
		{"malformed x-amz-content-sha256", func(e *env) *http.Request {
			return awsSigned(e, http.MethodPut, "/"+bucket+"/integrity/object", payload, map[string]string{"x-amz-content-sha256": "abc"})
		}, 400, "InvalidArgument"},
		{"x-amz-checksum-crc32 of other bytes", func(e *env) *http.Request {
			return awsSigned(e, http.MethodPut, "/"+bucket+"/integrity/object", payload, map[string]string{"x-amz-checksum-crc32": "AAAAAA=="})
		}, 400, "BadDigest"},
		{"aws-chunked with unsigned trailer", func(e *env) *http.Request {
			return awsSigned(e, http.MethodPut, "/"+bucket+"/integrity/object", payload, map[string]string{
				"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "Content-Encoding": "aws-chunked",
				"x-amz-decoded-content-length": strconv.Itoa(len(payload)), "x-amz-trailer": "x-amz-checksum-crc32"})
		}, 400, "InvalidArgument"},
		{"DeleteObjects without Content-MD5", func(e *env) *http.Request {
			return awsSigned(e, http.MethodPost, "/"+bucket+"?delete", []byte("<Delete><Object><Key>k</Key></Object></Delete>"), nil)
		}, 400, "InvalidRequest"},
		{"streaming chunks intact", func(e *env) *http.Request { return minioStreaming(e, -1) }, 200, ""},
		{"streaming chunk data changed", func(e *env) *http.Request { return minioStreaming(e, 70000) }, 403, "SignatureDoesNotMatch"},
		{"streaming last chunk changed", func(e *env) *http.Request { return minioStreaming(e, int64(len(payload))+200) }, 403, "SignatureDoesNotMatch"},
		{"streaming chunk header changed", func(e *env) *http.Request { return minioStreaming(e, 2) }, 400, "IncompleteBody"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			resp, err := http.DefaultClient.Do(c.req(e))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || (c.code != "" && !strings.Contains(string(body), "<Code>"+c.code+"</Code>")) {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, body, c.status, c.code)
			}
			stored, ok := e.srv.Object(bucket, "integrity/object")
			if ok != (c.status == 200) || ok && stored.Size != int64(len(payload)) {
				t.Errorf("stored %v %+v", ok, stored)
			}
			if ok {
				if got, _ := e.srv.ReadObject(bucket, "integrity/object"); !bytes.Equal(got, payload) {
					t.Error("stored bytes differ from the payload")
				}
			}
		})
	}
}

// TestFaults answers requests with 503, 500, a reset connection and a delay;
// both clients retry through them.
func TestFaults(t *testing.T) {
	for _, cc := range clientCases {
		t.Run(cc.name, func(t *testing.T) {
			e := newEnv(t)
			c := cc.make(t, e, func(o *clientOpts) { o.retries = 5 })
			ctx := context.Background()
			data := []byte("survives faults")
			e.faults.Enqueue(fault.Decision{Kind: fault.Throttle}, fault.Decision{Kind: fault.ServerError}, fault.Decision{Kind: fault.Reset})
			if _, err := c.put(ctx, "faults/object", data, nil); err != nil {
				t.Fatalf("put through faults: %v", err)
			}
			e.faults.Enqueue(fault.Decision{Kind: fault.Throttle}, fault.Decision{Kind: fault.Delay, Delay: 100 * time.Millisecond})
			start := time.Now()
			got, err := c.get(ctx, "faults/object", 0, -1)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("get through faults: %q, %v", got, err)
			}
			if d := time.Since(start); d < 100*time.Millisecond {
				t.Errorf("get took %v, the delay was 100ms", d)
			}
			for _, k := range []fault.Kind{fault.Throttle, fault.ServerError, fault.Reset, fault.Delay} {
				if e.faults.Count(k) == 0 {
					t.Errorf("no %v fault was served", k)
				}
			}
			if n := e.srv.Operations()["Fault"]; n != 3 {
				t.Errorf("Fault answers = %d, want 3 (503, 500, 503)", n)
			}
		})
	}
}
