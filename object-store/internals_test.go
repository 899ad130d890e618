package objectstore

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"math/rand"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

func TestScrubRemovesSignaturesAndTokens(t *testing.T) {
	const sig, tok = "c2lnbmF0dXJlc2VjcmV0", "STS.tokenvalue123"
	in := []string{
		"GET https://b.oss-cn-hangzhou.aliyuncs.com/k?Expires=1&OSSAccessKeyId=AK&Signature=" + sig + "&security-token=" + tok,
		"https://b.oss.example.com/k?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=AK%2F20240101%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-signature=" + sig + "&x-oss-security-token=" + tok,
		"Authorization: OSS4-HMAC-SHA256 Credential=AK/20240101/cn-hangzhou/oss/aliyun_v4_request,AdditionalHeaders=host,Signature=" + sig,
		"Authorization: OSS AK:" + sig,
		"<Error><Code>SignatureDoesNotMatch</Code><StringToSign>PUT\n\n" + sig + "</StringToSign><SignatureProvided>" + sig + "</SignatureProvided></Error>",
	}
	for _, s := range in {
		out := scrub(s)
		if strings.Contains(out, sig) || strings.Contains(out, tok) {
			t.Errorf("scrub(%q) = %q still holds a secret", s, out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("scrub(%q) = %q marks nothing", s, out)
		}
	}
	if got := scrub("put object \"a/b\": HTTP 500"); got != "put object \"a/b\": HTTP 500" {
		t.Errorf("scrub changed harmless text: %q", got)
	}
}

func TestCombineCRCMatchesWholeObject(t *testing.T) {
	data := make([]byte, 1<<20+12345)
	rand.New(rand.NewSource(1)).Read(data)
	var combined uint64
	for _, n := range []int{0, 300000, 1, 0, 400000, len(data) - 700001} {
		part := data[:n]
		data = data[n:]
		combined = combineCRC(combined, checksum(part), int64(n))
	}
	whole := make([]byte, 1<<20+12345)
	rand.New(rand.NewSource(1)).Read(whole)
	if want := crc64.Checksum(whole, crc64.MakeTable(crc64.ECMA)); combined != want {
		t.Fatalf("combined CRC %d != whole-object CRC %d", combined, want)
	}
}

func TestIsTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{oss.ServiceError{StatusCode: 503, Code: "ServiceUnavailable"}, true},
		{oss.ServiceError{StatusCode: 500, Code: "InternalError"}, true},
		{oss.ServiceError{StatusCode: 400, Code: "RequestTimeout"}, true},
		{oss.ServiceError{StatusCode: 429}, true},
		{oss.ServiceError{StatusCode: 403, Code: "AccessDenied"}, false},
		{oss.ServiceError{StatusCode: 403, Code: "SignatureDoesNotMatch"}, false},
		{oss.ServiceError{StatusCode: 403, Code: "InvalidAccessKeyId"}, false},
		{oss.ServiceError{StatusCode: 403, Code: "RequestTimeTooSkewed"}, false},
		{oss.ServiceError{StatusCode: 404, Code: "NoSuchBucket"}, false},
		{fmt.Errorf("wrapped: %w", syscall.ECONNRESET), true},
		{io.ErrUnexpectedEOF, true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{&net.DNSError{Err: "no such host", IsNotFound: true}, false},
		{errors.New("oss: service returned invalid response body, status = 502 Bad Gateway, RequestId = x"), true},
		{&crcError{transient: true}, true},
		{&crcError{}, false},
		{errors.New("oss: object name is empty"), false},
	}
	for _, tc := range tests {
		if got := isTransient(tc.err); got != tc.want {
			t.Errorf("isTransient(%v) = %v; want %v", tc.err, got, tc.want)
		}
	}
}

// oneByteReader hides the length of its data and returns it a byte at a time.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func TestReadPart(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 30000) // 300,000 bytes
	r := oneByteReader{bytes.NewReader(data)}
	first, err := readPart(r, nil, 200000)
	if err != nil || !bytes.Equal(first, data[:200000]) || cap(first) != 200000 {
		t.Fatalf("first part: len=%d cap=%d err=%v", len(first), cap(first), err)
	}
	second, err := readPart(r, make([]byte, 0, 200000), 200000)
	if err != io.EOF || !bytes.Equal(second, data[200000:]) {
		t.Fatalf("second part: len=%d err=%v; want the last 100000 bytes and io.EOF", len(second), err)
	}
	boom := errors.New("boom")
	_, err = readPart(io.MultiReader(bytes.NewReader(data[:10]), errReader{boom}), nil, 100)
	if !errors.Is(err, boom) {
		t.Fatalf("read error = %v; want boom", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Errors OSS returns for things only the user can fix carry advice.
func TestHints(t *testing.T) {
	o := &ObjectStore{cfg: &settings{endpoint: "https://oss-cn-beijing-internal.aliyuncs.com"}}
	tests := []struct {
		se   oss.ServiceError
		want []string
	}{
		{oss.ServiceError{StatusCode: 403, Code: "AccessDenied"}, []string{"oss:PutObject", "oss:GetObject", "oss:ListObjects", "oss:DeleteObject", "oss:AbortMultipartUpload", "acs:oss:*:*:velero/*", "network"}},
		{oss.ServiceError{StatusCode: 403, Code: "SecondLevelDomainForbidden"}, []string{"network: public", "region"}},
		{oss.ServiceError{StatusCode: 404, Code: "NoSuchBucket"}, []string{`bucket "velero" does not exist`, "oss-cn-beijing-internal"}},
		{oss.ServiceError{StatusCode: 403, Code: "InvalidObjectState"}, []string{"archived", "Standard or IA"}},
		{oss.ServiceError{StatusCode: 403, Code: "SomethingNew"}, []string{"oss:PutObject"}},
	}
	kms := &ObjectStore{cfg: &settings{endpoint: "https://oss-cn-beijing-internal.aliyuncs.com", sse: "KMS", kmsKeyID: "key-1"}}
	if err := kms.wrapError("put", "velero", "k", oss.ServiceError{StatusCode: 403, Code: "AccessDenied"}).Error(); !strings.Contains(err, "kms:GenerateDataKey and kms:Decrypt on key key-1") || !strings.Contains(err, "oss:PutObject") {
		t.Errorf("AccessDenied with serverSideEncryption KMS: %q does not name the KMS actions on the key", err)
	}
	if err := o.wrapError("put", "velero", "k", oss.ServiceError{StatusCode: 403, Code: "AccessDenied"}).Error(); strings.Contains(err, "kms:") {
		t.Errorf("AccessDenied without KMS names KMS actions: %q", err)
	}
	for _, tc := range tests {
		err := o.wrapError("put", "velero", "k", tc.se)
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.se.Code, err, w)
			}
		}
		var se oss.ServiceError
		if !errors.As(err, &se) || se.Code != tc.se.Code {
			t.Errorf("%s: the OSS error is not reachable with errors.As", tc.se.Code)
		}
	}
	raw := oss.ServiceError{StatusCode: 403, Code: "SignatureDoesNotMatch", RawMessage: "<StringToSign>secret-ish</StringToSign>"}
	var se oss.ServiceError
	if err := o.wrapError("get", "velero", "k", raw); !errors.As(err, &se) || se.RawMessage != "" {
		t.Errorf("the wrapped error keeps the raw OSS body")
	}
}
