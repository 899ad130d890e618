// Package grpc_test drives the built plugin binary through Velero's own
// plugin client over gRPC, the path the Velero server takes, against the
// local Alibaba Cloud emulators.
package grpc_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/plugintest"
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

// credentialsFile writes the upstream plugin's dotenv format, as Velero
// mounts a location's credential secret for the plugin.
func credentialsFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cloud")
	content := "ALIBABA_CLOUD_ACCESS_KEY_ID=" + keyID + "\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + keySecret + "\n"
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
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
