// Package stack runs the local environment of the end-to-end tests: etcd and
// kube-apiserver on loopback, Velero's CRDs installed by the Velero binary, the
// project's OSS and ECS emulators, and the stock `velero server` loading the
// plugin binary built from this repository. Everything listens on 127.0.0.1
// only and is stopped by Stop, or by the kernel if the test binary dies.
package stack

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ram"
)

// Names used throughout the stack.
const (
	VeleroNamespace = "velero"
	PluginBinary    = "velero-plugin-for-alibabacloud"
	Provider        = "alibabacloud"
	Bucket          = "velero-e2e"
	OSSRegion       = "cn-hangzhou" // region of the bucket and the default VSL
	// CredentialsSecret holds the plugin's credentials file (key "cloud"),
	// referenced by the BackupStorageLocation and VolumeSnapshotLocation.
	CredentialsSecret = "cloud-credentials"
	// AccessKeyID and AccessKeySecret are the emulator's only key pair. The
	// secret is distinctive so that tests can grep logs for it.
	AccessKeyID     = "LTAI5tE2eTestKeyId00001"
	AccessKeySecret = "e2eSecretMustNeverBeLogged0123456789"
)

// Tools locates the pinned binaries built by hack/tools.sh.
type Tools struct {
	Etcd, KubeAPIServer, Velero string
}

// Options configures Start.
type Options struct {
	Tools    Tools
	RepoRoot string // the product module: the plugin binary is built from it
	// Dir holds every file of the run (logs, certs, data); "" = a fresh temp dir
	// removed by Stop unless Keep is set.
	Dir  string
	Keep bool
	// Regions of the ECS emulator; the first one is the VSL's region.
	Regions []Region
	Logf    func(format string, args ...any)
}

// Region is an emulated Alibaba Cloud region and its zones.
type Region struct {
	ID    string
	Zones []string
}

// Stack is a running environment.
type Stack struct {
	opts       Options
	Dir        string
	Kubeconfig string
	Config     *rest.Config
	Kube       kubernetes.Interface
	Dynamic    dynamic.Interface
	PluginDir  string

	Auth      *auth.Store
	OSSFaults *fault.Injector
	ECSFaults *fault.Injector
	Emulator  *Emulator
	// Policy is the RAM policy the emulators hold the key to:
	// examples/ram-policy.json with Bucket substituted (see startEmulator).
	Policy *ram.Policy

	adminToken string
	apiPort    int
	etcdURL    string
	veleroHome string

	mu       sync.Mutex
	procs    []*process // in start order; stopped in reverse
	server   *process   // velero server, also in procs
	restarts int        // of the velero server, for log file names
	cleanup  []func()
	stopped  bool

	// Phases records how long each startup phase took.
	Phases []Phase
}

// Phase is a named duration, for the timing report.
type Phase struct {
	Name     string
	Duration time.Duration
}

func (s *Stack) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

func (s *Stack) phase(name string, f func() error) error {
	start := time.Now()
	err := f()
	d := time.Since(start)
	s.Phases = append(s.Phases, Phase{name, d})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Start brings the whole stack up. On error everything already started is
// stopped before it returns.
func Start(ctx context.Context, opts Options) (s *Stack, err error) {
	if opts.Tools.Etcd == "" || opts.Tools.KubeAPIServer == "" || opts.Tools.Velero == "" {
		return nil, errors.New("tools: the etcd, kube-apiserver and velero binaries are required; build them with hack/tools.sh")
	}
	if len(opts.Regions) == 0 {
		opts.Regions = []Region{{ID: OSSRegion, Zones: []string{OSSRegion + "-h", OSSRegion + "-i"}}}
	}
	s = &Stack{opts: opts, Dir: opts.Dir}
	if s.Dir == "" {
		removeStaleRunDirs(s.logf)
		if s.Dir, err = os.MkdirTemp("", runDirPrefix); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(s.Dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
			return nil, err
		}
		if !opts.Keep {
			s.cleanup = append(s.cleanup, func() { os.RemoveAll(s.Dir) })
		}
	}
	live.Store(s, struct{}{})
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, s.diagnostics())
			s.Stop()
			s = nil
		}
	}()
	s.logf("stack: working directory %s", s.Dir)
	for _, d := range []string{"etcd", "certs", "plugins", "home", "tmp", "emulator"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o700); err != nil {
			return s, err
		}
	}
	s.PluginDir = filepath.Join(s.Dir, "plugins")
	s.veleroHome = filepath.Join(s.Dir, "home")

	// Each phase has its own bound; compiling the plugin on a busy 2-core
	// machine with a cold build cache can take minutes.
	steps := []struct {
		name    string
		f       func(context.Context) error
		timeout time.Duration
	}{
		{"build plugin", s.buildPlugin, 20 * time.Minute},
		{"start emulator", s.startEmulator, time.Minute},
		{"start etcd", s.startEtcd, time.Minute},
		{"start kube-apiserver", s.startAPIServer, 3 * time.Minute},
		{"install velero", s.installVelero, 2 * time.Minute},
		{"create locations", s.createLocations, time.Minute},
		{"start velero server", s.startVeleroServer, 3 * time.Minute},
	}
	for _, st := range steps {
		err := s.phase(st.name, func() error {
			ctx, cancel := context.WithTimeout(ctx, st.timeout)
			defer cancel()
			return st.f(ctx)
		})
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// Stop stops every process (velero server first, etcd last), the emulator,
// and removes the working directory unless Keep was set. It is safe to call
// more than once and from a signal handler goroutine.
func (s *Stack) Stop() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	defer live.Delete(s)
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop(10 * time.Second)
	}
	if s.Emulator != nil {
		s.Emulator.Close()
	}
	if s.opts.Keep {
		os.Remove(filepath.Join(s.Dir, ownerFile)) // kept on purpose: not stale
		s.logf("stack: kept %s (kubeconfig, process logs, emulator data)", s.Dir)
	}
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
}

// live holds the stacks started and not yet stopped, for StopAll.
var live sync.Map

// StopAll stops every stack of this process, including one still starting:
// the test binary's signal handler calls it.
func StopAll() {
	live.Range(func(k, _ any) bool {
		k.(*Stack).Stop()
		return true
	})
}

const (
	runDirPrefix = "velero-e2e-"
	ownerFile    = "owner.pid"
)

// removeStaleRunDirs deletes run directories whose test process is gone (it
// was killed before it could clean up: SIGKILL, a panic, a timeout).
func removeStaleRunDirs(logf func(string, ...any)) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), runDirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue // not ours, or kept on purpose without an owner
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) == nil {
			continue
		}
		logf("stack: removing %s, left by process %d which is gone", d, pid)
		os.RemoveAll(d)
	}
}

func (s *Stack) addProcess(p *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs = append(s.procs, p)
}

// diagnostics returns the tail of every process log.
func (s *Stack) diagnostics() string {
	var b strings.Builder
	for _, p := range s.procs {
		state := "running"
		if e := p.exitError(); e != nil {
			state = "exited: " + e.Error()
		}
		fmt.Fprintf(&b, "--- %s (%s), log %s:\n%s\n", p.name, state, p.logPath, p.logTail(3000))
	}
	return b.String()
}

// Diagnostics is the tail of every process log, for a failing test.
func (s *Stack) Diagnostics() string { return s.diagnostics() }

// ServerLog returns the velero server's log so far.
func (s *Stack) ServerLog() (string, error) {
	s.mu.Lock()
	p := s.server
	s.mu.Unlock()
	b, err := os.ReadFile(p.logPath)
	return string(b), err
}

// ServerRunning reports an error if the velero server has exited.
func (s *Stack) ServerRunning() error {
	s.mu.Lock()
	p := s.server
	s.mu.Unlock()
	if e := p.exitError(); e != nil {
		return fmt.Errorf("velero server %s; log tail:\n%s", e, p.logTail(3000))
	}
	return nil
}

// buildPlugin compiles the plugin binary into the plugin directory.
func (s *Stack) buildPlugin(ctx context.Context) error {
	return s.goBuildPlugin(ctx, s.PluginDir)
}

// BuildPluginVariant compiles the plugin with the given build tags (for
// instance "noitemactions", which leaves out the item-action registrations)
// into a new directory under the run directory, and returns that directory,
// ready for RestartVeleroServer. The product tree is not touched.
func (s *Stack) BuildPluginVariant(ctx context.Context, name string, tags ...string) (string, error) {
	dir := filepath.Join(s.Dir, "plugins-"+name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, s.goBuildPlugin(ctx, dir, "-tags", strings.Join(tags, ","))
}

// goBuildPlugin builds with the flags and environment of the `go test` that
// runs it (no -trimpath, CGO_ENABLED as the caller has it): the packages the
// plugin shares with the e2e test binary, with `go test ./...` and with the
// tools of hack/tools.sh then come from the Go build cache instead of being
// compiled again. Velero runs the plugin as a local executable, which needs
// neither a static binary nor trimmed paths.
func (s *Stack) goBuildPlugin(ctx context.Context, dir string, flags ...string) error {
	args := append([]string{"build"}, flags...)
	args = append(args, "-o", filepath.Join(dir, PluginBinary), ".")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = s.opts.RepoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build of the plugin in %s: %w\n%s", s.opts.RepoRoot, err, out)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600)
}

// baseEnv is the environment of child processes: the caller's, with TMPDIR
// and HOME moved into the run directory so that two runs never share
// Velero's credential files (os.TempDir()/credentials) or CLI config.
func (s *Stack) baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TMPDIR=") || strings.HasPrefix(kv, "HOME=") ||
			strings.HasPrefix(kv, "KUBECONFIG=") || strings.HasPrefix(kv, "ALIBABA_CLOUD_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TMPDIR="+filepath.Join(s.Dir, "tmp"), "HOME="+s.veleroHome)
}
