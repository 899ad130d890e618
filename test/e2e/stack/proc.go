package stack

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// process is one child of the stack (etcd, kube-apiserver, velero server). It
// runs in a process group of its own so that stopping it also stops whatever
// it started (Velero's plugin processes), and it gets SIGKILL from the kernel
// if the test binary dies without cleaning up (panic, timeout, kill -9).
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	started time.Time
	done    chan struct{}
	err     error // valid once done is closed
}

// startProcess starts bin with args, stdout and stderr going to logPath.
func startProcess(name, logPath string, env []string, bin string, args ...string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s: creating log file: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := startLocked(cmd); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s: starting %s: %w", name, bin, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, started: time.Now(), done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// forkLoop serialises starts on one locked OS thread: Pdeathsig fires when the
// thread that forked the child exits, and the Go runtime may retire threads,
// so every child is forked from a goroutine that keeps its thread forever.
var (
	forkOnce sync.Once
	forkReq  chan forkRequest
)

type forkRequest struct {
	cmd   *exec.Cmd
	reply chan error
}

func startLocked(cmd *exec.Cmd) error {
	forkOnce.Do(func() {
		forkReq = make(chan forkRequest)
		go forkLoop()
	})
	reply := make(chan error)
	forkReq <- forkRequest{cmd, reply}
	return <-reply
}

func forkLoop() {
	// The goroutine never returns, so its thread is never retired.
	runtime.LockOSThread()
	for r := range forkReq {
		r.reply <- r.cmd.Start()
	}
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, waits up to grace, then SIGKILLs
// the group. It returns once the main process has been reaped.
func (p *process) stop(grace time.Duration) {
	if p == nil || p.cmd.Process == nil {
		return
	}
	pgid := p.cmd.Process.Pid
	if !p.exited() {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
		}
	}
	// Children of the group (plugins) may outlive the leader: kill them all.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
}

// logTail returns the last n bytes of the process log, for failure messages.
func (p *process) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", p.logPath, err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// exitError describes how the process ended, for "died early" messages.
func (p *process) exitError() error {
	if !p.exited() {
		return nil
	}
	if p.err == nil {
		return errors.New("exited with status 0")
	}
	return p.err
}

// freePort returns a loopback TCP port nobody listens on right now. The port is
// handed to a child process, so there is a short window in which another
// process could take it; startup fails loudly if that happens.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
