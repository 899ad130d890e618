package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// buildEmulator compiles the command once per test binary run.
func buildEmulator(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "emulator")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// start runs the emulator and returns the URL it printed, and a function
// that returns the rest of its stdout once the process has exited.
func start(t *testing.T, bin string, args ...string) (*exec.Cmd, string, func() string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 1)
	rest := &bytes.Buffer{}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(rest, r)
	}()
	restAfterExit := func() string { <-copied; return rest.String() }
	select {
	case line := <-lines:
		url, ok := strings.CutPrefix(strings.TrimSpace(line), "oss ")
		if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
			t.Fatalf("first stdout line %q, want \"oss http://127.0.0.1:PORT\"; stderr: %s", line, stderr.String())
		}
		return cmd, url, restAfterExit
	case <-time.After(20 * time.Second):
		t.Fatalf("no URL printed; stderr: %s", stderr.String())
	}
	return nil, "", nil
}

func TestCommand(t *testing.T) {
	bin := buildEmulator(t)

	t.Run("serves buckets until SIGTERM", func(t *testing.T) {
		dir := t.TempDir()
		cmd, url, rest := start(t, bin, "-oss-addr", "127.0.0.1:0", "-access-key-id", "ID", "-access-key-secret", "SECRET",
			"-data-dir", dir, "-bucket", "first-bucket", "-bucket", "second-bucket", "-region", "cn-shanghai")
		client, err := sdk.New(url, "ID", "SECRET", sdk.Region("cn-shanghai"), sdk.AuthVersion(sdk.AuthV4))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"first-bucket", "second-bucket"} {
			b, _ := client.Bucket(name)
			if err := b.PutObject("k", strings.NewReader(name)); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			rc, err := b.GetObject("k")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != name {
				t.Fatalf("%s: got %q", name, got)
			}
		}
		entries, _ := os.ReadDir(filepath.Join(dir, "objects"))
		if len(entries) != 2 {
			t.Fatalf("%d files under data-dir/objects, want 2", len(entries))
		}
		wrong, _ := sdk.New(url, "ID", "WRONG", sdk.Region("cn-shanghai"), sdk.AuthVersion(sdk.AuthV4))
		wb, _ := wrong.Bucket("first-bucket")
		var se sdk.ServiceError
		if _, err := wb.GetObject("k"); !errors.As(err, &se) || se.Code != "SignatureDoesNotMatch" {
			t.Fatalf("wrong secret: %v", err)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
		if extra := rest(); extra != "" {
			t.Fatalf("extra stdout: %q", extra)
		}
	})

	t.Run("fault flags", func(t *testing.T) {
		_, url, _ := start(t, bin, "-oss-addr", "127.0.0.1:0", "-access-key-id", "ID", "-access-key-secret", "SECRET",
			"-bucket", "faulty-bucket", "-oss-error-rate", "1", "-fault-seed", "3")
		client, _ := sdk.New(url, "ID", "SECRET", sdk.Region("cn-hangzhou"), sdk.AuthVersion(sdk.AuthV4))
		b, _ := client.Bucket("faulty-bucket")
		var se sdk.ServiceError
		if err := b.PutObject("k", strings.NewReader("x")); !errors.As(err, &se) || se.StatusCode != 500 || se.Code != "InternalError" {
			t.Fatalf("want 500 InternalError, got %v", err)
		}
	})

	t.Run("bad invocation", func(t *testing.T) {
		cases := []struct {
			args []string
			want string
		}{
			{[]string{"-oss-addr", "127.0.0.1:0", "-access-key-id", "ID"}, "-access-key-secret"},
			{[]string{"-access-key-id", "ID", "-access-key-secret", "S"}, "-oss-addr"},
			{[]string{"-oss-addr", "127.0.0.1:0", "-access-key-id", "ID", "-access-key-secret", "S", "-bucket", "B!"}, "invalid bucket name"},
			{[]string{"-no-such-flag"}, "flag provided but not defined"},
			{[]string{"-oss-addr", "127.0.0.1:0", "-access-key-id", "ID", "-access-key-secret", "S", "-oss-error-rate", "1.5"}, "-oss-error-rate"},
			{[]string{"-oss-addr", "127.0.0.1:0", "-access-key-id", "ID", "-access-key-secret", "S", "-oss-error-rate", "0.6", "-oss-reset-rate", "0.6"}, "must not exceed 1"},
		}
		for _, c := range cases {
			out, err := exec.Command(bin, c.args...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.want) {
				t.Errorf("%v: err %v, output %q, want mention of %q", c.args, err, out, c.want)
			}
		}
	})
}
