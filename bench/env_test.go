package bench

import (
	"fmt"
	"io"
	"math/rand"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/plugintest"
	objectstore "github.com/alibabacloud/velero-plugin-for-alibabacloud/object-store"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	emuoss "github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/oss"
)

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == nullPluginFile {
		serveNullPlugin()
	}
	plugintest.Main(m)
}

const (
	region     = "cn-hangzhou"
	bucketName = "velero-bench"
	keyID      = "LTAI5tBenchKeyID"
	keySecret  = "benchSecretNotForLogs0123456789"
	pluginName = "velero.io/alibabacloud"
	mib        = 1 << 20

	// The plugin's defaults (object-store/config.go), which the baselines
	// use too unless a benchmark sweeps them.
	defaultPartSize    = 8 * mib
	defaultConcurrency = 8
)

// ossEnv is an OSS emulator on loopback with its data on disk, and the
// credentials file a BackupStorageLocation would hand the plugin.
type ossEnv struct {
	emu      *emuoss.Server
	url      string
	credFile string
	sdk      *oss.Bucket
}

func newOSSEnv(b testing.TB) *ossEnv {
	b.Helper()
	dir := b.TempDir()
	emu, err := emuoss.New(emuoss.Config{
		Auth:    auth.NewStore(auth.Credential{AccessKeyID: keyID, AccessKeySecret: keySecret}),
		DataDir: filepath.Join(dir, "data"), Buckets: []string{bucketName}, Region: region,
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	b.Cleanup(srv.Close)
	e := &ossEnv{emu: emu, url: srv.URL, credFile: filepath.Join(dir, "cloud")}
	creds := "ALIBABA_CLOUD_ACCESS_KEY_ID=" + keyID + "\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + keySecret + "\n"
	if err := os.WriteFile(e.credFile, []byte(creds), 0o600); err != nil {
		b.Fatal(err)
	}
	client, err := oss.New(srv.URL, keyID, keySecret, oss.AuthVersion(oss.AuthV4), oss.Region(region))
	if err != nil {
		b.Fatal(err)
	}
	if e.sdk, err = client.Bucket(bucketName); err != nil {
		b.Fatal(err)
	}
	return e
}

// pluginObjectStore starts a fresh plugin process (so that its peak RSS
// belongs to this measurement alone) and returns Velero's gRPC client for its
// ObjectStore, initialised like a BackupStorageLocation would, plus the
// process ID.
func (e *ossEnv) pluginObjectStore(b *testing.B, partSize int64, concurrency int) (velero.ObjectStore, int) {
	b.Helper()
	mgr, before := newManager(b)
	store, err := mgr.GetObjectStore(pluginName)
	if err != nil {
		b.Fatalf("GetObjectStore: %v", err)
	}
	cfg := map[string]string{
		"region": region, "endpoint": e.url, "bucket": bucketName, "credentialsFile": e.credFile,
		"partSize": strconv.FormatInt(partSize, 10), "uploadConcurrency": strconv.Itoa(concurrency),
	}
	if err := store.Init(cfg); err != nil {
		b.Fatalf("Init(%v): %v", cfg, err)
	}
	return store, newPluginPID(b, before)
}

// inProcessObjectStore is the plugin's ObjectStore as a Go value in this
// process, initialised with the same config: its cost without Velero's
// plugin protocol.
func (e *ossEnv) inProcessObjectStore(b *testing.B, partSize int64, concurrency int) velero.ObjectStore {
	b.Helper()
	store := objectstore.NewObjectStore(discardLogger())
	cfg := map[string]string{
		"region": region, "endpoint": e.url, "bucket": bucketName, "credentialsFile": e.credFile,
		"partSize": strconv.FormatInt(partSize, 10), "uploadConcurrency": strconv.Itoa(concurrency),
	}
	if err := store.Init(cfg); err != nil {
		b.Fatalf("Init(%v): %v", cfg, err)
	}
	return store
}

// newManager returns Velero's plugin manager for the built plugin, logging
// to a buffer (benchmark logs are always printed), and the plugin processes
// already running, so that the one it starts can be told apart.
func newManager(b *testing.B) (clientmgmt.Manager, map[int]bool) {
	b.Helper()
	before := pluginPIDs()
	return plugintest.Manager(b, &plugintest.Log{}), before
}

// pluginPIDs lists the running plugin processes that are children of this
// test process (go-plugin starts the binary directly).
func pluginPIDs() map[int]bool {
	return childPIDs(func(pid int) bool {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		return err == nil && filepath.Base(exe) == plugintest.BinaryName
	})
}

// childPIDs lists the child processes of this process that match.
func childPIDs(match func(pid int) bool) map[int]bool {
	pids := map[int]bool{}
	entries, _ := os.ReadDir("/proc")
	self := int64(os.Getpid())
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if ppid, err := statusField(pid, "PPid"); err == nil && ppid == self && match(pid) {
			pids[pid] = true
		}
	}
	return pids
}

func newPluginPID(b *testing.B, before map[int]bool) int {
	b.Helper()
	for pid := range pluginPIDs() {
		if !before[pid] {
			return pid
		}
	}
	b.Fatalf("no new %s process is a child of this test process", plugintest.BinaryName)
	return 0
}

// symlinkedObjectStore starts the plugin binary target through Velero's
// plugin registry, from a fresh directory holding a symlink to it named
// file, and returns Velero's gRPC client for its ObjectStore name,
// initialised with cfg, plus the process ID. The plugin lister reports
// os.Args[0] as the command to run, which a symlink keeps (a wrapper script
// that execs the binary would not), so the process is told apart by its
// argv[0].
func symlinkedObjectStore(b *testing.B, target, file, name string, cfg map[string]string) (velero.ObjectStore, int) {
	b.Helper()
	dir := b.TempDir()
	if err := os.Symlink(target, filepath.Join(dir, file)); err != nil {
		b.Fatal(err)
	}
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	registry := process.NewRegistry(dir, logger, logrus.InfoLevel)
	if err := registry.DiscoverPlugins(); err != nil {
		b.Fatalf("discovering the plugins of %s: %v", target, err)
	}
	mgr := clientmgmt.NewManager(logger, logrus.InfoLevel, registry)
	b.Cleanup(mgr.CleanupClients)
	isPlugin := func(pid int) bool {
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		argv0, _, _ := strings.Cut(string(cmd), "\x00")
		return err == nil && filepath.Base(argv0) == file
	}
	before := childPIDs(isPlugin)
	store, err := mgr.GetObjectStore(name)
	if err != nil {
		b.Fatalf("GetObjectStore(%s) of %s: %v", name, target, err)
	}
	if err := store.Init(cfg); err != nil {
		b.Fatalf("Init of %s: %v", target, err)
	}
	for pid := range childPIDs(isPlugin) {
		if !before[pid] {
			return store, pid
		}
	}
	b.Fatalf("the plugin process of %s is not a child of this test process", target)
	return nil, 0
}

// cpuTime is the CPU time (user + system) a process has used so far.
func cpuTime(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("reading the CPU time of process %d: %v", pid, err)
	}
	// Fields after the command name (which is in parentheses and may hold
	// spaces): state is field 3, utime and stime are fields 14 and 15.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on Linux.
const clockTicks = 100

// reportCPU adds the CPU seconds a process used per GiB moved.
func reportCPU(b *testing.B, used time.Duration, bytes int64) {
	b.ReportMetric(perGiB(b, used, bytes), "plugin-cpu-s/GiB")
}

// perGiB is CPU time in seconds per GiB of b.N transfers of bytes each.
func perGiB(b *testing.B, used time.Duration, bytes int64) float64 {
	return used.Seconds() / (float64(bytes) * float64(b.N) / (1 << 30))
}

// reportOwnCPU reports the CPU this benchmark process used per GiB moved:
// Velero's gRPC client and the emulator, the other side of every transfer,
// which shares the machine's cores with the plugin.
func reportOwnCPU(b *testing.B, used time.Duration, bytes int64) {
	b.ReportMetric(perGiB(b, used, bytes), "client+emulator-cpu-s/GiB")
}

// peakRSS is the process's peak resident set (VmHWM) in MiB.
func peakRSS(b *testing.B, pid int) float64 {
	b.Helper()
	kb, err := statusField(pid, "VmHWM")
	if err != nil {
		b.Fatalf("reading the peak RSS of plugin process %d: %v", pid, err)
	}
	return float64(kb) / 1024
}

// warmUp moves one unmeasured stream (of that CRC64) up through store. The
// first large transfer of a run grows this process's heap (the Velero
// client's and the emulator's buffers, faulted in page by page): whichever
// plugin went first uploaded 15-20% slower than the same binary second, with
// a third more CPU on this side, so the first measured upload of a size
// comes after this one.
func warmUp(b *testing.B, e *ossEnv, store velero.ObjectStore, size int64, crc uint64) {
	b.Helper()
	const key = "warm-up"
	if err := store.PutObject(bucketName, key, newStream(size)); err != nil {
		b.Fatal(err)
	}
	e.verifyAndDelete(b, key, size, crc)
}

// rssSampler follows a process's resident set while a transfer runs and keeps
// the largest file-backed part (the binary's pages: code and read-only data,
// whatever the transfer does) and the largest anonymous part (what the
// process allocated: heap, part buffers, gRPC's buffers, stacks). The two
// maxima need not fall at the same moment; together they say where a peak
// comes from.
type rssSampler struct {
	stop, done chan struct{}
	file, anon int64 // kB
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb, err := statusFields(pid, "RssFile", "RssAnon"); err == nil {
				s.file, s.anon = max(s.file, kb[0]), max(s.anon, kb[1])
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// report stops the sampler and reports its maxima in MiB.
func (s *rssSampler) report(b *testing.B) {
	close(s.stop)
	<-s.done
	b.ReportMetric(float64(s.file)/1024, "peak-file-MiB")
	b.ReportMetric(float64(s.anon)/1024, "peak-anon-MiB")
}

// statusField reads a numeric field of /proc/<pid>/status (kB for sizes).
func statusField(pid int, name string) (int64, error) {
	v, err := statusFields(pid, name)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// statusFields reads numeric fields of /proc/<pid>/status in one read, so
// that they describe the same moment.
func statusFields(pid int, names ...string) ([]int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	values := make([]int64, len(names))
	for i, name := range names {
		found := false
		for _, line := range lines {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				if values[i], err = strconv.ParseInt(strings.Fields(v)[0], 10, 64); err != nil {
					return nil, err
				}
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("no %s in /proc/%d/status", name, pid)
		}
	}
	return values, nil
}

// stream is what Velero hands PutObject: a reader of unknown length (only
// Read is exposed). It repeats one pseudo-random MiB, so generating the data
// costs a copy, not a random number generator, in every variant alike.
type stream struct {
	block []byte
	left  int64
	off   int
}

var block = func() []byte {
	b := make([]byte, mib)
	rand.New(rand.NewSource(6)).Read(b)
	return b
}()

func newStream(n int64) *stream { return &stream{block: block, left: n} }

func (s *stream) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n := copy(p, s.block[s.off:])
	s.off = (s.off + n) % len(s.block)
	s.left -= int64(n)
	return n, nil
}

// sizes parses a comma-separated list like "256MiB,1GiB" (units KiB, MiB,
// GiB, with or without the B; plain numbers are bytes).
func sizes(b *testing.B, env, def string) []int64 {
	b.Helper()
	v := os.Getenv(env)
	if v == "" {
		v = def
	}
	var out []int64
	for _, f := range strings.Split(v, ",") {
		n, err := parseSize(strings.TrimSpace(f))
		if err != nil {
			b.Fatalf("%s: %v", env, err)
		}
		out = append(out, n)
	}
	return out
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"Gi", 1 << 30}, {"MiB", mib}, {"Mi", mib}, {"KiB", 1 << 10}, {"Ki", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional KiB/MiB/GiB unit, e.g. 1GiB", s)
	}
	return n * mult, nil
}

// human formats a byte count for benchmark names: 256MiB, 1GiB.
func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	default:
		return fmt.Sprintf("%dB", n)
	}
}

// discardLogger keeps setup code quiet.
func discardLogger() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// freeDisk is the free space of the file system holding dir, in bytes.
func freeDisk(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// measureDownload reads key (size bytes) through a plugin process's
// ObjectStore b.N times and reports the process's CPU per GiB and peak RSS.
func measureDownload(b *testing.B, store velero.ObjectStore, pid int, key string, size int64) {
	b.SetBytes(size)
	cpu, own := cpuTime(b, pid), cpuTime(b, os.Getpid())
	rss := sampleRSS(pid)
	for b.Loop() {
		rc, err := store.GetObject(bucketName, key)
		if err != nil {
			b.Fatal(err)
		}
		readAll(b, rc, size)
	}
	reportCPU(b, cpuTime(b, pid)-cpu, size)
	reportOwnCPU(b, cpuTime(b, os.Getpid())-own, size)
	rss.report(b)
	b.ReportMetric(peakRSS(b, pid), "peak-RSS-MiB")
}
