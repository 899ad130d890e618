package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Kubelet stands in for the kubelet (and the scheduler) of one node, so that
// Velero's node-agent and its data-path pods run for real:
//
//   - Pods bound to the node whose container runs the velero image's /velero
//     are run as processes of the stack's Velero binary, each in a container
//     of its own: a private mount namespace whose root is a tmpfs holding the
//     host's /usr, /lib*, /bin, /sbin and /etc read-only, /proc, /sys, a /dev
//     of its own (with /dev/termination-log), /velero and the pod's volumes at
//     their mount paths. Exit codes and termination messages become the
//     pod's status, as a kubelet reports them.
//   - Every other container (no image is pulled here) is reported running
//     without a process: application pods are Running, and an init container
//     such as Velero's restore-wait stays running, which is the state Velero's
//     PodVolumeRestore controller waits for.
//   - Volumes are laid out as the kubelet lays them out under its pods
//     directory (PodsDir, /var/lib/kubelet/pods on a node):
//     <pod-uid>/volumes/kubernetes.io~empty-dir/<volume> and, for a CSI
//     persistent volume, <pod-uid>/volumes/kubernetes.io~csi/<pv>/mount.
//   - Pods deleted gracefully are stopped and then removed (grace period 0),
//     which only a kubelet does: without it they stay terminating forever.
//   - Unscheduled pods of the namespaces it is told to schedule are bound to
//     the node.
//
// The containers share one network namespace of the node's, whose loopback
// forwards the API server's and the emulators' ports to the host's: every
// controller-runtime manager serves metrics on :8080, which the velero
// server holds on the host. No container sees the host's root filesystem
// except the read-only system directories and the run directory, and nothing
// outside the run directory is written: a hostPath volume outside it fails
// the pod.
type Kubelet struct {
	s    *Stack
	Node string
	// PodsDir is the kubelet's pods directory: the hostPath of the node-agent
	// DaemonSet's host-pods volume points here.
	PodsDir string
	dir     string

	schedule map[string]bool
	netns    *process
	nsPath   string
	lns      []net.Listener

	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	pods map[types.UID]*kubeletPod
}

// kubeletPod is the kubelet's record of one pod.
type kubeletPod struct {
	ns, name string
	uid      types.UID
	dir      string
	started  metav1.Time
	volumes  map[string]string    // volume name -> host directory
	procs    map[string]*process  // container name -> process
	exits    map[string]time.Time // container name -> when its exit was seen
	failure  string               // why the pod cannot run (reported as its status message)
	last     *corev1.PodStatus    // last status written
}

// startKubelet registers the node and starts the kubelet's loop.
func (s *Stack) startKubelet(ctx context.Context, node string, labels map[string]string, schedule []string) (*Kubelet, error) {
	k := &Kubelet{
		s: s, Node: node,
		dir:      filepath.Join(s.Dir, "kubelet"),
		schedule: map[string]bool{},
		pods:     map[types.UID]*kubeletPod{},
		done:     make(chan struct{}),
	}
	k.PodsDir = filepath.Join(k.dir, "pods")
	for _, ns := range schedule {
		k.schedule[ns] = true
	}
	for _, d := range []string{k.PodsDir, filepath.Join(k.dir, "plugins")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	all := map[string]string{corev1.LabelOSStable: "linux", corev1.LabelHostname: node}
	for key, v := range labels {
		all[key] = v
	}
	_, err := s.Kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node, Labels: all}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubelet: registering node %s: %w", node, err)
	}
	if err := k.markNodeReady(ctx); err != nil {
		k.deleteNode()
		return nil, err
	}
	if err := k.startNetwork(ctx); err != nil {
		k.deleteNode()
		k.stopNetwork()
		return nil, err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	k.cancel = cancel
	go k.loop(loopCtx)
	return k, nil
}

func (k *Kubelet) markNodeReady(ctx context.Context) error {
	n, err := k.s.Kube.CoreV1().Nodes().Get(ctx, k.Node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "e2e kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: k.Node}}
	n.Status.NodeInfo.OperatingSystem, n.Status.NodeInfo.Architecture = "linux", runtime.GOARCH
	_, err = k.s.Kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	return err
}

// startNetwork creates the node's network namespace (held by a process that
// only sleeps) and listens, inside it, on 127.0.0.1 at the ports of the API
// server and the emulators, forwarding every connection to the same port on
// the host. So kubeconfig, s3Url and endpoint URLs work unchanged inside.
func (k *Kubelet) startNetwork(ctx context.Context) error {
	ready := filepath.Join(k.dir, "netns.ready")
	p, err := startProcess("kubelet-netns", filepath.Join(k.dir, "netns.log"), k.s.baseEnv(), "unshare",
		"--net", "--", "sh", "-c", `ip link set lo up && : > "$1" && exec sleep infinity`, "sh", ready)
	if err != nil {
		return err
	}
	k.netns = p
	if err := Poll(ctx, 30*time.Second, func() (bool, string, error) {
		if e := p.exitError(); e != nil {
			return false, "", fmt.Errorf("kubelet: the node's network namespace %s: %s", e, p.logTail(2000))
		}
		_, err := os.Stat(ready)
		return err == nil, "network namespace not up", nil
	}); err != nil {
		return err
	}
	k.nsPath = fmt.Sprintf("/proc/%d/ns/net", p.cmd.Process.Pid)
	addrs := []string{hostPort(k.s.apiPort)}
	for _, raw := range []string{k.s.Emulator.OSSURL, k.s.Emulator.ECSURL} {
		u, err := url.Parse(raw)
		if err != nil {
			return err
		}
		addrs = append(addrs, u.Host)
	}
	lns, err := listenInNetns(k.nsPath, addrs)
	if err != nil {
		return fmt.Errorf("kubelet: listening in the node's network namespace: %w", err)
	}
	k.lns = lns
	for _, l := range lns {
		go forward(l)
	}
	return nil
}

// listenInNetns opens listeners in the network namespace at nsPath. A
// socket belongs to the namespace of the thread that created it, so they are
// created on a thread that has joined the namespace; that thread is never
// given back to the Go scheduler (the goroutine ends locked, so the runtime
// retires the thread) and no other code ever runs in the namespace.
func listenInNetns(nsPath string, addrs []string) ([]net.Listener, error) {
	type result struct {
		lns []net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(nsPath)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns %s: %w", nsPath, err)}
			return
		}
		var lns []net.Listener
		for _, a := range addrs {
			l, err := net.Listen("tcp", a)
			if err != nil {
				for _, l := range lns {
					l.Close()
				}
				ch <- result{err: err}
				return
			}
			lns = append(lns, l)
		}
		ch <- result{lns: lns}
	}()
	r := <-ch
	return r.lns, r.err
}

// forward copies every connection accepted by l to the same address on the
// host's loopback, until l is closed.
func forward(l net.Listener) {
	addr := l.Addr().String()
	for {
		in, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer in.Close()
			out, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer out.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(out, in); out.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			go func() { _, _ = io.Copy(in, out); in.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

func (k *Kubelet) stopNetwork() {
	for _, l := range k.lns {
		l.Close()
	}
	k.netns.stop(time.Second)
}

func (k *Kubelet) deleteNode() {
	_ = k.s.Kube.CoreV1().Nodes().Delete(context.Background(), k.Node, metav1.DeleteOptions{})
}

// Stop stops every container, removes the pods bound to the node (no
// kubelet is left to finish their deletion), the node and its network.
func (k *Kubelet) Stop() {
	if k == nil || k.cancel == nil {
		return
	}
	k.cancel()
	<-k.done
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k.mu.Lock()
	for _, p := range k.pods {
		k.killPod(p)
	}
	k.mu.Unlock()
	pods, err := k.s.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + k.Node})
	if err == nil {
		for _, p := range pods.Items {
			k.forceDelete(ctx, &p)
		}
	}
	k.deleteNode()
	k.stopNetwork()
}

func (k *Kubelet) logf(format string, args ...any) { k.s.logf("kubelet: "+format, args...) }

// loop syncs every 250ms until ctx ends.
func (k *Kubelet) loop(ctx context.Context) {
	defer close(k.done)
	for {
		k.sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (k *Kubelet) sync(ctx context.Context) {
	for ns := range k.schedule {
		pending, err := k.s.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName="})
		if err != nil {
			continue
		}
		for _, p := range pending.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			err := k.s.Kube.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{
				ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: ns, UID: p.UID},
				Target:     corev1.ObjectReference{Kind: "Node", Name: k.Node},
			}, metav1.CreateOptions{})
			if err != nil && ctx.Err() == nil {
				k.logf("binding pod %s/%s to %s: %v", ns, p.Name, k.Node, err)
			}
		}
	}
	list, err := k.s.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + k.Node})
	if err != nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	seen := map[types.UID]bool{}
	for i := range list.Items {
		pod := &list.Items[i]
		seen[pod.UID] = true
		kp := k.pods[pod.UID]
		if pod.DeletionTimestamp != nil {
			if kp != nil {
				k.killPod(kp)
				k.removePod(kp)
			}
			k.forceDelete(ctx, pod)
			continue
		}
		if kp == nil {
			kp = &kubeletPod{ns: pod.Namespace, name: pod.Name, uid: pod.UID, dir: filepath.Join(k.PodsDir, string(pod.UID)),
				started: metav1.Now(), procs: map[string]*process{}, exits: map[string]time.Time{}}
			k.pods[pod.UID] = kp
		}
		k.syncPod(ctx, pod, kp)
	}
	for uid, kp := range k.pods {
		if !seen[uid] {
			k.killPod(kp)
			k.removePod(kp)
		}
	}
}

// syncPod sets the pod's volumes up (once every claim is bound), runs what
// is due, and writes the resulting status if it changed.
func (k *Kubelet) syncPod(ctx context.Context, pod *corev1.Pod, kp *kubeletPod) {
	if kp.volumes == nil && kp.failure == "" {
		vols, waiting, err := k.setUpVolumes(ctx, pod, kp)
		switch {
		case err != nil:
			kp.failure = err.Error()
			k.logf("pod %s/%s cannot run: %v", pod.Namespace, pod.Name, err)
		case waiting != "":
			k.writeStatus(ctx, pod, kp, k.waitingStatus(pod, kp, waiting))
			return
		default:
			kp.volumes = vols
		}
	}
	if kp.failure == "" {
		k.runDue(pod, kp)
	}
	k.writeStatus(ctx, pod, kp, k.status(pod, kp))
}

// setUpVolumes creates the pod's volume directories. It returns a reason to
// wait while a claim is not bound yet.
func (k *Kubelet) setUpVolumes(ctx context.Context, pod *corev1.Pod, kp *kubeletPod) (map[string]string, string, error) {
	vols := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		var dir string
		switch {
		case v.EmptyDir != nil:
			dir = filepath.Join(kp.dir, "volumes", "kubernetes.io~empty-dir", v.Name)
		case v.HostPath != nil:
			p := filepath.Clean(v.HostPath.Path)
			if !strings.HasPrefix(p, k.s.Dir+string(filepath.Separator)) {
				return nil, "", fmt.Errorf("volume %s: hostPath %s is outside the run directory %s, the only host paths this kubelet binds", v.Name, p, k.s.Dir)
			}
			if _, err := os.Stat(p); err != nil {
				return nil, "", fmt.Errorf("volume %s: hostPath %s: %w", v.Name, p, err)
			}
			vols[v.Name] = p
			continue
		case v.PersistentVolumeClaim != nil:
			claim := v.PersistentVolumeClaim.ClaimName
			pvc, err := k.s.Kube.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(ctx, claim, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Sprintf("volume %s: claim %s: %v", v.Name, claim, err), nil
			}
			if pvc.Spec.VolumeName == "" || pvc.Status.Phase != corev1.ClaimBound {
				return nil, fmt.Sprintf("volume %s: claim %s is not bound", v.Name, claim), nil
			}
			pv, err := k.s.Kube.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Sprintf("volume %s: persistent volume %s: %v", v.Name, pvc.Spec.VolumeName, err), nil
			}
			if pv.Spec.CSI == nil {
				return nil, "", fmt.Errorf("volume %s: persistent volume %s is not a CSI volume; this kubelet mounts CSI volumes only", v.Name, pv.Name)
			}
			dir = filepath.Join(kp.dir, "volumes", "kubernetes.io~csi", pv.Name, "mount")
		default:
			return nil, "", fmt.Errorf("volume %s: only emptyDir, hostPath (under the run directory) and CSI persistent volume claims are supported", v.Name)
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, "", err
		}
		// The kubelet creates emptyDir volumes world-writable.
		if v.EmptyDir != nil {
			if err := os.Chmod(dir, 0o777); err != nil {
				return nil, "", err
			}
		}
		vols[v.Name] = dir
	}
	if err := os.MkdirAll(kp.dir, 0o750); err != nil {
		return nil, "", err
	}
	return vols, "", nil
}

// runnable reports whether the kubelet runs c as a process: the velero image
// with the /velero entry point, which is the stack's Velero binary.
func runnable(c *corev1.Container) bool {
	image := c.Image
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	return (image == "velero/velero" || strings.HasSuffix(image, "/velero/velero")) && len(c.Command) > 0 && c.Command[0] == "/velero"
}

// runDue starts the init container that is due, or the containers once every
// init container has succeeded.
func (k *Kubelet) runDue(pod *corev1.Pod, kp *kubeletPod) {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if !runnable(c) {
			return // reported running for as long as the pod lives
		}
		p, ok := kp.procs[c.Name]
		if !ok {
			k.start(pod, kp, c)
			return
		}
		if !p.exited() || p.err != nil {
			return
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if _, ok := kp.procs[c.Name]; !ok && runnable(c) {
			k.start(pod, kp, c)
		}
	}
}

// start runs container c of the pod. A failure to start is recorded as the
// container's exit, so the pod fails with the reason.
func (k *Kubelet) start(pod *corev1.Pod, kp *kubeletPod, c *corev1.Container) {
	cdir := filepath.Join(kp.dir, "containers", c.Name)
	env, script, err := k.containerSpec(pod, kp, c, cdir)
	logPath := filepath.Join(k.dir, fmt.Sprintf("%s_%s_%s.log", pod.Namespace, pod.Name, c.Name))
	if err == nil {
		args := []string{"--net=" + k.nsPath, "--", "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh"}
		args = append(args, c.Command...)
		args = append(args, c.Args...)
		var p *process
		if p, err = startProcess(pod.Name+"/"+c.Name, logPath, env, "nsenter", args...); err == nil {
			kp.procs[c.Name] = p
			k.s.addProcess(p)
			k.logf("started %s/%s container %s, log %s", pod.Namespace, pod.Name, c.Name, logPath)
			return
		}
	}
	kp.failure = fmt.Sprintf("container %s: %v", c.Name, err)
	k.logf("pod %s/%s: %s", pod.Namespace, pod.Name, kp.failure)
}

// containerSpec returns the environment and the shell script that builds
// the container's root and executes its command there.
func (k *Kubelet) containerSpec(pod *corev1.Pod, kp *kubeletPod, c *corev1.Container, cdir string) ([]string, string, error) {
	if len(c.EnvFrom) > 0 || c.WorkingDir != "" {
		return nil, "", errors.New("envFrom and workingDir are not supported")
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/home/velero",
		// Stands in for the pod's service account token, which the stack has
		// not got: the admin kubeconfig, bound into the container.
		"KUBECONFIG=" + k.s.Kubeconfig}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil {
			if e.ValueFrom.FieldRef == nil {
				return nil, "", fmt.Errorf("env %s: only fieldRef is supported in valueFrom", e.Name)
			}
			switch e.ValueFrom.FieldRef.FieldPath {
			case "metadata.name":
				v = pod.Name
			case "metadata.namespace":
				v = pod.Namespace
			case "metadata.uid":
				v = string(pod.UID)
			case "spec.nodeName":
				v = k.Node
			case "spec.serviceAccountName":
				v = pod.Spec.ServiceAccountName
			case "status.podIP", "status.hostIP":
				v = "127.0.0.1"
			default:
				return nil, "", fmt.Errorf("env %s: fieldRef %s is not supported", e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
		}
		env = append(env, e.Name+"="+v)
	}
	term := filepath.Join(cdir, "termination-log")
	for _, d := range []string{"rootfs", "tmp", "home"} {
		if err := os.MkdirAll(filepath.Join(cdir, d), 0o755); err != nil {
			return nil, "", err
		}
	}
	if err := os.Chmod(filepath.Join(cdir, "tmp"), 0o1777); err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(term, nil, 0o644); err != nil {
		return nil, "", err
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	root := filepath.Join(cdir, "rootfs")
	w("set -eu")
	w("R=%s", shellQuote(root))
	w(`mount -t tmpfs -o mode=0755 e2e-rootfs "$R"`)
	// The host's system directories, read-only: the Velero binary is linked
	// against the host's libc.
	w(`for d in usr bin sbin lib lib32 lib64 libx32 etc; do`)
	w(`  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$R/$d"`)
	w(`  elif [ -d "/$d" ]; then mkdir "$R/$d" && mount --rbind "/$d" "$R/$d" && mount -o remount,bind,ro "$R/$d"; fi`)
	w(`done`)
	w(`mkdir "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/home"`)
	w(`mount --rbind /proc "$R/proc"; mount --rbind /sys "$R/sys"`)
	w(`mount -t tmpfs -o mode=0755 e2e-dev "$R/dev"`)
	w(`for n in null zero full random urandom; do : > "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"; done`)
	bind := func(src, dst string, dir bool) {
		if dir {
			w(`mkdir -p "$R"%s`, shellQuote(dst))
		} else {
			w(`mkdir -p "$R"%s; : > "$R"%s`, shellQuote(filepath.Dir(dst)), shellQuote(dst))
		}
		w(`mount --bind %s "$R"%s`, shellQuote(src), shellQuote(dst))
	}
	bind(term, "/dev/termination-log", false)
	bind(filepath.Join(cdir, "tmp"), "/tmp", true)
	bind(filepath.Join(cdir, "home"), "/home/velero", true)
	bind(k.s.opts.Tools.Velero, "/velero", false)
	bind(k.s.Kubeconfig, k.s.Kubeconfig, false)
	mounts := append([]corev1.VolumeMount(nil), c.VolumeMounts...)
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].MountPath) < len(mounts[j].MountPath) })
	for _, m := range mounts {
		src, ok := kp.volumes[m.Name]
		if !ok {
			return nil, "", fmt.Errorf("volume mount %s: the pod has no volume %s", m.MountPath, m.Name)
		}
		if m.SubPath != "" || m.SubPathExpr != "" {
			return nil, "", fmt.Errorf("volume mount %s: subPath is not supported", m.MountPath)
		}
		bind(src, filepath.Clean(m.MountPath), true)
		if m.ReadOnly {
			w(`mount -o remount,bind,ro "$R"%s`, shellQuote(filepath.Clean(m.MountPath)))
		}
	}
	w(`exec chroot "$R" "$@"`)
	return env, b.String(), nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// containerState is how the kubelet reports container c.
func (k *Kubelet) containerState(kp *kubeletPod, c *corev1.Container, init bool, due bool) corev1.ContainerStatus {
	st := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: "docker-pullable://" + c.Image}
	if !runnable(c) {
		if due {
			st.State.Running = &corev1.ContainerStateRunning{StartedAt: kp.started}
			st.Ready, st.Started = !init, ptr(true)
		} else {
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "PodInitializing"}
		}
		return st
	}
	p, ok := kp.procs[c.Name]
	if !ok {
		st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "PodInitializing"}
		return st
	}
	started := metav1.NewTime(p.started)
	if !p.exited() {
		st.State.Running = &corev1.ContainerStateRunning{StartedAt: started}
		st.Ready, st.Started = !init, ptr(true)
		return st
	}
	if _, ok := kp.exits[c.Name]; !ok {
		kp.exits[c.Name] = time.Now()
	}
	code, reason := int32(0), "Completed"
	if p.err != nil {
		code, reason = 1, "Error"
		var ee interface{ ExitCode() int }
		if errors.As(p.err, &ee) && ee.ExitCode() > 0 {
			code = int32(ee.ExitCode())
		}
	}
	msg, _ := os.ReadFile(filepath.Join(kp.dir, "containers", c.Name, "termination-log"))
	st.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: string(msg),
		StartedAt: started, FinishedAt: metav1.NewTime(kp.exits[c.Name])}
	st.Started = ptr(false)
	return st
}

// status is the pod's status as the kubelet sees it now.
func (k *Kubelet) status(pod *corev1.Pod, kp *kubeletPod) *corev1.PodStatus {
	st := k.baseStatus(pod, kp)
	if kp.failure != "" {
		st.Phase, st.Reason, st.Message = corev1.PodFailed, "E2EKubelet", kp.failure
		return st
	}
	initDone := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := k.containerState(kp, c, true, initDone)
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			if cs.State.Terminated != nil {
				st.Phase = corev1.PodFailed
			}
			initDone = false
		}
	}
	running, failed, waiting := 0, 0, 0
	for i := range pod.Spec.Containers {
		cs := k.containerState(kp, &pod.Spec.Containers[i], false, initDone)
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Waiting != nil:
			waiting++
		case cs.State.Terminated.ExitCode != 0:
			failed++
		}
	}
	switch {
	case st.Phase == corev1.PodFailed:
	case !initDone, waiting > 0 && running == 0:
		st.Phase = corev1.PodPending
	case running > 0:
		st.Phase = corev1.PodRunning
	case failed > 0:
		st.Phase = corev1.PodFailed
	default:
		st.Phase = corev1.PodSucceeded
	}
	ready := st.Phase == corev1.PodRunning && running == len(pod.Spec.Containers)
	st.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: kp.started},
		{Type: corev1.PodInitialized, Status: cond(initDone), LastTransitionTime: kp.started},
		{Type: corev1.ContainersReady, Status: cond(ready), LastTransitionTime: kp.started},
		{Type: corev1.PodReady, Status: cond(ready), LastTransitionTime: kp.started},
	}
	return st
}

func (k *Kubelet) waitingStatus(pod *corev1.Pod, kp *kubeletPod, why string) *corev1.PodStatus {
	st := k.baseStatus(pod, kp)
	st.Phase = corev1.PodPending
	st.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: kp.started},
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", Message: why, LastTransitionTime: kp.started}}
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: why}}})
	}
	return st
}

func (k *Kubelet) baseStatus(pod *corev1.Pod, kp *kubeletPod) *corev1.PodStatus {
	// The API server sets the QoS class at creation and refuses changes.
	return &corev1.PodStatus{HostIP: "127.0.0.1", PodIP: "127.0.0.1", PodIPs: []corev1.PodIP{{IP: "127.0.0.1"}},
		HostIPs: []corev1.HostIP{{IP: "127.0.0.1"}}, StartTime: &kp.started, QOSClass: pod.Status.QOSClass}
}

func cond(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

func ptr[T any](v T) *T { return &v }

// writeStatus writes st through the status subresource if it differs from
// what was written last.
func (k *Kubelet) writeStatus(ctx context.Context, pod *corev1.Pod, kp *kubeletPod, st *corev1.PodStatus) {
	if kp.last != nil && equality.Semantic.DeepEqual(kp.last, st) {
		return
	}
	upd := pod.DeepCopy()
	upd.Status = *st
	if _, err := k.s.Kube.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{}); err != nil {
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			k.logf("updating the status of pod %s/%s: %v", pod.Namespace, pod.Name, err)
		}
		return // retried on the next sync
	}
	kp.last = st
}

// killPod stops the pod's containers: SIGTERM, then SIGKILL after the pod's
// grace period (at most 10s).
func (k *Kubelet) killPod(kp *kubeletPod) {
	for _, p := range kp.procs {
		p.stop(10 * time.Second)
	}
}

// removePod forgets the pod and removes its directory, as the kubelet
// removes a deleted pod's volumes.
func (k *Kubelet) removePod(kp *kubeletPod) {
	delete(k.pods, kp.uid)
	if err := os.RemoveAll(kp.dir); err != nil {
		k.logf("removing %s: %v", kp.dir, err)
	}
}

func (k *Kubelet) forceDelete(ctx context.Context, pod *corev1.Pod) {
	err := k.s.Kube.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr(int64(0)), Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
		k.logf("deleting pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

// PodDir is the kubelet's directory of a pod (its volumes are under it).
func (k *Kubelet) PodDir(uid types.UID) string { return filepath.Join(k.PodsDir, string(uid)) }
