package e2e

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
)

// TestRestoreGuardsSharedDisk: a disk PV with reclaim policy Retain, backed
// up without snapshots, is restored by Velero as it is, pointing at the
// source cluster's disk. The cross-region-volumes action warns about the
// shared disk in `velero restore logs`; with failOnSharedDisk in the
// restore's ConfigMap the PV fails, as `velero restore describe` shows, and
// is not restored.
func TestRestoreGuardsSharedDisk(t *testing.T) {
	ctx := testContext(t)
	const ns, dstNS, dstNS2, backup = "e2e-shared", "e2e-shared-warned", "e2e-shared-refused", "shared-disk"
	src := regions[0]
	ensureStorageClass(t, ctx, alltypeClass)
	createNamespace(t, ctx, ns)
	claim := createBoundDiskClaim(t, ctx, ns, "data", nil, 20, alltypeClass, src.ID, src.Zones[0])
	pv := claim.PV
	pv.Object["spec"].(map[string]any)["persistentVolumeReclaimPolicy"] = "Retain"
	if _, err := env.Dynamic.Resource(gvrPVs).Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("setting reclaim policy Retain on PV %s: %v", claim.DiskID, err)
	}

	velero(t, ctx, "backup", "create", backup, "--include-namespaces", ns, "--snapshot-volumes=false")
	waitPhase(t, ctx, stack.Backups, backup, "Completed")
	t.Cleanup(func() { deleteBackup(t, backup) })
	// Velero restores a PV only if no PV of its name exists: remove the
	// source's, as in a second cluster that has none.
	if err := env.DeleteClusterObject(ctx, gvrPVs, claim.DiskID); err != nil {
		t.Fatal(err)
	}

	shared := "pointing at disk " + claim.DiskID + ", the disk of the backed-up PV (reclaim policy Retain)"
	const warned = "shared-disk-warned"
	t.Cleanup(func() { _ = env.DeleteNamespace(context.Background(), dstNS) })
	velero(t, ctx, "restore", "create", warned, "--from-backup", backup, "--namespace-mappings", ns+":"+dstNS)
	waitPhase(t, ctx, stack.Restore, warned, "Completed")
	logs := velero(t, ctx, "restore", "logs", warned)
	if !containsLine(logs, "level=warning", shared, "both clusters claim it", "failOnSharedDisk:", "fails such PVs") {
		t.Errorf("velero restore logs has no shared-disk warning for disk %s:\n%s", claim.DiskID, tail(logs))
	}
	restored, err := env.Kube.CoreV1().PersistentVolumes().Get(ctx, claim.DiskID, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("PV %s not restored after the warning: %v", claim.DiskID, err)
	}
	if restored.Spec.CSI == nil || restored.Spec.CSI.VolumeHandle != claim.DiskID {
		t.Errorf("restored PV %s has source %+v, want the backed-up disk %s", restored.Name, restored.Spec.CSI, claim.DiskID)
	}
	narrate(t, "restore %s: PV %s restored as it is, with the shared-disk warning in its log", warned, claim.DiskID)

	// Refused for one restore through its ConfigMap.
	if err := env.DeleteClusterObject(ctx, gvrPVs, claim.DiskID); err != nil {
		t.Fatal(err)
	}
	createVeleroConfigMap(t, ctx, "shared-disk-refused", nil, map[string]any{"failOnSharedDisk": "true"})
	const refused = "shared-disk-refused"
	t.Cleanup(func() { _ = env.DeleteNamespace(context.Background(), dstNS2) })
	velero(t, ctx, "restore", "create", refused, "--from-backup", backup, "--namespace-mappings", ns+":"+dstNS2,
		"--labels", labelRestoreCf+"=shared-disk-refused")
	waitPhase(t, ctx, stack.Restore, refused, "PartiallyFailed")
	desc := velero(t, ctx, "restore", "describe", refused, "--details")
	if !containsAll(desc, shared, "Back the volume up with a snapshot", "failOnSharedDisk is true") {
		t.Errorf("velero restore describe does not show the shared-disk failure of PV %s:\n%s", claim.DiskID, desc)
	}
	if _, err := env.Kube.CoreV1().PersistentVolumes().Get(ctx, claim.DiskID, metav1.GetOptions{}); err == nil {
		t.Errorf("PV %s was restored although failOnSharedDisk is true", claim.DiskID)
		_ = env.DeleteClusterObject(context.Background(), gvrPVs, claim.DiskID)
	}
	narrate(t, "restore %s with failOnSharedDisk: PV %s failed and was not restored", refused, claim.DiskID)
}

// TestRestoreGuardsClaims: claims the target cluster cannot bind. A
// ReadWriteMany claim of a disk StorageClass (no multiAttach) fails its
// restore with the reason, shown by `velero restore describe`; a claim
// whose StorageClass does not exist in the target and that
// storageClassMapping leaves alone is restored with a warning in `velero
// restore logs` naming storageClassMapping.
func TestRestoreGuardsClaims(t *testing.T) {
	ctx := testContext(t)
	const ns, dstNS, backup, restore = "e2e-claims", "e2e-claims-restored", "claims", "claims-restore"
	const goneClass = "e2e-gone-class"
	ensureStorageClass(t, ctx, alltypeClass)
	createNamespace(t, ctx, ns)
	claim := func(name, class, mode string) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec": map[string]any{"accessModes": []any{mode}, "storageClassName": class,
				"resources": map[string]any{"requests": map[string]any{"storage": "20Gi"}}}}
	}
	createAll(t, ctx,
		u(claim("shared-rwx", alltypeClass, "ReadWriteMany")),
		u(claim("orphan", goneClass, "ReadWriteOnce")),
		u(claim("plain", alltypeClass, "ReadWriteOnce")),
	)
	velero(t, ctx, "backup", "create", backup, "--include-namespaces", ns, "--snapshot-volumes=false")
	waitPhase(t, ctx, stack.Backups, backup, "Completed")
	t.Cleanup(func() { deleteBackup(t, backup) })

	t.Cleanup(func() { _ = env.DeleteNamespace(context.Background(), dstNS) })
	velero(t, ctx, "restore", "create", restore, "--from-backup", backup, "--namespace-mappings", ns+":"+dstNS)
	waitPhase(t, ctx, stack.Restore, restore, "PartiallyFailed")

	desc := velero(t, ctx, "restore", "describe", restore, "--details")
	if !containsAll(desc, "shared-rwx is ReadWriteMany, which a disk storageclass "+alltypeClass+" cannot serve", "map it to a NAS class") {
		t.Errorf("velero restore describe does not show why the ReadWriteMany disk claim failed:\n%s", desc)
	}
	if strings.Contains(desc, "orphan") && strings.Contains(desc, goneClass+" not exists") {
		t.Errorf("velero restore describe fails the claim of the missing class %s; want only a warning:\n%s", goneClass, desc)
	}
	logs := velero(t, ctx, "restore", "logs", restore)
	if !containsLine(logs, "level=warning", "orphan: storageclass "+goneClass+" does not exist in the target cluster",
		"add a storageClassMapping entry", goneClass+": <class of this cluster>") {
		t.Errorf("velero restore logs has no warning naming storageClassMapping for the claim of the missing class %s:\n%s", goneClass, tail(logs))
	}

	pvcs := env.Kube.CoreV1().PersistentVolumeClaims(dstNS)
	if _, err := pvcs.Get(ctx, "shared-rwx", metav1.GetOptions{}); err == nil {
		t.Errorf("claim shared-rwx was restored although a disk class cannot serve ReadWriteMany")
	}
	for _, name := range []string{"orphan", "plain"} {
		if _, err := pvcs.Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("claim %s not restored: %v", name, err)
		}
	}
	narrate(t, "restore %s: the ReadWriteMany disk claim failed, the claim of missing class %s came back with a warning", restore, goneClass)
}

// containsAll reports whether s contains every one of subs.
func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// containsLine reports whether one line of text contains every one of subs.
func containsLine(text string, subs ...string) bool {
	for _, l := range strings.Split(text, "\n") {
		if containsAll(l, subs...) {
			return true
		}
	}
	return false
}

// tail is the end of a long log, for a failure message.
func tail(s string) string {
	if len(s) > 6000 {
		return "…" + s[len(s)-6000:]
	}
	return s
}
