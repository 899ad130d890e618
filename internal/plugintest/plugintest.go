// Package plugintest runs the built plugin binary the way the Velero server
// does: discovered in a plugin directory and driven over gRPC through
// Velero's own plugin client (clientmgmt). Tests that use it prove the
// plugin works across the process boundary, not only as a Go value.
package plugintest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

// BinaryName is the name Velero finds the plugin under in its plugin dir.
const BinaryName = "velero-plugin-for-alibabacloud"

var (
	buildOnce sync.Once
	pluginDir string
	buildErr  error
	buildLog  []byte
)

// Main is the TestMain of every package that uses Manager. Velero's registry
// also runs os.Args[0] with "run-plugins" to list the server's built-in
// plugins; in a test binary that would re-run the tests, so Main answers that
// call with an empty plugin server instead.
func Main(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "run-plugins" {
		framework.NewServer().Serve()
		os.Exit(0)
	}
	code := m.Run()
	if pluginDir != "" {
		os.RemoveAll(pluginDir)
	}
	os.Exit(code)
}

// Build compiles the plugin binary once per test binary and returns the
// directory that holds it.
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		pluginDir, buildErr = os.MkdirTemp("", "plugintest-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(pluginDir, BinaryName), ".")
		cmd.Dir = moduleRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		buildLog, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building the plugin binary: %v\n%s", buildErr, buildLog)
	}
	return pluginDir
}

// Manager returns Velero's plugin manager for the built binary, with its
// plugin processes stopped when the test ends. Logs of the plugin process are
// written to log (which may be nil: then to the test log), so tests can scan
// them for secrets.
func Manager(t testing.TB, log *Log) clientmgmt.Manager {
	t.Helper()
	dir := Build(t)
	logger := logrus.New()
	logger.SetLevel(logrus.DebugLevel)
	if log != nil {
		logger.SetOutput(log)
	} else {
		logger.SetOutput(testWriter{t})
	}
	registry := process.NewRegistry(dir, logger, logrus.DebugLevel)
	if err := registry.DiscoverPlugins(); err != nil {
		t.Fatalf("discovering plugins in %s: %v", dir, err)
	}
	mgr := clientmgmt.NewManager(logger, logrus.DebugLevel, registry)
	t.Cleanup(mgr.CleanupClients)
	return mgr
}

// moduleRoot is the repository root, two directories above this file.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// Log collects the log lines of the plugin processes, which arrive from
// several goroutines of the go-plugin client.
type Log = testutil.Log
