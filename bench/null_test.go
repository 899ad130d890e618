package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
)

// The null plugin is this test binary serving an ObjectStore that discards
// what it is sent and sends zeros back: the cost of Velero's plugin protocol
// alone (a process boundary, gRPC, 16 KiB messages), with no storage behind
// it. It is the floor any ObjectStore plugin pays.
const (
	nullPluginFile = "velero-bench-null-plugin"
	nullPluginName = "bench.velero.io/null"
)

// serveNullPlugin runs instead of the tests when the binary is started as
// the null plugin.
func serveNullPlugin() {
	framework.NewServer().
		RegisterObjectStore(nullPluginName, func(logrus.FieldLogger) (any, error) { return nullStore{}, nil }).
		Serve()
	os.Exit(0)
}

// nullObjectStore starts the null plugin through Velero's plugin registry
// and returns Velero's gRPC client for it. The plugin directory holds a
// symlink to this binary: the plugin lister reports os.Args[0] as the
// command to run, which a symlink keeps (a wrapper script that execs the
// binary would not).
func nullObjectStore(b *testing.B) (velero.ObjectStore, int) {
	b.Helper()
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := os.Symlink(self, filepath.Join(dir, nullPluginFile)); err != nil {
		b.Fatal(err)
	}
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	registry := process.NewRegistry(dir, logger, logrus.InfoLevel)
	if err := registry.DiscoverPlugins(); err != nil {
		b.Fatalf("discovering the null plugin: %v", err)
	}
	mgr := clientmgmt.NewManager(logger, logrus.InfoLevel, registry)
	b.Cleanup(mgr.CleanupClients)
	isNull := func(pid int) bool {
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		argv0, _, _ := strings.Cut(string(cmd), "\x00")
		return err == nil && filepath.Base(argv0) == nullPluginFile
	}
	before := childPIDs(isNull)
	store, err := mgr.GetObjectStore(nullPluginName)
	if err != nil {
		b.Fatalf("GetObjectStore(%s): %v", nullPluginName, err)
	}
	if err := store.Init(nil); err != nil {
		b.Fatal(err)
	}
	for pid := range childPIDs(isNull) {
		if !before[pid] {
			return store, pid
		}
	}
	b.Fatal("the null plugin process is not a child of this test process")
	return nil, 0
}

// nullStore discards uploads; GetObject of "<n>" returns n zero bytes.
type nullStore struct{}

func (nullStore) Init(map[string]string) error { return nil }

// PutObject reads the body with io.Copy's 32 KiB reads or, for a key ending
// in "/reads=<n>", n bytes at a time. The plugin's upload reads a whole part
// (16 MiB) at a time; Velero's StreamReadCloser then gathers that much of
// the gRPC messages in a bytes.Buffer before it returns, which costs memory.
func (nullStore) PutObject(_, key string, body io.Reader) error {
	_, size, ok := strings.Cut(key, "/reads=")
	if !ok {
		_, err := io.Copy(io.Discard, body)
		return err
	}
	n, err := strconv.Atoi(size)
	if err != nil {
		return err
	}
	buf := make([]byte, n)
	for {
		if _, err := body.Read(buf); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func (nullStore) ObjectExists(string, string) (bool, error) { return true, nil }

func (nullStore) GetObject(_, key string) (io.ReadCloser, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(key, "null/"), 10, 64)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(io.LimitReader(zeros{}, n)), nil
}

func (nullStore) ListCommonPrefixes(string, string, string) ([]string, error) { return nil, nil }
func (nullStore) ListObjects(string, string) ([]string, error)                { return nil, nil }
func (nullStore) DeleteObject(string, string) error                           { return nil }
func (nullStore) CreateSignedURL(string, string, time.Duration) (string, error) {
	return "", nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
