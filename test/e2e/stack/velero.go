package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// GVRs of the Velero and Kubernetes resources the stack and tests handle.
var (
	CRDs    = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	BSLs    = velero("backupstoragelocations")
	VSLs    = velero("volumesnapshotlocations")
	Backups = velero("backups")
	Restore = velero("restores")
	// DeleteBackupRequests are what `velero backup delete` creates; their
	// status says why a deletion did not happen.
	DeleteBackupRequests = velero("deletebackuprequests")
)

func velero(resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: resource}
}

// Velero runs the Velero CLI against the stack and returns its combined
// output. The CLI gets the stack's kubeconfig and namespace, and a HOME of its
// own (so no user config leaks in).
func (s *Stack) Velero(ctx context.Context, args ...string) (string, error) {
	args = append(args, "--kubeconfig", s.Kubeconfig, "--namespace", VeleroNamespace)
	cmd := exec.CommandContext(ctx, s.opts.Tools.Velero, args...)
	cmd.Env = s.baseEnv()
	cmd.Dir = s.Dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("velero %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// installVelero installs Velero's CRDs and its Deployment as `velero
// install` renders them (applied with server-side apply), and waits until each
// CRD is established. The Deployment is applied with zero replicas: the
// server runs as a local process, but Velero's own restore actions read the
// Deployment (for the restore helper image) and fail without it.
func (s *Stack) installVelero(ctx context.Context) error {
	out, err := s.Velero(ctx, "install", "--dry-run", "-o", "yaml",
		"--no-secret", "--no-default-backup-location", "--use-volume-snapshots=false",
		"--plugins", "velero-plugin-for-alibabacloud:e2e")
	if err != nil {
		return err
	}
	objs, err := decodeYAML(out)
	if err != nil {
		return fmt.Errorf("decoding `velero install --dry-run` output: %w", err)
	}
	var crds []string
	var deployment *unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "CustomResourceDefinition":
			if err := s.Apply(ctx, CRDs, o); err != nil {
				return err
			}
			crds = append(crds, o.GetName())
		case "Deployment":
			deployment = o
		}
	}
	if len(crds) == 0 || deployment == nil {
		return fmt.Errorf("`velero install --dry-run` printed %d CRDs and no Deployment", len(crds))
	}
	for _, n := range crds {
		if err := s.waitCRDEstablished(ctx, n); err != nil {
			return err
		}
	}
	s.logf("stack: %d Velero CRDs established", len(crds))
	if err := s.createNamespace(ctx, VeleroNamespace); err != nil {
		return err
	}
	if err := unstructured.SetNestedField(deployment.Object, int64(0), "spec", "replicas"); err != nil {
		return err
	}
	deployment.SetNamespace(VeleroNamespace)
	return s.Apply(ctx, schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, deployment)
}

func (s *Stack) createNamespace(ctx context.Context, name string) error {
	_, err := s.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// decodeYAML splits a YAML stream into objects, expanding `kind: List`.
func decodeYAML(text string) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(text), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, err
			}
			for i := range list.Items {
				objs = append(objs, &list.Items[i])
			}
			continue
		}
		objs = append(objs, u)
	}
}

// Apply server-side-applies obj (its namespace, if any, is taken from obj).
func (s *Stack) Apply(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) error {
	data, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	var ri = s.Dynamic.Resource(gvr)
	force := true
	if ns := obj.GetNamespace(); ns != "" {
		_, err = ri.Namespace(ns).Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "velero-e2e", Force: &force})
	} else {
		_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "velero-e2e", Force: &force})
	}
	if err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", gvr.Resource, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

func (s *Stack) waitCRDEstablished(ctx context.Context, name string) error {
	return Poll(ctx, 30*time.Second, func() (bool, string, error) {
		crd, err := s.Dynamic.Resource(CRDs).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			if cm["type"] == "Established" && cm["status"] == "True" {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("CRD %s not established", name), nil
	})
}

// credentialsFile is the one credentials file of the stack's locations, in
// the two formats that read it: the plugin reads the Alibaba Cloud INI
// profile [default] (type, access_key_id, access_key_secret), and Velero's
// kopia repository, for a location with s3Url, reads the same file as an AWS
// shared-credentials file (aws_access_key_id, aws_secret_access_key of
// [default]); each ignores the other's keys.
func credentialsFile() string {
	return "[default]\n" +
		"type = access_key\n" +
		"access_key_id = " + AccessKeyID + "\n" +
		"access_key_secret = " + AccessKeySecret + "\n" +
		"aws_access_key_id = " + AccessKeyID + "\n" +
		"aws_secret_access_key = " + AccessKeySecret + "\n"
}

// createLocations creates the credentials Secret, the
// default BackupStorageLocation on the OSS emulator and the default
// VolumeSnapshotLocation on the ECS emulator. The location's s3Url is the
// emulator's OSS URL too: Velero's kopia repository (file-system backups)
// talks S3 to it.
func (s *Stack) createLocations(ctx context.Context) error {
	_, err := s.Kube.CoreV1().Secrets(VeleroNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: CredentialsSecret},
		StringData: map[string]string{"cloud": credentialsFile()},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	bsl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "velero.io/v1",
		"kind":       "BackupStorageLocation",
		"metadata":   map[string]any{"name": "default", "namespace": VeleroNamespace},
		"spec": map[string]any{
			"provider":      Provider,
			"default":       true,
			"objectStorage": map[string]any{"bucket": Bucket},
			"config": map[string]any{
				"region":   OSSRegion,
				"endpoint": s.Emulator.OSSURL,
				"s3Url":    s.Emulator.OSSURL,
			},
			"credential": map[string]any{"name": CredentialsSecret, "key": "cloud"},
		},
	}}
	if err := s.Apply(ctx, BSLs, bsl); err != nil {
		return err
	}
	return s.ApplyVSL(ctx, "default", s.opts.Regions[0].ID, nil)
}

// ApplyVSL creates or updates a VolumeSnapshotLocation on the ECS emulator
// in region, with extra config keys.
func (s *Stack) ApplyVSL(ctx context.Context, name, region string, extra map[string]string) error {
	// pollInterval: the emulator finishes snapshots and disks in seconds, so
	// poll faster than the 5s default.
	// The emulator serves every region at one URL: regionEndpoints sends
	// the calls for the other regions there too.
	var others []string
	for _, r := range s.opts.Regions {
		if r.ID != region {
			others = append(others, r.ID+"="+s.Emulator.ECSURL)
		}
	}
	cfg := map[string]any{"region": region, "endpoint": s.Emulator.ECSURL, "pollInterval": "1s"}
	if len(others) > 0 {
		cfg["regionEndpoints"] = strings.Join(others, ",")
	}
	for k, v := range extra {
		cfg[k] = v
	}
	vsl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "velero.io/v1",
		"kind":       "VolumeSnapshotLocation",
		"metadata":   map[string]any{"name": name, "namespace": VeleroNamespace},
		"spec": map[string]any{
			"provider":   Provider,
			"config":     cfg,
			"credential": map[string]any{"name": CredentialsSecret, "key": "cloud"},
		},
	}}
	return s.Apply(ctx, VSLs, vsl)
}

// startVeleroServer takes the machine's e2e lock (see
// lockControllerMetricsPort) and runs the stock `velero server` loading the
// stack's plugin directory.
func (s *Stack) startVeleroServer(ctx context.Context) error {
	unlock, err := lockControllerMetricsPort(ctx, s.logf)
	if err != nil {
		return err
	}
	s.cleanup = append(s.cleanup, unlock)
	return s.runVeleroServer(ctx, s.PluginDir, "velero-server.log")
}

// RestartVeleroServer stops the velero server and starts it again loading the
// plugins in pluginDir ("" = the stack's own plugin directory), then waits
// until the new server has validated the default BackupStorageLocation. The
// benchmark of restore overhead uses it to switch plugin binaries.
func (s *Stack) RestartVeleroServer(ctx context.Context, pluginDir string) error {
	if pluginDir == "" {
		pluginDir = s.PluginDir
	}
	s.mu.Lock()
	old := s.server
	s.restarts++
	logName := fmt.Sprintf("velero-server-%d.log", s.restarts)
	s.mu.Unlock()
	old.stop(10 * time.Second)
	s.mu.Lock()
	for i, p := range s.procs {
		if p == old {
			s.procs = append(s.procs[:i], s.procs[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	if err := waitPortFree(ctx, 8080); err != nil {
		return err
	}
	return s.runVeleroServer(ctx, pluginDir, logName)
}

// runVeleroServer runs the stock `velero server` outside any cluster,
// loading plugins from pluginDir, with its metrics and profiler on free
// loopback ports, and waits until this server has found the default
// BackupStorageLocation Available (which needs the plugin's ObjectStore to
// answer). The caller holds the e2e lock.
func (s *Stack) runVeleroServer(ctx context.Context, pluginDir, logName string) error {
	metricsPort, err := freePort()
	if err != nil {
		return err
	}
	profilerPort, err := freePort()
	if err != nil {
		return err
	}
	// A restarted server must validate the location itself: the status left
	// by the previous server does not prove the new one loaded a working
	// ObjectStore.
	before, err := s.bslValidationTime(ctx)
	if err != nil {
		return err
	}
	// Plugins run as children of the server and take its environment; the
	// restore actions build their Kubernetes client from KUBECONFIG when not
	// in a pod (inside a cluster they use the in-cluster config).
	env := append(s.baseEnv(), "KUBECONFIG="+s.Kubeconfig)
	p, err := startProcess("velero-server", filepath.Join(s.Dir, logName), env, s.opts.Tools.Velero,
		"server",
		"--kubeconfig", s.Kubeconfig,
		"--namespace", VeleroNamespace,
		"--plugin-dir", pluginDir,
		"--metrics-address", hostPort(metricsPort),
		"--profiler-address", hostPort(profilerPort),
		"--log-level", "debug",
		"--store-validation-frequency", "10s",
		"--backup-sync-period", "10s",
		"--item-operation-sync-frequency", "2s",
		"--default-volume-snapshot-locations", Provider+":default",
	)
	if err != nil {
		return err
	}
	s.addProcess(p)
	s.mu.Lock()
	s.server = p
	s.mu.Unlock()
	return Poll(ctx, 90*time.Second, func() (bool, string, error) {
		if e := p.exitError(); e != nil {
			return false, "", fmt.Errorf("velero server %s", e)
		}
		bsl, err := s.Dynamic.Resource(BSLs).Namespace(VeleroNamespace).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		phase, _, _ := unstructured.NestedString(bsl.Object, "status", "phase")
		msg, _, _ := unstructured.NestedString(bsl.Object, "status", "message")
		validated, _, _ := unstructured.NestedString(bsl.Object, "status", "lastValidationTime")
		return phase == "Available" && validated != before,
			fmt.Sprintf("BackupStorageLocation default is %q (validated %s): %s", phase, validated, msg), nil
	})
}

// bslValidationTime is the default BackupStorageLocation's
// status.lastValidationTime ("" before the first validation).
func (s *Stack) bslValidationTime(ctx context.Context) (string, error) {
	bsl, err := s.Dynamic.Resource(BSLs).Namespace(VeleroNamespace).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	t, _, _ := unstructured.NestedString(bsl.Object, "status", "lastValidationTime")
	return t, nil
}

// waitPortFree waits until nothing listens on port (a stopped velero server's
// socket is closed by the kernel, but not always at once).
func waitPortFree(ctx context.Context, port int) error {
	return Poll(ctx, 30*time.Second, func() (bool, string, error) {
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			return false, fmt.Sprintf("port %d still in use: %v", port, err), nil
		}
		l.Close()
		return true, "", nil
	})
}

// lockControllerMetricsPort serialises e2e runs on one machine. The
// controller-runtime manager inside `velero server` always serves metrics on
// :8080 (Velero v1.18 has no flag to move it), so two servers cannot run at
// once. The lock is a file lock, released when the process ends.
func lockControllerMetricsPort(ctx context.Context, logf func(string, ...any)) (func(), error) {
	path := filepath.Join(os.TempDir(), "velero-plugin-for-alibabacloud-e2e-8080.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	warned := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !warned {
			logf("stack: waiting for another e2e run to release port 8080 (lock %s)", path)
			warned = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	unlock := func() { f.Close() }
	if l, err := net.Listen("tcp", ":8080"); err != nil {
		unlock()
		return nil, fmt.Errorf("port 8080 is in use: velero server's controller manager serves metrics on :8080 and Velero has no flag to move it; stop what listens there (%w)", err)
	} else {
		l.Close()
	}
	return unlock, nil
}

// Poll calls f every 250ms until it reports done, returns an error, or
// timeout passes; the error then carries f's last status message.
func Poll(ctx context.Context, timeout time.Duration, f func() (done bool, status string, err error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, status, err := f()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s: %s", timeout, status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s", ctx.Err(), status)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
