package objectstore

import (
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

func TestParseConfigRejectsBadConfig(t *testing.T) {
	base := func(kv ...string) map[string]string {
		cfg := map[string]string{"region": "cn-hangzhou", "bucket": "velero"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<unset>" {
				delete(cfg, kv[i])
				continue
			}
			cfg[kv[i]] = kv[i+1]
		}
		return cfg
	}
	tests := []struct {
		name string
		cfg  map[string]string
		want []string // substrings of the error
	}{
		{"unknown key", base("s3ForcePathStyle", "true"), []string{`"s3ForcePathStyle"`, "valid keys are", "serverSideEncryption"}},
		{"bad network", base("network", "vpc"), []string{"network", `"vpc"`, "internal, public, accelerate"}},
		{"missing region", base("region", "<unset>"), []string{"region is required", "endpoint"}},
		{"bad region", base("region", "Hangzhou"), []string{"region", `"Hangzhou"`, "cn-hangzhou"}},
		{"custom endpoint without region for v4", base("region", "<unset>", "endpoint", "https://oss.example.com"), []string{"region is required", "V4", "signatureVersion: v1"}},
		{"endpoint with path", base("endpoint", "https://oss.example.com/bucket"), []string{"endpoint", "without a path"}},
		{"endpoint with bad scheme", base("endpoint", "ftp://oss.example.com"), []string{"endpoint", "not a valid endpoint"}},
		{"publicEndpoint with query", base("publicEndpoint", "https://oss.example.com/?a=b"), []string{"publicEndpoint"}},
		{"bad sse", base("serverSideEncryption", "aes256"), []string{"serverSideEncryption", "AES256, KMS, SM4"}},
		{"kmsKeyId without KMS", base("kmsKeyId", "key-1"), []string{"kmsKeyId", "serverSideEncryption: KMS"}},
		{"kmsKeyId with AES256", base("serverSideEncryption", "AES256", "kmsKeyId", "key-1"), []string{"kmsKeyId", `"AES256"`}},
		{"archive storage class", base("storageClass", "Archive"), []string{"storageClass", "Archive", "restored", "Standard or IA"}},
		{"cold archive storage class", base("storageClass", "ColdArchive"), []string{"storageClass", "ColdArchive", "restored"}},
		{"deep cold archive storage class", base("storageClass", "DeepColdArchive"), []string{"storageClass", "DeepColdArchive"}},
		{"unknown storage class", base("storageClass", "Glacier"), []string{"storageClass", "Standard, IA"}},
		{"bad signature version", base("signatureVersion", "v2"), []string{"signatureVersion", "v4, v1"}},
		{"part size too small", base("partSize", "1024"), []string{"partSize", "100Ki", "5Gi"}},
		{"part size too big", base("partSize", "6Gi"), []string{"partSize", "5Gi"}},
		{"part size garbage", base("partSize", "16MB"), []string{"partSize", `"16MB"`}},
		{"part size negative", base("partSize", "-5Mi"), []string{"partSize"}},
		{"concurrency zero", base("uploadConcurrency", "0"), []string{"uploadConcurrency", "from 1 to 64"}},
		{"concurrency too big", base("uploadConcurrency", "65"), []string{"uploadConcurrency"}},
		{"concurrency not a number", base("uploadConcurrency", "four"), []string{"uploadConcurrency"}},
		{"s3Url with path", base("s3Url", "https://oss-cn-hangzhou.aliyuncs.com/bucket"), []string{"s3Url", "without a path"}},
		{"s3Url without scheme", base("s3Url", "oss-cn-hangzhou.aliyuncs.com"), []string{"s3Url", "http(s)://"}},
		{"caCert not PEM", base("caCert", "not a certificate"), []string{"caCert", "PEM"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.cfg)
			if err == nil {
				t.Fatalf("parseConfig(%v) succeeded; want an error", tc.cfg)
			}
			if !strings.HasPrefix(err.Error(), "BackupStorageLocation config: ") {
				t.Errorf("error %q does not say which config it is about", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseConfigEndpoints(t *testing.T) {
	tests := []struct {
		name       string
		cfg        map[string]string
		endpoint   string
		region     string
		pathStyle  bool
		v4         bool
		publicSign string
	}{
		{"default is public", map[string]string{"region": "cn-hangzhou"}, "https://oss-cn-hangzhou.aliyuncs.com", "cn-hangzhou", false, true, ""},
		{"internal", map[string]string{"region": "cn-beijing", "network": "internal"}, "https://oss-cn-beijing-internal.aliyuncs.com", "cn-beijing", false, true, ""},
		{"accelerate", map[string]string{"region": "ap-southeast-1", "network": "accelerate"}, "https://oss-accelerate.aliyuncs.com", "ap-southeast-1", false, true, ""},
		{"custom endpoint overrides network", map[string]string{"region": "cn-hangzhou", "network": "internal", "endpoint": "oss.example.com:8443"}, "https://oss.example.com:8443", "cn-hangzhou", false, true, ""},
		{"region from aliyun endpoint", map[string]string{"endpoint": "oss-cn-shanghai-internal.aliyuncs.com"}, "https://oss-cn-shanghai-internal.aliyuncs.com", "cn-shanghai", false, true, ""},
		{"region from region-first endpoint", map[string]string{"endpoint": "cn-qingdao.oss.aliyuncs.com"}, "https://cn-qingdao.oss.aliyuncs.com", "cn-qingdao", false, true, ""},
		{"IP endpoint is path style", map[string]string{"region": "cn-hangzhou", "endpoint": "http://10.0.0.5:9000"}, "http://10.0.0.5:9000", "cn-hangzhou", true, true, ""},
		{"localhost is path style", map[string]string{"region": "cn-hangzhou", "endpoint": "http://localhost:9000"}, "http://localhost:9000", "cn-hangzhou", true, true, ""},
		{"v1 needs no region", map[string]string{"endpoint": "http://oss.private.example.com", "signatureVersion": "v1"}, "http://oss.private.example.com", "", false, false, ""},
		{"public endpoint for signing (path style checked separately)", map[string]string{"region": "cn-hangzhou", "network": "internal", "publicEndpoint": "oss-cn-hangzhou.aliyuncs.com"}, "https://oss-cn-hangzhou-internal.aliyuncs.com", "cn-hangzhou", false, true, "https://oss-cn-hangzhou.aliyuncs.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseConfig(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if s.endpoint != tc.endpoint || s.region != tc.region || s.pathStyle != tc.pathStyle || s.v4 != tc.v4 || s.publicEndpoint != tc.publicSign {
				t.Errorf("got endpoint=%q region=%q pathStyle=%v v4=%v publicEndpoint=%q; want %q %q %v %v %q",
					s.endpoint, s.region, s.pathStyle, s.v4, s.publicEndpoint, tc.endpoint, tc.region, tc.pathStyle, tc.v4, tc.publicSign)
			}
		})
	}
}

func TestParseConfigValues(t *testing.T) {
	s, err := parseConfig(map[string]string{
		"region": "cn-hangzhou", "bucket": "b", "prefix": "p", "credentialsFile": "/tmp/x",
		"partSize": "32Mi", "uploadConcurrency": "8", "s3Url": "https://oss-cn-hangzhou-internal.aliyuncs.com", "serverSideEncryption": "KMS", "kmsKeyId": "k1", "storageClass": "IA",
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.partSize != 32<<20 || s.concurrency != 8 || s.sse != "KMS" || s.kmsKeyID != "k1" || s.storageClass != "IA" || s.credentialsFile != "/tmp/x" {
		t.Errorf("unexpected settings %+v", s)
	}
	p, err := parseConfig(map[string]string{"region": "cn-hangzhou", "publicEndpoint": "http://localhost:9000"})
	if err != nil || !p.publicPathStyle || p.pathStyle {
		t.Errorf("publicEndpoint localhost: publicPathStyle=%v pathStyle=%v err=%v; want true false nil", p.publicPathStyle, p.pathStyle, err)
	}
	d, err := parseConfig(map[string]string{"region": "cn-hangzhou"})
	if err != nil {
		t.Fatal(err)
	}
	if d.partSize != defaultPartSize || d.concurrency != defaultConcurrency || !d.v4 {
		t.Errorf("defaults: got partSize=%d concurrency=%d v4=%v", d.partSize, d.concurrency, d.v4)
	}
	for in, want := range map[string]int64{"102400": 102400, "100Ki": 100 << 10, "5Gi": 5 << 30, " 64Mi ": 64 << 20} {
		got, err := parseSize("partSize", in, 0, minPartSize, maxPartSize)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// Init rejects bad config before it builds anything.
func TestInitRejectsUnknownKey(t *testing.T) {
	o := NewObjectStore(logrus.New())
	err := o.Init(map[string]string{"region": "cn-hangzhou", "insecureSkipTLSVerify": "true"})
	if err == nil || !strings.Contains(err.Error(), `"insecureSkipTLSVerify"`) {
		t.Fatalf("Init error = %v; want one naming insecureSkipTLSVerify", err)
	}
	if _, err := o.ListObjects("velero", ""); err == nil || !strings.Contains(err.Error(), "not initialized") {
		t.Errorf("ListObjects after failed Init: %v; want a not-initialized error", err)
	}
}

// ConfigKeys lists exactly the keys parseConfig accepts: each one passes
// (an empty value is unset), and the unknown-key error lists the same.
func TestConfigKeys(t *testing.T) {
	keys := ConfigKeys()
	for _, want := range []string{keyBucket, keyPrefix, keyCACert, keyS3URL, keyRegion} {
		if !slices.Contains(keys, want) {
			t.Errorf("ConfigKeys() = %q lacks %q", keys, want)
		}
	}
	testutil.CheckConfigKeys(t, keys, map[string]string{"region": "cn-hangzhou"}, func(cfg map[string]string) error {
		_, err := parseConfig(cfg)
		return err
	})
}
