package objectstore

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	emuoss "github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/oss"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ram"
)

// createBucket makes a bucket of the given default storage class through the
// real SDK's PutBucket (CreateBucketConfiguration), as a user would.
func (e *env) createBucket(name string, class oss.StorageClassType) {
	e.t.Helper()
	c, err := oss.New(e.srv.URL, testKeyID, testSecret, oss.AuthVersion(oss.AuthV4), oss.Region(testRegion))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := c.CreateBucket(name, oss.StorageClass(class)); err != nil {
		e.t.Fatalf("CreateBucket(%s, %s): %v", name, class, err)
	}
}

// logLines returns the lines of the log that contain every one of subs.
func logLines(log string, subs ...string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if l != "" && containsAll(l, subs...) {
			out = append(out, l)
		}
	}
	return out
}

// Init warns when the bucket's default storage class would archive Velero's
// objects and storageClass does not override it, and only then.
func TestInitWarnsAboutArchiveBucket(t *testing.T) {
	cases := []struct {
		name         string
		class        oss.StorageClassType
		storageClass string // the location's config
		warn         bool
		bucketInfo   int64 // GetBucketInfo requests Init makes
	}{
		{"archive bucket", oss.StorageArchive, "", true, 1},
		{"cold archive bucket", oss.StorageColdArchive, "", true, 1},
		{"deep cold archive bucket", oss.StorageDeepColdArchive, "", true, 1},
		{"archive bucket, storageClass Standard", oss.StorageArchive, "Standard", false, 0},
		{"archive bucket, storageClass IA", oss.StorageArchive, "IA", false, 0},
		{"standard bucket", oss.StorageStandard, "", false, 1},
		{"ia bucket", oss.StorageIA, "", false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			const bucket = "class-test"
			e.createBucket(bucket, c.class)
			var o *ObjectStore
			ops := e.opsDelta(func() { o = e.store("bucket", bucket, "storageClass", c.storageClass) })
			if ops["GetBucketInfo"] != c.bucketInfo {
				t.Errorf("Init made %d GetBucketInfo requests; want %d", ops["GetBucketInfo"], c.bucketInfo)
			}
			log := e.logs.String()
			warnings := logLines(log, "level=warning")
			if !c.warn {
				if len(warnings) != 0 {
					t.Errorf("warnings logged: %q; want none", warnings)
				}
			} else {
				want := []string{"level=warning", `bucket \"class-test\"`, string(c.class),
					"must be restored in OSS before Velero can read them", "set storageClass: Standard or IA in the BackupStorageLocation config"}
				if got := logLines(log, want...); len(got) != 1 || len(warnings) != 1 {
					t.Errorf("log:\n%s\nwant one warning with %q", log, want)
				}
			}

			// What the warning is about: an object written without
			// storageClass gets the bucket's class, and OSS will not
			// read it back.
			if err := o.PutObject(bucket, "backups/b1/velero-backup.json", strings.NewReader("{}")); err != nil {
				t.Fatal(err)
			}
			rc, err := o.GetObject(bucket, "backups/b1/velero-backup.json")
			if err == nil {
				rc.Close()
			}
			if unreadable := err != nil && strings.Contains(err.Error(), "InvalidObjectState"); unreadable != c.warn {
				t.Errorf("GetObject after Init = %v; unreadable %v, want %v (as warned)", err, unreadable, c.warn)
			}
		})
	}
}

// policyWithout is examples/ram-policy.json for bucket without action: the
// policy of a user who attached an older version of it.
func policyWithout(t *testing.T, bucket, action string) *ram.Policy {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", "ram-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   string
		Statement []map[string]any
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	removed := false
	for _, st := range doc.Statement {
		var kept []any
		for _, a := range st["Action"].([]any) {
			if a == action {
				removed = true
				continue
			}
			kept = append(kept, a)
		}
		st["Action"] = kept
	}
	if !removed {
		t.Fatalf("examples/ram-policy.json does not grant %s", action)
	}
	out, _ := json.Marshal(doc)
	p, err := ram.Parse([]byte(strings.ReplaceAll(string(out), "acs:oss:*:*:velero-backups", "acs:oss:*:*:"+bucket)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Init succeeds when the check cannot run, saying why in one info line that
// holds no secret: a RAM policy without oss:GetBucketInfo, an OSS fault.
func TestInitToleratesBucketInfoFailure(t *testing.T) {
	cases := []struct {
		name   string
		policy bool
		faults fault.Config
		want   []string
	}{
		{"RAM policy without oss:GetBucketInfo", true, fault.Config{Seed: 1},
			[]string{"level=info", "storage class of the bucket not checked", "OSS AccessDenied (HTTP 403", "the credentials lack oss:GetBucketInfo, which only this check needs"}},
		{"OSS answers 500", false, fault.Config{ErrorRate: 1, Seed: 1},
			[]string{"level=info", "storage class of the bucket not checked", "OSS InternalError (HTTP 500"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &env{t: t, auth: auth.NewStore(auth.Credential{AccessKeyID: testKeyID, AccessKeySecret: testSecret}),
				faults: fault.New(c.faults), logs: &testutil.Log{}}
			cfg := emuoss.Config{Auth: e.auth, DataDir: t.TempDir(), Buckets: []string{testBucket}, Region: testRegion, Faults: e.faults}
			if c.policy {
				cfg.Policy = policyWithout(t, testBucket, "oss:GetBucketInfo")
			}
			emu, err := emuoss.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			e.emu = emu
			e.srv = httptest.NewServer(emu)
			t.Cleanup(e.srv.Close)
			o, err := e.tryStore()
			if err != nil {
				t.Fatalf("Init = %v; want success without the storage class check", err)
			}
			log := e.logs.String()
			if got := logLines(log, c.want...); len(got) != 1 {
				t.Errorf("log:\n%s\nwant one line with %q", log, c.want)
			}
			if n := len(logLines(log, "not checked")); n != 1 {
				t.Errorf("%d lines say the check did not run; want 1", n)
			}
			if len(logLines(log, "level=warning")) != 0 || strings.Contains(log, testSecret) {
				t.Errorf("log has a warning or the secret:\n%s", log)
			}
			if c.policy {
				// The rest of the policy still works.
				if err := o.PutObject(testBucket, "k", strings.NewReader("v")); err != nil {
					t.Errorf("PutObject under the policy: %v", err)
				}
			}
		})
	}
}

// An endpoint that does not answer holds Init up for bucketInfoTimeout at
// most and does not fail it.
func TestInitToleratesSlowBucketInfo(t *testing.T) {
	defer func(d time.Duration) { bucketInfoTimeout = d }(bucketInfoTimeout)
	bucketInfoTimeout = 300 * time.Millisecond
	e := newEnv(t)
	e.faults.Set(fault.Config{DelayRate: 1, Delay: time.Minute, Seed: 1})
	done := make(chan error, 1)
	go func() { _, err := e.tryStore(); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Init = %v; want success", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Init still waits for GetBucketInfo after 30 s; want it to give up after bucketInfoTimeout")
	}
	if got := logLines(e.logs.String(), "level=info", "storage class of the bucket not checked"); len(got) != 1 {
		t.Errorf("log:\n%s\nwant one line saying the check did not run", e.logs.String())
	}
}

// Without s3Url, Init says once, at info level, that Velero's file-system
// backup and data mover cannot use the location, with the s3Url to add.
func TestInitReportsMissingS3URL(t *testing.T) {
	cases := []struct {
		name string
		kv   []string
		want []string // nil: no line
	}{
		{"unset", nil, []string{"level=info", "s3Url is not set: Velero's file-system backup and data mover cannot store volume data in this location",
			"add s3Url: https://s3.oss-cn-hangzhou-internal.aliyuncs.com (https://s3.oss-cn-hangzhou.aliyuncs.com outside the region's VPC)"}},
		{"region of the location", []string{"region", "cn-beijing"}, []string{"https://s3.oss-cn-beijing-internal.aliyuncs.com"}},
		{"set", []string{"s3Url", "https://oss-cn-hangzhou-internal.aliyuncs.com"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.store(c.kv...)
			log := e.logs.String()
			all := logLines(log, "s3Url is not set")
			if c.want == nil {
				if len(all) != 0 {
					t.Errorf("log has %q; want no s3Url line", all)
				}
				return
			}
			if got := logLines(log, c.want...); len(got) != 1 || len(all) != 1 {
				t.Errorf("log:\n%s\nwant one line with %q", log, c.want)
			}
			if slices.ContainsFunc(all, func(l string) bool { return strings.Contains(l, "level=warning") }) {
				t.Errorf("s3Url line is a warning: %q", all)
			}
		})
	}
}

// The AccessDenied hint of a KMS location names the KMS actions OSS's
// server-side encryption guide lists: data key and decryption always, the
// key's Describe and List actions only for a key named by kmsKeyId.
func TestKMSAccessDeniedHint(t *testing.T) {
	keyActions := []string{"kms:DescribeKey", "kms:ListKeys", "kms:ListAliases", "kms:ListAliasesByKeyId"}
	cases := []struct {
		name, sse, keyID string
		want, not        []string
	}{
		{"named key", "KMS", "key-1", append([]string{"kms:GenerateDataKey and kms:Decrypt on key key-1", "for a key named by kmsKeyId"}, keyActions...), nil},
		{"default key", "KMS", "", []string{"kms:GenerateDataKey and kms:Decrypt on the region's default OSS key"}, keyActions},
		{"no KMS", "AES256", "", []string{"oss:PutObject"}, []string{"kms:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := &ObjectStore{cfg: &settings{endpoint: "https://oss-cn-beijing-internal.aliyuncs.com", sse: c.sse, kmsKeyID: c.keyID}}
			msg := o.wrapError("put", "velero", "k", oss.ServiceError{StatusCode: 403, Code: "AccessDenied"}).Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("hint %q lacks %q", msg, w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(msg, n) {
					t.Errorf("hint %q names %q", msg, n)
				}
			}
		})
	}
}
