package s3compat_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/oss"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ram"
)

// TestAuthentication refuses what OSS refuses: a wrong secret, an unknown
// key, a skewed clock, an STS key without its token or with another one.
func TestAuthentication(t *testing.T) {
	cases := []struct {
		name   string
		opts   func(*clientOpts)
		skew   time.Duration
		upload bool // a PUT with a body, else a listing
		code   string
	}{
		{"valid key", func(*clientOpts) {}, 0, true, ""},
		{"wrong secret", func(o *clientOpts) { o.secret = "not-the-secret" }, 0, false, "SignatureDoesNotMatch"},
		{"wrong secret upload", func(o *clientOpts) { o.secret = "not-the-secret" }, 0, true, "SignatureDoesNotMatch"},
		{"unknown key", func(o *clientOpts) { o.id = "LTAI5tNobodyKnowsMe" }, 0, false, "InvalidAccessKeyId"},
		{"clock skew", func(*clientOpts) {}, 20 * time.Minute, false, "RequestTimeTooSkewed"},
		{"small skew tolerated", func(*clientOpts) {}, 10 * time.Minute, true, ""},
		{"sts with token", func(o *clientOpts) { o.id, o.secret, o.token = stsID, stsKey, stsToken }, 0, true, ""},
		{"sts without token", func(o *clientOpts) { o.id, o.secret = stsID, stsKey }, 0, false, "InvalidAccessKeyId"},
		{"sts wrong token", func(o *clientOpts) { o.id, o.secret, o.token = stsID, stsKey, "CAIS-other" }, 0, false, "InvalidSecurityToken"},
	}
	for _, cc := range clientCases {
		for _, c := range cases {
			t.Run(cc.name+"/"+c.name, func(t *testing.T) {
				e := newEnv(t)
				e.clock.shift(c.skew)
				cl := cc.make(t, e, c.opts)
				ctx := context.Background()
				var err error
				if c.upload {
					_, err = cl.put(ctx, "auth/object", []byte("payload"), nil)
				} else {
					_, _, err = cl.list(ctx, "", true, "", 100)
				}
				if errCode(err) != c.code {
					t.Fatalf("code %q (%v), want %q", errCode(err), err, c.code)
				}
				_, stored := e.srv.Object(bucket, "auth/object")
				if stored != (c.upload && c.code == "") {
					t.Errorf("object stored: %v", stored)
				}
				if c.code != "" && e.srv.Operations()["Rejected"] == 0 {
					t.Errorf("no request counted as Rejected: %v", e.srv.Operations())
				}
			})
		}
	}
}

// TestPresigned uses SigV4 presigned URLs of both clients with a plain HTTP
// client, and checks expiry and tampering.
func TestPresigned(t *testing.T) {
	type presigner struct {
		name     string
		put, get func(t *testing.T, e *env, key string, ttl time.Duration) string
	}
	minioURL := func(st style, method string) func(t *testing.T, e *env, key string, ttl time.Duration) string {
		return func(t *testing.T, e *env, key string, ttl time.Duration) string {
			c := e.minioClient(t, st)
			u, err := c.Presign(context.Background(), method, bucket, key, ttl, nil)
			if err != nil {
				t.Fatalf("Presign %s: %v", method, err)
			}
			return u.String()
		}
	}
	awsURL := func(st style, method string) func(t *testing.T, e *env, key string, ttl time.Duration) string {
		return func(t *testing.T, e *env, key string, ttl time.Duration) string {
			pc := s3.NewPresignClient(e.awsClient(t, st), s3.WithPresignExpires(ttl))
			ctx := context.Background()
			var out *v4.PresignedHTTPRequest
			var err error
			if method == http.MethodPut {
				out, err = pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			} else {
				out, err = pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			}
			if err != nil {
				t.Fatalf("Presign %s: %v", method, err)
			}
			for h := range out.SignedHeader {
				if !strings.EqualFold(h, "host") {
					t.Fatalf("presigned %s needs header %s besides host", method, h)
				}
			}
			return out.URL
		}
	}
	var presigners []presigner
	for _, st := range []style{pathStyle, virtualStyle} {
		presigners = append(presigners,
			presigner{"minio-go/" + string(st), minioURL(st, http.MethodPut), minioURL(st, http.MethodGet)},
			presigner{"aws-sdk-go-v2/" + string(st), awsURL(st, http.MethodPut), awsURL(st, http.MethodGet)})
	}
	for _, p := range presigners {
		t.Run(p.name, func(t *testing.T) {
			e := newEnv(t)
			putURL := p.put(t, e, "shared/file.txt", 10*time.Minute)
			if !strings.Contains(putURL, "X-Amz-Signature=") {
				t.Fatalf("not a SigV4 presigned URL: %s", putURL)
			}
			if resp, body := e.httpDo(t, http.MethodPut, putURL, "presigned content"); resp.StatusCode != 200 {
				t.Fatalf("presigned PUT: %d %s", resp.StatusCode, body)
			}
			getURL := p.get(t, e, "shared/file.txt", 10*time.Minute)
			if resp, body := e.httpDo(t, http.MethodGet, getURL, ""); resp.StatusCode != 200 || body != "presigned content" {
				t.Fatalf("presigned GET: %d %q", resp.StatusCode, body)
			}
			if n := e.srv.S3Payloads()["presigned"]; n != 2 {
				t.Errorf("presigned requests = %d, want 2", n)
			}
			tampered := strings.Replace(getURL, "shared/file.txt", "shared/other.txt", 1)
			if resp, body := e.httpDo(t, http.MethodGet, tampered, ""); resp.StatusCode != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
				t.Errorf("URL for another key: %d %s", resp.StatusCode, body)
			}
			e.clock.shift(11 * time.Minute)
			if resp, body := e.httpDo(t, http.MethodGet, getURL, ""); resp.StatusCode != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") || !strings.Contains(body, "Request has expired") {
				t.Errorf("expired URL: %d %s", resp.StatusCode, body)
			}
		})
	}
}

// TestRegionInScope: OSS takes the signature in whatever region the client
// scoped it (Alibaba's AWS SDK examples use cn-hangzhou and aws-global), and a
// minio-go client without a region discovers it with GetBucketLocation.
func TestRegionInScope(t *testing.T) {
	for _, r := range []string{"cn-hangzhou", "oss-cn-hangzhou", "us-east-1"} {
		t.Run("aws/"+r, func(t *testing.T) {
			e := newEnv(t)
			c := awsClient{e.awsClient(t, virtualStyle, func(o *clientOpts) { o.region = r })}
			if _, err := c.put(context.Background(), "region/object", []byte("x"), nil); err != nil {
				t.Errorf("put signed for %s: %v", r, err)
			}
		})
	}
	t.Run("minio without region", func(t *testing.T) {
		e := newEnv(t)
		c := e.minioClient(t, pathStyle, func(o *clientOpts) { o.region = "" })
		if _, err := c.PutObject(context.Background(), bucket, "region/object", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		if n := e.srv.Operations()["GetBucketLocation"]; n != 1 {
			t.Errorf("GetBucketLocation requests = %d, want 1", n)
		}
	})
}

// TestRAMPolicy holds S3 requests to the caller's RAM policy with the OSS
// actions: here uploads and reads are allowed, deletes are not.
func TestRAMPolicy(t *testing.T) {
	policy, err := ram.Parse([]byte(`{"Version":"1","Statement":[{"Effect":"Allow",
		"Action":["oss:PutObject","oss:GetObject","oss:ListObjects"],
		"Resource":["acs:oss:*:*:velero-backups","acs:oss:*:*:velero-backups/*"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, cc := range clientCases {
		t.Run(cc.name, func(t *testing.T) {
			e := newEnv(t, func(c *oss.Config) { c.Policy = policy })
			c := cc.make(t, e)
			ctx := context.Background()
			if _, err := c.put(ctx, "ram/object", []byte("data"), nil); err != nil {
				t.Fatalf("allowed put: %v", err)
			}
			if got, err := c.get(ctx, "ram/object", 0, -1); err != nil || string(got) != "data" {
				t.Fatalf("allowed get: %q, %v", got, err)
			}
			if err := c.remove(ctx, "ram/object"); errCode(err) != "AccessDenied" {
				t.Errorf("denied delete: code %q (%v)", errCode(err), err)
			}
			if err := c.removeMany(ctx, []string{"ram/object"}); errCode(err) != "AccessDenied" {
				t.Errorf("denied DeleteObjects: code %q (%v)", errCode(err), err)
			}
			if _, ok := e.srv.Object(bucket, "ram/object"); !ok {
				t.Error("a denied delete removed the object")
			}
			if n := e.srv.Operations()["Denied"]; n != 2 {
				t.Errorf("Denied = %d, want 2", n)
			}
		})
	}
}
