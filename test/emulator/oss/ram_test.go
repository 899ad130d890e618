package oss_test

import (
	"bytes"
	"strings"
	"testing"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"

	emu "github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/oss"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ram"
)

func withPolicy(t *testing.T, doc string) func(*emu.Config) {
	t.Helper()
	p, err := ram.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return func(c *emu.Config) { c.Policy = p }
}

// TestRAMPolicyOSS runs the real SDK under a policy that allows writing and
// reading objects under backups/ only: everything else gets OSS's RAM
// refusal.
func TestRAMPolicyOSS(t *testing.T) {
	e := newEnv(t, withPolicy(t, `{"Version": "1", "Statement": [
		{"Effect": "Allow", "Action": ["oss:PutObject", "oss:GetObject"], "Resource": "acs:oss:*:*:`+testBucket+`/backups/*"},
		{"Effect": "Allow", "Action": "oss:DeleteObject", "Resource": "acs:oss:*:*:`+testBucket+`/*"},
		{"Effect": "Deny", "Action": "oss:DeleteObject", "Resource": "acs:oss:*:*:`+testBucket+`/backups/keep"}]}`))
	b := e.bucket(t)

	// Allowed: single PUT, multipart (authorized as oss:PutObject), GET, HEAD.
	put(t, b, "backups/a", []byte("hello"))
	imur, err := b.InitiateMultipartUpload("backups/big")
	if err != nil {
		t.Fatalf("InitiateMultipartUpload: %v", err)
	}
	part, err := b.UploadPart(imur, bytes.NewReader([]byte("part")), 4, 1)
	if err != nil {
		t.Fatalf("UploadPart: %v", err)
	}
	if _, err := b.CompleteMultipartUpload(imur, []sdk.UploadPart{part}); err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	if got := getAll(t, b, "backups/a"); string(got) != "hello" {
		t.Fatalf("GetObject = %q", got)
	}
	if _, err := b.GetObjectDetailedMeta("backups/a"); err != nil {
		t.Fatalf("HEAD: %v", err)
	}
	if err := b.DeleteObject("backups/a"); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}

	// Refused: an object outside backups/, and bucket-level actions the
	// policy lacks.
	err = b.PutObject("elsewhere", bytes.NewReader([]byte("x")))
	se := serviceErr(t, err, 403, "AccessDenied")
	if se.Message != "You have no right to access this object because of bucket acl." || se.Ec != "0003-00000001" {
		t.Errorf("PutObject refusal = %q (EC %s)", se.Message, se.Ec)
	}
	for _, want := range []string{"<NoPermissionType>ImplicitDeny</NoPermissionType>", "<AuthAction>oss:PutObject</AuthAction>"} {
		if !strings.Contains(se.RawMessage, want) {
			t.Errorf("refusal lacks %s:\n%s", want, se.RawMessage)
		}
	}
	_, err = b.ListObjectsV2(sdk.Prefix("backups/"))
	se = serviceErr(t, err, 403, "AccessDenied")
	if se.Message != "The bucket you access does not belong to you." || !strings.Contains(se.RawMessage, "oss:ListObjects") {
		t.Errorf("ListObjectsV2 refusal = %q\n%s", se.Message, se.RawMessage)
	}
	_, err = b.ListMultipartUploads()
	serviceErr(t, err, 403, "AccessDenied")
	if _, err := e.client(t).GetBucketInfo(testBucket); err == nil {
		t.Error("GetBucketInfo: want a refusal")
	}
	put(t, b, "backups/keep", []byte("k"))
	se = serviceErr(t, b.DeleteObject("backups/keep"), 403, "AccessDenied")
	if se.Ec != "0003-00000201" || !strings.Contains(se.RawMessage, "ExplicitDeny") {
		t.Errorf("explicit deny = %q (EC %s)", se.Message, se.Ec)
	}
	if _, ok := e.srv.Object(testBucket, "backups/keep"); !ok {
		t.Error("the denied DeleteObject deleted the object")
	}
	// A signed URL is authorized when it is used, as the GET it signs.
	u, err := b.SignURL("elsewhere", sdk.HTTPGet, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetObjectWithURL(u); err == nil {
		t.Error("GET through a signed URL outside backups/: want a refusal")
	}
	if n := e.srv.Operations()["Denied"]; n < 5 {
		t.Errorf("Operations()[Denied] = %d, want at least 5", n)
	}
}

// TestRAMPolicyOSSWildcards: oss:* on the bucket allows every operation.
func TestRAMPolicyOSSWildcards(t *testing.T) {
	e := newEnv(t, withPolicy(t, `{"Version": "1", "Statement": [
		{"Effect": "Allow", "Action": "oss:*", "Resource": ["acs:oss:*:*:`+testBucket+`", "acs:oss:*:*:`+testBucket+`/*"]}]}`))
	b := e.bucket(t)
	put(t, b, "k", []byte("v"))
	if _, err := b.ListObjectsV2(); err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	if _, err := b.ListMultipartUploads(); err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	// Another bucket is not covered.
	if err := e.srv.CreateBucket("other-bucket"); err != nil {
		t.Fatal(err)
	}
	other, err := e.client(t).Bucket("other-bucket")
	if err != nil {
		t.Fatal(err)
	}
	serviceErr(t, other.PutObject("k", bytes.NewReader([]byte("v"))), 403, "AccessDenied")
}
