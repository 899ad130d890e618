// Package testutil holds the small test helpers the plugin packages share.
package testutil

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"
)

// Log collects log output that arrives from several goroutines (the SDKs'
// retries, the plugin's workers, go-plugin's log forwarding), so tests can
// check what was logged and that no secret was.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger returns a debug-level logger writing to l.
func (l *Log) Logger() *logrus.Logger {
	log := logrus.New()
	log.SetOutput(l)
	log.SetLevel(logrus.DebugLevel)
	return log
}

// CredentialsFile writes a credentials file in the upstream plugin's dotenv
// format, as Velero mounts it from a location's credential secret, and
// returns its path. token is left out when empty.
func CredentialsFile(t testing.TB, id, secret, token string) string {
	t.Helper()
	content := "ALIBABA_CLOUD_ACCESS_KEY_ID=" + id + "\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + secret + "\n"
	if token != "" {
		content += "ALIBABA_CLOUD_SECURITY_TOKEN=" + token + "\n"
	}
	p := filepath.Join(t.TempDir(), "cloud")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// CheckConfigKeys checks that keys are exactly the config keys parse
// accepts: each one set (empty, that is unset) on top of base passes, and
// the unknown-key error lists the same keys.
func CheckConfigKeys(t *testing.T, keys []string, base map[string]string, parse func(map[string]string) error) {
	t.Helper()
	if len(keys) == 0 {
		t.Fatal("no config keys")
	}
	for _, key := range keys {
		cfg := maps.Clone(base)
		if _, set := cfg[key]; !set {
			cfg[key] = ""
		}
		if err := parse(cfg); err != nil {
			t.Errorf("config with %s set: %v", key, err)
		}
	}
	cfg := maps.Clone(base)
	cfg["no-such-key"] = "x"
	if err := parse(cfg); err == nil || !strings.HasSuffix(err.Error(), "valid keys are: "+strings.Join(keys, ", ")) {
		t.Errorf("unknown-key error %v does not list the keys %q", err, keys)
	}
}
