// Package e2e proves the plugin bundle end to end: the stock Velero v1.18
// server and CLI, a real etcd and kube-apiserver, the plugin binary built from
// this repository and the project's OSS/ECS emulator, all on loopback. Each
// scenario (migration, cross-region restore, restore adjustments, ObjectStore
// round trip, faults) is one test function. Run them with hack/e2e.sh (or
// `make e2e`), which builds the pinned tools first.
package e2e

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
)

// The ECS regions the emulator serves: the backup region and the one the
// cross-region scenario restores into.
var regions = []stack.Region{
	{ID: "cn-hangzhou", Zones: []string{"cn-hangzhou-h", "cn-hangzhou-i"}},
	{ID: "cn-beijing", Zones: []string{"cn-beijing-h", "cn-beijing-i"}},
}

var (
	env *stack.Stack
	// demo prints a narrative for a human (hack/demo.sh sets it).
	demo = os.Getenv("E2E_DEMO") == "1"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	repoRoot, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	start := time.Now()
	tools, err := locateTools(repoRoot)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	toolsTime := time.Since(start)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Stop the stack on Ctrl-C or SIGTERM too; a panic or SIGKILL is covered
	// by the children's parent-death signal.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "e2e: %s: stopping the stack\n", s)
		cancel()
		stack.StopAll()
		os.Exit(2)
	}()

	stackStart := time.Now()
	env, err = stack.Start(ctx, stack.Options{
		Tools:    tools,
		RepoRoot: repoRoot,
		Keep:     os.Getenv("E2E_KEEP") == "1",
		Regions:  regions,
		Logf: func(format string, args ...any) {
			if testing.Verbose() || demo {
				fmt.Fprintf(os.Stderr, format+"\n", args...)
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting the stack:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: tools ready in %s, stack up in %s\n", toolsTime.Round(time.Millisecond), time.Since(stackStart).Round(time.Millisecond))
	for _, p := range env.Phases {
		fmt.Fprintf(os.Stderr, "e2e:   %-22s %s\n", p.Name, p.Duration.Round(time.Millisecond))
	}

	code := m.Run()
	if code == 0 {
		code = ramRefusals()
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: failed; process logs:\n%s\n", env.Diagnostics())
	}
	stopStart := time.Now()
	env.Stop()
	fmt.Fprintf(os.Stderr, "e2e: stack stopped in %s\n", time.Since(stopStart).Round(time.Millisecond))
	return code
}

// locateTools takes the tool paths from E2E_ETCD, E2E_KUBE_APISERVER and
// E2E_VELERO, or builds them with hack/tools.sh (a no-op when cached).
func locateTools(repoRoot string) (stack.Tools, error) {
	t := stack.Tools{Etcd: os.Getenv("E2E_ETCD"), KubeAPIServer: os.Getenv("E2E_KUBE_APISERVER"), Velero: os.Getenv("E2E_VELERO")}
	if t.Etcd != "" && t.KubeAPIServer != "" && t.Velero != "" {
		return t, nil
	}
	cmd := exec.Command("bash", filepath.Join(repoRoot, "hack", "tools.sh"), "env")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return t, fmt.Errorf("hack/tools.sh: %w", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "E2E_ETCD":
			t.Etcd = v
		case "E2E_KUBE_APISERVER":
			t.KubeAPIServer = v
		case "E2E_VELERO":
			t.Velero = v
		}
	}
	return t, nil
}
