package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	alioss "github.com/aliyun/aliyun-oss-go-sdk/oss"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
)

const (
	nasDriver = "nasplugin.csi.alibabacloud.com"
	nasServer = "0cd8b4a576-fs123.cn-hangzhou.nas.aliyuncs.com"
	// bigFileSize is the size of the volume's one large file.
	bigFileSize = 200 << 20
)

var (
	gvrPVBs           = schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "podvolumebackups"}
	gvrPVRs           = schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "podvolumerestores"}
	gvrDeleteRequests = schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "deletebackuprequests"}
)

// TestFileSystemBackup: a pod with a NAS volume (nasplugin CSI) and an
// emptyDir is backed up with `--default-volumes-to-fs-backup` through the
// stock node-agent, whose kopia repository lives in the default location's
// bucket through its s3Url (OSS's S3-compatible API) with the location's one
// credentials file. The restore into another namespace brings every file
// back byte for byte, with its mode and symlink target; deleting the backup
// removes its files and kopia snapshots but keeps the repository. A second
// location without s3Url fails the volumes with Velero's error.
func TestFileSystemBackup(t *testing.T) {
	ctx := testContext(t)
	const ns, dstNS, backup, restore = "e2e-fs", "e2e-fs-restored", "fs-1", "fs-1-restore"
	na := startNodeAgent(t, ctx, ns, dstNS)
	createNamespace(t, ctx, ns)
	t.Cleanup(func() { _ = env.DeleteNamespace(context.Background(), dstNS) })
	pvName := "e2e-fs-nas-" + ns
	createBoundNASClaim(t, ctx, ns, "shared", pvName, "/"+ns)
	pod := createAppPod(t, ctx, ns, "app", "shared")
	running := waitPodRunning(t, ctx, ns, pod)

	nasDir := filepath.Join(na.PodDir(running.UID), "volumes", "kubernetes.io~csi", pvName, "mount")
	cacheDir := filepath.Join(na.PodDir(running.UID), "volumes", "kubernetes.io~empty-dir", "cache")
	start := time.Now()
	nasFiles := writeVolume(t, nasDir, true)
	cacheFiles := writeVolume(t, cacheDir, false)
	t.Logf("wrote %d + %d files (%d MiB) in %s", len(nasFiles), len(cacheFiles), bigFileSize>>20, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	velero(t, ctx, "backup", "create", backup, "--include-namespaces", ns, "--default-volumes-to-fs-backup", "--snapshot-volumes=false")
	waitPhase(t, ctx, stack.Backups, backup, "Completed")
	t.Cleanup(func() { deleteBackup(t, backup) })
	took := time.Since(start)
	t.Logf("file-system backup of %d MiB completed in %s (%.1f MiB/s)", bigFileSize>>20, took.Round(time.Millisecond), float64(bigFileSize>>20)/took.Seconds())

	pvbs := listByLabel(t, ctx, gvrPVBs, "velero.io/backup-name="+backup)
	assertVolumes(t, "PodVolumeBackup", pvbs, "Completed", []string{"cache", "shared"})
	for _, pvb := range pvbs {
		if id, _, _ := unstructured.NestedString(pvb.Object, "status", "snapshotID"); id == "" {
			t.Errorf("PodVolumeBackup %s has no kopia snapshot ID", pvb.GetName())
		}
	}

	// The repository is Ready and kopia's files are in the bucket, under
	// Velero's layout for the location's prefix (none here): kopia/<namespace>/.
	assertNoSecretLeak(t, "backup logs", velero(t, ctx, "backup", "logs", backup))
	repos := velero(t, ctx, "repo", "get")
	if !repoReady(repos, ns, "default") {
		t.Errorf("velero repo get does not show a Ready kopia repository for namespace %s:\n%s", ns, repos)
	}
	repoKeys := bucketKeys(t, "kopia/"+ns+"/")
	if !contains(repoKeys, "kopia/"+ns+"/kopia.repository") {
		t.Errorf("bucket lacks kopia/%s/kopia.repository; kopia's files there: %v", ns, repoKeys)
	}
	packBytes := int64(0)
	for _, o := range bucketObjects(t, "kopia/"+ns+"/p") {
		packBytes += o.Size
	}
	// kopia compresses nothing by default: the random file is in the packs.
	if packBytes < bigFileSize {
		t.Errorf("kopia's pack blobs hold %d bytes, less than the %d bytes of the random file", packBytes, bigFileSize)
	}

	// Restore into another namespace. Velero restores the NAS claim for
	// dynamic provisioning (its data comes from the pod volume backup): play
	// the NAS CSI provisioner for it.
	start = time.Now()
	velero(t, ctx, "restore", "create", restore, "--from-backup", backup, "--namespace-mappings", ns+":"+dstNS)
	provisionNASClaim(t, ctx, dstNS, "shared", "/"+dstNS)
	waitPhase(t, ctx, stack.Restore, restore, "Completed")
	t.Logf("file-system restore completed in %s", time.Since(start).Round(time.Millisecond))
	pvrs := listByLabel(t, ctx, gvrPVRs, "velero.io/restore-name="+restore)
	assertVolumes(t, "PodVolumeRestore", pvrs, "Completed", []string{"cache", "shared"})

	restored, err := env.Kube.CoreV1().Pods(dstNS).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("restored pod %s/%s: %v", dstNS, pod, err)
	}
	if len(restored.Spec.InitContainers) == 0 || restored.Spec.InitContainers[0].Name != "restore-wait" {
		t.Errorf("restored pod has init containers %v, want Velero's restore-wait first", restored.Spec.InitContainers)
	}
	claim, err := env.Kube.CoreV1().PersistentVolumeClaims(dstNS).Get(ctx, "shared", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	compareVolume(t, filepath.Join(na.PodDir(restored.UID), "volumes", "kubernetes.io~csi", claim.Spec.VolumeName, "mount"), nasFiles)
	compareVolume(t, filepath.Join(na.PodDir(restored.UID), "volumes", "kubernetes.io~empty-dir", "cache"), cacheFiles)

	// Deleting the backup deletes its files and, through the repository, its
	// kopia snapshots; the namespace's kopia repository stays for the next
	// backup. The PodVolumeBackups are owned by the Backup: the garbage
	// collector (kube-controller-manager, which does not run here) removes them.
	var snapshotIDs []string
	for _, pvb := range pvbs {
		id, _, _ := unstructured.NestedString(pvb.Object, "status", "snapshotID")
		snapshotIDs = append(snapshotIDs, id)
		if refs := pvb.GetOwnerReferences(); len(refs) != 1 || refs[0].Kind != "Backup" || refs[0].Name != backup {
			t.Errorf("PodVolumeBackup %s is owned by %+v, want the Backup %s (so that it goes with it)", pvb.GetName(), refs, backup)
		}
	}
	velero(t, ctx, "backup", "delete", backup, "--confirm")
	err = stack.Poll(ctx, 2*time.Minute, func() (bool, string, error) {
		if left := bucketKeys(t, "backups/"+backup+"/"); len(left) > 0 {
			return false, "bucket still holds " + strings.Join(left, ", ") + "; " + deletionRequests(t, ctx, backup), nil
		}
		log, err := env.ServerLog()
		if err != nil {
			return false, "", err
		}
		for _, id := range snapshotIDs {
			if !strings.Contains(log, "Batch deleted snapshots") || !strings.Contains(log, id) {
				return false, "velero server has not logged the deletion of kopia snapshot " + id, nil
			}
		}
		return true, "", nil
	})
	if err != nil {
		t.Fatalf("velero backup delete: %v", err)
	}
	if !contains(bucketKeys(t, "kopia/"+ns+"/"), "kopia/"+ns+"/kopia.repository") {
		t.Errorf("deleting backup %s removed the kopia repository of namespace %s", backup, ns)
	}
	assertNoS3URLError(t, ctx, ns)
	assertNoSecretLeak(t, "node-agent log", na.Log())
}

// msgNoS3URL is what Velero v1.18 reports for a file-system backup into a
// location that kopia cannot use: its provider is none of aws, azure, gcp and
// its config has no s3Url.
const msgNoS3URL = "invalid storage provider"

// assertNoS3URLError backs the namespace's volumes up into a second
// alibabacloud location without s3Url: the backup's objects go to OSS, the
// volumes fail with Velero's repository error, which the README's
// file-system-backup section names with the fix (add s3Url).
func assertNoS3URLError(t *testing.T, ctx context.Context, ns string) {
	t.Helper()
	const bsl, backup = "no-s3url", "fs-no-s3url"
	loc := u(map[string]any{
		"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
		"metadata": map[string]any{"name": bsl, "namespace": stack.VeleroNamespace},
		"spec": map[string]any{
			"provider":      stack.Provider,
			"objectStorage": map[string]any{"bucket": stack.Bucket, "prefix": bsl},
			"config":        map[string]any{"region": stack.OSSRegion, "endpoint": env.Emulator.OSSURL},
			"credential":    map[string]any{"name": stack.CredentialsSecret, "key": "cloud"},
		},
	})
	if err := env.Apply(ctx, stack.BSLs, loc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Dynamic.Resource(stack.BSLs).Namespace(stack.VeleroNamespace).Delete(context.Background(), bsl, metav1.DeleteOptions{})
	})
	err := stack.Poll(ctx, time.Minute, func() (bool, string, error) {
		o, err := env.Dynamic.Resource(stack.BSLs).Namespace(stack.VeleroNamespace).Get(ctx, bsl, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		phase, _, _ := unstructured.NestedString(o.Object, "status", "phase")
		return phase == "Available", "location " + bsl + " is " + phase, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	velero(t, ctx, "backup", "create", backup, "--include-namespaces", ns, "--default-volumes-to-fs-backup",
		"--snapshot-volumes=false", "--storage-location", bsl)
	waitPhase(t, ctx, stack.Backups, backup, "PartiallyFailed")
	desc := velero(t, ctx, "backup", "describe", backup, "--details")
	if !strings.Contains(desc, msgNoS3URL) {
		t.Errorf("velero backup describe of a file-system backup into a location without s3Url does not say %q:\n%s", msgNoS3URL, desc)
	}
	if keys := bucketKeys(t, bsl+"/backups/"+backup+"/"); !contains(keys, bsl+"/backups/"+backup+"/velero-backup.json") {
		t.Errorf("the backup's own files are not in the location without s3Url: %v", keys)
	}
	if keys := bucketKeys(t, bsl+"/kopia/"); len(keys) > 0 {
		t.Errorf("a kopia repository was written to the location without s3Url: %v", keys)
	}
	// The default location (no prefix) counts the other location's prefix
	// as an invalid top-level directory and turns Unavailable: remove the
	// backup now and wait until the default location is Available again.
	deleteBackup(t, backup)
	err = stack.Poll(ctx, time.Minute, func() (bool, string, error) {
		if left := bucketKeys(t, bsl+"/"); len(left) > 0 {
			return false, "bucket still holds " + strings.Join(left, ", "), nil
		}
		o, err := env.Dynamic.Resource(stack.BSLs).Namespace(stack.VeleroNamespace).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		phase, _, _ := unstructured.NestedString(o.Object, "status", "phase")
		return phase == "Available", "location default is " + phase, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// startNodeAgent starts node-agent and its kubelet for the test; the
// kubelet schedules the pods of namespaces. It stops after the test's
// namespaces are gone (cleanups run last-registered first).
func startNodeAgent(t testing.TB, ctx context.Context, namespaces ...string) *stack.NodeAgent {
	t.Helper()
	na, err := env.StartNodeAgent(ctx, stack.NodeAgentOptions{
		Labels:   map[string]string{corev1.LabelTopologyRegion: stack.OSSRegion, corev1.LabelTopologyZone: stack.OSSRegion + "-h"},
		Schedule: namespaces,
	})
	if err != nil {
		t.Fatalf("starting node-agent: %v", err)
	}
	t.Cleanup(na.Stop)
	return na
}

func nasPV(name, ns, claim, path string) *unstructured.Unstructured {
	return u(map[string]any{
		"apiVersion": "v1", "kind": "PersistentVolume",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"capacity":                      map[string]any{"storage": "20Gi"},
			"accessModes":                   []any{"ReadWriteMany"},
			"persistentVolumeReclaimPolicy": "Retain",
			"storageClassName":              "alibabacloud-cnfs-nas",
			"volumeMode":                    "Filesystem",
			"claimRef":                      map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns, "name": claim},
			"csi": map[string]any{"driver": nasDriver, "volumeHandle": name,
				"volumeAttributes": map[string]any{"server": nasServer, "path": path}},
		},
	})
}

// bind writes the statuses the PV controller would: both Bound.
func bind(t testing.TB, ctx context.Context, pv, pvc *unstructured.Unstructured) {
	t.Helper()
	unstructured.SetNestedField(pv.Object, "Bound", "status", "phase")
	unstructured.SetNestedField(pvc.Object, "Bound", "status", "phase")
	unstructured.SetNestedStringSlice(pvc.Object, []string{"ReadWriteMany"}, "status", "accessModes")
	unstructured.SetNestedStringMap(pvc.Object, map[string]string{"storage": "20Gi"}, "status", "capacity")
	if _, err := env.Dynamic.Resource(gvrPVs).UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("binding PV %s: %v", pv.GetName(), err)
	}
	if _, err := env.Dynamic.Resource(gvrPVCs).Namespace(pvc.GetNamespace()).UpdateStatus(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("binding PVC %s/%s: %v", pvc.GetNamespace(), pvc.GetName(), err)
	}
}

// createBoundNASClaim creates a statically provisioned NAS PV and its bound claim.
func createBoundNASClaim(t testing.TB, ctx context.Context, ns, claim, pvName, path string) {
	t.Helper()
	pvc := u(map[string]any{
		"apiVersion": "v1", "kind": "PersistentVolumeClaim",
		"metadata": map[string]any{"name": claim, "namespace": ns},
		"spec": map[string]any{
			"accessModes":      []any{"ReadWriteMany"},
			"resources":        map[string]any{"requests": map[string]any{"storage": "20Gi"}},
			"storageClassName": "alibabacloud-cnfs-nas",
			"volumeMode":       "Filesystem",
			"volumeName":       pvName,
		},
	})
	created := createAll(t, ctx, nasPV(pvName, ns, claim, path), pvc)
	t.Cleanup(func() { _ = env.DeleteClusterObject(context.Background(), gvrPVs, pvName) })
	bind(t, ctx, created[0], created[1])
}

// provisionNASClaim waits for the restored claim and does what the NAS CSI
// provisioner and the PV controller do for it: a PV, bound to it.
func provisionNASClaim(t *testing.T, ctx context.Context, ns, claim, path string) {
	t.Helper()
	var pvc *unstructured.Unstructured
	err := stack.Poll(ctx, 3*time.Minute, func() (bool, string, error) {
		var err error
		pvc, err = env.Dynamic.Resource(gvrPVCs).Namespace(ns).Get(ctx, claim, metav1.GetOptions{})
		return err == nil, fmt.Sprintf("claim %s/%s not restored yet (%v)", ns, claim, err), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedString(pvc.Object, "spec", "volumeName"); v != "" {
		t.Fatalf("restored claim %s/%s is bound to %s; Velero should have left it for dynamic provisioning (its data comes from the pod volume backup)", ns, claim, v)
	}
	pvName := "nas-" + string(pvc.GetUID())
	pv := createAll(t, ctx, nasPV(pvName, ns, claim, path))[0]
	t.Cleanup(func() { _ = env.DeleteClusterObject(context.Background(), gvrPVs, pvName) })
	unstructured.SetNestedField(pvc.Object, pvName, "spec", "volumeName")
	if pvc, err = env.Dynamic.Resource(gvrPVCs).Namespace(ns).Update(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("binding claim %s/%s to %s: %v", ns, claim, pvName, err)
	}
	bind(t, ctx, pv, pvc)
}

// createAppPod creates a pod (bound to no node: the kubelet schedules it)
// mounting claim at /data and an emptyDir at /cache.
func createAppPod(t testing.TB, ctx context.Context, ns, name, claim string) string {
	t.Helper()
	createAll(t, ctx, u(map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]any{"app": name}},
		"spec": map[string]any{
			"containers": []any{map[string]any{
				"name": "app", "image": "registry.cn-hangzhou.aliyuncs.com/acs/nginx:1.27",
				"volumeMounts": []any{
					map[string]any{"name": "shared", "mountPath": "/data"},
					map[string]any{"name": "cache", "mountPath": "/cache"},
				},
			}},
			"volumes": []any{
				map[string]any{"name": "shared", "persistentVolumeClaim": map[string]any{"claimName": claim}},
				map[string]any{"name": "cache", "emptyDir": map[string]any{}},
			},
		},
	}))
	return name
}

func waitPodRunning(t testing.TB, ctx context.Context, ns, name string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	err := stack.Poll(ctx, time.Minute, func() (bool, string, error) {
		var err error
		pod, err = env.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return pod.Status.Phase == corev1.PodRunning, fmt.Sprintf("pod %s/%s is %q: %s", ns, name, pod.Status.Phase, pod.Status.Message), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// volumeFile is what a file of a volume must be after the restore.
type volumeFile struct {
	mode   fs.FileMode
	sha256 string // regular files
	target string // symlinks
}

// writeVolume fills dir with small files of several modes, a nested
// directory and a symlink, plus (if big) a file of random bytes, and returns
// what it wrote.
func writeVolume(t testing.TB, dir string, big bool) map[string]volumeFile {
	t.Helper()
	files := map[string]volumeFile{}
	write := func(rel string, data []byte, mode fs.FileMode) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		files[rel] = volumeFile{mode: mode, sha256: hex.EncodeToString(sum[:])}
	}
	write("README.txt", []byte("file-system backup through node-agent\n"), 0o644)
	write("secret.key", []byte("not really a secret\n"), 0o600)
	write("bin/run.sh", []byte("#!/bin/sh\necho run\n"), 0o755)
	write("nested/a/b/c.txt", []byte(strings.Repeat("nested ", 100)), 0o640)
	write("empty", nil, 0o644)
	if err := os.Symlink("nested/a/b/c.txt", filepath.Join(dir, "latest")); err != nil {
		t.Fatal(err)
	}
	files["latest"] = volumeFile{mode: fs.ModeSymlink, target: "nested/a/b/c.txt"}
	if big {
		p := filepath.Join(dir, "data.bin")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		rng := rand.NewChaCha8([32]byte{1, 2, 3})
		if _, err := io.CopyN(io.MultiWriter(f, h), rng, bigFileSize); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		files["data.bin"] = volumeFile{mode: 0o644, sha256: hex.EncodeToString(h.Sum(nil))}
	}
	return files
}

// compareVolume checks that dir holds exactly want: contents, modes, symlink
// targets (Velero's own .velero directory aside).
func compareVolume(t *testing.T, dir string, want map[string]volumeFile) {
	t.Helper()
	got := map[string]volumeFile{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == ".velero" {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		vf := volumeFile{mode: info.Mode() & (fs.ModeSymlink | fs.ModePerm)}
		if info.Mode()&fs.ModeSymlink != 0 {
			vf.mode = fs.ModeSymlink
			if vf.target, err = os.Readlink(p); err != nil {
				return err
			}
		} else {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			vf.sha256 = hex.EncodeToString(h.Sum(nil))
		}
		got[rel] = vf
		return nil
	})
	if err != nil {
		t.Fatalf("reading the restored volume %s: %v", dir, err)
	}
	names := map[string]bool{}
	for n := range want {
		names[n] = true
	}
	for n := range got {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		w, inWant := want[n]
		g, inGot := got[n]
		switch {
		case !inGot:
			t.Errorf("restored volume %s lacks %s", dir, n)
		case !inWant:
			t.Errorf("restored volume %s has %s, which was not backed up", dir, n)
		case w != g:
			t.Errorf("restored %s/%s = %+v, want %+v", dir, n, g, w)
		}
	}
}

func listByLabel(t testing.TB, ctx context.Context, gvr schema.GroupVersionResource, selector string) []unstructured.Unstructured {
	t.Helper()
	list, err := env.Dynamic.Resource(gvr).Namespace(stack.VeleroNamespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("listing %s (%s): %v", gvr.Resource, selector, err)
	}
	return list.Items
}

// assertVolumes checks there is one object per volume, each in phase.
func assertVolumes(t *testing.T, kind string, objs []unstructured.Unstructured, phase string, volumes []string) {
	t.Helper()
	var got []string
	for _, o := range objs {
		v, _, _ := unstructured.NestedString(o.Object, "spec", "volume")
		got = append(got, v)
		if p, _, _ := unstructured.NestedString(o.Object, "status", "phase"); p != phase {
			msg, _, _ := unstructured.NestedString(o.Object, "status", "message")
			t.Errorf("%s %s (volume %s) is %q, want %q: %s", kind, o.GetName(), v, p, phase, msg)
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(volumes, ",") {
		t.Errorf("%ss are for volumes %v, want %v", kind, got, volumes)
	}
}

// deletionRequests describes the DeleteBackupRequests of a backup (phase
// and errors), for a deletion that does not complete.
func deletionRequests(t *testing.T, ctx context.Context, backup string) string {
	t.Helper()
	var out []string
	for _, r := range listByLabel(t, ctx, gvrDeleteRequests, "velero.io/backup-name="+backup) {
		phase, _, _ := unstructured.NestedString(r.Object, "status", "phase")
		errs, _, _ := unstructured.NestedStringSlice(r.Object, "status", "errors")
		out = append(out, fmt.Sprintf("DeleteBackupRequest %s is %q %v", r.GetName(), phase, errs))
	}
	return strings.Join(out, "; ")
}

// bucketObjects lists the objects under prefix with their sizes, through
// the real OSS SDK.
func bucketObjects(t *testing.T, prefix string) []alioss.ObjectProperties {
	t.Helper()
	client, err := alioss.New(env.Emulator.OSSURL, stack.AccessKeyID, stack.AccessKeySecret)
	if err != nil {
		t.Fatalf("oss client: %v", err)
	}
	bucket, err := client.Bucket(stack.Bucket)
	if err != nil {
		t.Fatalf("oss bucket: %v", err)
	}
	var objs []alioss.ObjectProperties
	marker := ""
	for {
		res, err := bucket.ListObjects(alioss.Prefix(prefix), alioss.Marker(marker), alioss.MaxKeys(1000))
		if err != nil {
			t.Fatalf("listing oss://%s/%s: %v", stack.Bucket, prefix, err)
		}
		objs = append(objs, res.Objects...)
		if !res.IsTruncated {
			return objs
		}
		marker = res.NextMarker
	}
}

// repoReady reports whether `velero repo get` lists the kopia repository
// of the namespace in location bsl as Ready (Velero names it
// <namespace>-<location>-kopia).
func repoReady(out, ns, bsl string) bool {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == ns+"-"+bsl+"-kopia" && f[1] == "Ready" {
			return true
		}
	}
	return false
}
