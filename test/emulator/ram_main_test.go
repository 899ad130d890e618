package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// TestRAMPolicyFlag: -ram-policy holds the key to the bundle's policy file;
// the SDK's calls inside it work, the others get OSS's RAM refusal.
func TestRAMPolicyFlag(t *testing.T) {
	bin := buildEmulator(t)
	policy, err := filepath.Abs("../../examples/ram-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	_, url, _ := start(t, bin, "-access-key-id", "AK", "-access-key-secret", "SK", "-oss-addr", "127.0.0.1:0",
		"-bucket", "velero-backups,other-bucket", "-region", "cn-hangzhou", "-ram-policy", policy)
	client, err := sdk.New(url, "AK", "SK", sdk.Region("cn-hangzhou"), sdk.AuthVersion(sdk.AuthV4))
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.Bucket("velero-backups")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PutObject("backups/b1/velero-backup.json", bytes.NewReader([]byte("{}"))); err != nil {
		t.Fatalf("PutObject in the policy's bucket: %v", err)
	}
	if _, err := b.ListObjectsV2(sdk.Prefix("backups/")); err != nil {
		t.Fatalf("ListObjectsV2 in the policy's bucket: %v", err)
	}
	other, _ := client.Bucket("other-bucket")
	for what, err := range map[string]error{
		"PutObject in another bucket": other.PutObject("k", bytes.NewReader(nil)),
		"ListBuckets":                 func() error { _, err := client.ListBuckets(); return err }(),
	} {
		var se sdk.ServiceError
		if !errors.As(err, &se) || se.StatusCode != 403 || se.Code != "AccessDenied" {
			t.Errorf("%s: %v, want 403 AccessDenied", what, err)
		}
	}
}

func TestRAMPolicyFlagRefusesBadFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(bad, []byte(`{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"-access-key-id", "AK", "-access-key-secret", "SK", "-oss-addr", "127.0.0.1:0", "-ram-policy", bad})
	if err == nil || !strings.Contains(err.Error(), "Resource") {
		t.Fatalf("run with a policy without Resource = %v, want an error naming Resource", err)
	}
}
