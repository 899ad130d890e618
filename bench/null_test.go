package bench

import (
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
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
// and returns Velero's gRPC client for it.
func nullObjectStore(b *testing.B) (velero.ObjectStore, int) {
	b.Helper()
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	return symlinkedObjectStore(b, self, nullPluginFile, nullPluginName, nil)
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
