package oss

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
)

// TestS3SignatureReferenceExample verifies the "Example: GET Object" request
// of the AWS S3 API reference ("Signature Calculations for the Authorization
// Header: Transferring Payload in a Single Chunk"), whose signature AWS
// publishes, and the same request with one signed header changed.
func TestS3SignatureReferenceExample(t *testing.T) {
	signed := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	srv, err := New(Config{
		Auth:    auth.NewStore(auth.Credential{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", AccessKeySecret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}),
		DataDir: t.TempDir(), Buckets: []string{"examplebucket"},
		Now: func() time.Time { return signed.Add(time.Minute) },
	})
	if err != nil {
		t.Fatal(err)
	}
	const authz = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	for _, c := range []struct {
		name, rng string
		status    int
		code      string
	}{
		// Authenticated: the bucket exists, the object does not.
		{"as published", "bytes=0-9", 404, "NoSuchKey"},
		{"range changed", "bytes=0-10", 403, "SignatureDoesNotMatch"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt", nil)
			r.Header.Set("Authorization", authz)
			r.Header.Set("Range", c.rng)
			r.Header.Set("x-amz-content-sha256", emptySHA256)
			r.Header.Set("x-amz-date", "20130524T000000Z")
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			if w.Code != c.status || !strings.Contains(w.Body.String(), "<Code>"+c.code+"</Code>") {
				t.Errorf("%d %s, want %d %s", w.Code, w.Body.String(), c.status, c.code)
			}
			if w.Header().Get("x-amz-request-id") == "" {
				t.Error("no x-amz-request-id")
			}
		})
	}
}

func TestS3Escape(t *testing.T) {
	for _, c := range []struct {
		in   string
		path bool
		want string
	}{
		{"/bucket/a b+c", true, "/bucket/a%20b%2Bc"},
		{"a/b~_.-", false, "a%2Fb~_.-"},
		{"ключ", true, "%D0%BA%D0%BB%D1%8E%D1%87"},
	} {
		if got := s3Escape(c.in, c.path); got != c.want {
			t.Errorf("s3Escape(%q, %v) = %q, want %q", c.in, c.path, got, c.want)
		}
	}
}
