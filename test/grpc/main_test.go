// Package grpc_test drives the built plugin binary through Velero's own
// plugin client over gRPC, the path the Velero server takes, against the
// local Alibaba Cloud emulators.
package grpc_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/plugintest"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	emuoss "github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/oss"
)

const (
	region    = "cn-hangzhou"
	bucket    = "velero-grpc"
	keyID     = "LTAIgrpctestkey0001"
	keySecret = "GrpcSecretMustNotLeak0123456789"
)

func TestMain(m *testing.M) { plugintest.Main(m) }

// credentialsFile holds the test key, as Velero mounts a location's
// credential secret for the plugin.
func credentialsFile(t *testing.T) string {
	return testutil.CredentialsFile(t, keyID, keySecret, "")
}

// startOSS serves an OSS emulator on loopback that accepts only the test key.
func startOSS(t *testing.T) (*emuoss.Server, string) {
	t.Helper()
	emu, err := emuoss.New(emuoss.Config{
		Auth:    auth.NewStore(auth.Credential{AccessKeyID: keyID, AccessKeySecret: keySecret}),
		DataDir: t.TempDir(), Buckets: []string{bucket}, Region: region,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return emu, srv.URL
}

// assertNoSecret fails when the plugin's logs mention the key secret.
func assertNoSecret(t *testing.T, log *plugintest.Log, texts ...string) {
	t.Helper()
	for _, s := range append(texts, log.String()) {
		if strings.Contains(s, keySecret) {
			t.Fatalf("the key secret appears in plugin output: %q", s)
		}
	}
}
