package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
)

// TestCrossRegionRestore is the cross-region scenario: back up with the
// VolumeSnapshotLocation in cn-hangzhou, point the same location at
// cn-beijing, restore: the disk is created in a Beijing zone from a copy of
// the snapshot, and the PV's node affinity names that zone.
func TestCrossRegionRestore(t *testing.T) {
	ctx := testContext(t)
	const ns, dstNS, vsl, backup, restore = "e2e-xr", "e2e-xr-beijing", "cross-region", "cross-region", "cross-region-restore"
	src, dst := regions[0], regions[1]
	applyVSL(t, ctx, vsl, src.ID, nil)
	ensureStorageClass(t, ctx, alltypeClass)
	createNamespace(t, ctx, ns)
	claim := createBoundDiskClaim(t, ctx, ns, "data", map[string]any{"app": "db"}, 40, alltypeClass, src.ID, src.Zones[1])

	velero(t, ctx, "backup", "create", backup, "--include-namespaces", ns, "--snapshot-volumes", "--volume-snapshot-locations", vsl)
	waitPhase(t, ctx, stack.Backups, backup, "Completed")
	t.Cleanup(func() { deleteBackup(t, backup) })
	snap, ok := backupSnapshots(src.ID, claim.DiskID)[claim.DiskID]
	if !ok {
		t.Fatalf("no snapshot of disk %s in %s after the backup", claim.DiskID, src.ID)
	}

	// The restore cluster is in Beijing: same location name, other region,
	// and a node in one Beijing zone (no kubelet: just the Node object the
	// plugin reads zones from).
	node := "e2e-beijing-node"
	createNode(t, ctx, node, map[string]string{
		"topology.kubernetes.io/region": dst.ID, "topology.kubernetes.io/zone": dst.Zones[1],
	})
	// The same location, now in the restore region (its cleanup, registered
	// first, runs after the backup's deletion, which needs it).
	if err := env.ApplyVSL(ctx, vsl, dst.ID, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.DeleteNamespace(context.Background(), dstNS) })
	velero(t, ctx, "restore", "create", restore, "--from-backup", backup, "--namespace-mappings", ns+":"+dstNS)
	waitPhase(t, ctx, stack.Restore, restore, "Completed")

	pv, disk := restoredDisk(t, ctx, dstNS, "data")
	if disk.RegionID != dst.ID || disk.ZoneID != dst.Zones[1] {
		t.Errorf("restored disk %s is in %s/%s, want %s/%s (the zone of the cluster's node)", disk.DiskID, disk.RegionID, disk.ZoneID, dst.ID, dst.Zones[1])
	}
	copied, ok := env.Emulator.ECS.Snapshot(disk.SourceSnapshotID)
	switch {
	case !ok:
		t.Errorf("restored disk %s comes from snapshot %q, unknown to the emulator", disk.DiskID, disk.SourceSnapshotID)
	case copied.RegionID != dst.ID || copied.SourceSnapshotID != snap.SnapshotID || copied.SourceRegionID != src.ID:
		t.Errorf("restored disk %s comes from snapshot %s (%s, copy of %q from %q), want a %s copy of %s from %s",
			disk.DiskID, copied.SnapshotID, copied.RegionID, copied.SourceSnapshotID, copied.SourceRegionID, dst.ID, snap.SnapshotID, src.ID)
	}
	if disk.SizeGiB != 40 {
		t.Errorf("restored disk %s is %d GiB, want 40", disk.DiskID, disk.SizeGiB)
	}
	for _, key := range []string{"topology.kubernetes.io/region", "topology.diskplugin.csi.alibabacloud.com/region"} {
		if v, ok := pv.GetLabels()[key]; ok && v != dst.ID {
			t.Errorf("restored PV %s label %s = %q, want %q", pv.GetName(), key, v, dst.ID)
		}
	}
}

// TestCrossRegionCopyFailsOnce: when ECS fails the cross-region copy, the
// stock Velero restore still completes: the plugin deletes the failed copy
// and copies again, and the disk comes from the second copy.
func TestCrossRegionCopyFailsOnce(t *testing.T) {
	ctx := testContext(t)
	const ns, dstNS, vsl, backup, restore = "e2e-copy-fails", "e2e-copy-fails-beijing", "copy-fails", "copy-fails", "copy-fails-restore"
	src, dst := regions[0], regions[1]
	applyVSL(t, ctx, vsl, src.ID, nil)
	ensureStorageClass(t, ctx, alltypeClass)
	createNamespace(t, ctx, ns)
	claim := createBoundDiskClaim(t, ctx, ns, "data", nil, 20, alltypeClass, src.ID, src.Zones[0])
	velero(t, ctx, "backup", "create", backup, "--include-namespaces", ns, "--snapshot-volumes", "--volume-snapshot-locations", vsl)
	waitPhase(t, ctx, stack.Backups, backup, "Completed")
	t.Cleanup(func() { deleteBackup(t, backup) })
	snap := backupSnapshots(src.ID, claim.DiskID)[claim.DiskID]

	createNode(t, ctx, "e2e-copy-fails-node", map[string]string{"topology.kubernetes.io/zone": dst.Zones[0]})
	// The same location, now in the restore region (its cleanup, registered
	// first, runs after the backup's deletion, which needs it).
	if err := env.ApplyVSL(ctx, vsl, dst.ID, nil); err != nil {
		t.Fatal(err)
	}
	env.Emulator.ECS.FailNextCopies(1)
	t.Cleanup(func() { env.Emulator.ECS.FailNextCopies(0) })
	copiesBefore := env.Emulator.ECS.Calls("CopySnapshot")
	t.Cleanup(func() { _ = env.DeleteNamespace(context.Background(), dstNS) })
	velero(t, ctx, "restore", "create", restore, "--from-backup", backup, "--namespace-mappings", ns+":"+dstNS)
	waitPhase(t, ctx, stack.Restore, restore, "Completed")

	_, disk := restoredDisk(t, ctx, dstNS, "data")
	if n := env.Emulator.ECS.Calls("CopySnapshot") - copiesBefore; n != 2 {
		t.Errorf("CopySnapshot calls during the restore = %d, want 2 (the failed copy and its replacement)", n)
	}
	var copies []string
	for _, s := range env.Emulator.ECS.Snapshots(dst.ID) {
		if s.SourceSnapshotID == snap.SnapshotID {
			copies = append(copies, s.SnapshotID+" "+s.Status)
		}
	}
	if len(copies) != 1 || copies[0] != disk.SourceSnapshotID+" accomplished" {
		t.Errorf("copies of %s in %s: %v; want only the accomplished one disk %s was made from (%s)", snap.SnapshotID, dst.ID, copies, disk.DiskID, disk.SourceSnapshotID)
	}
}

// TestRestoreAdjustments is the restore-adjustments scenario: a LoadBalancer
// Service that reuses an existing SLB keeps it with listeners not overridden;
// a 10Gi disk claim is raised to 20Gi; a StorageClass conversion succeeds;
// one to a missing class fails that item with the message of the ACK backup
// center's FAQ, which `velero restore describe` shows.
func TestRestoreAdjustments(t *testing.T) {
	ctx := testContext(t)
	const ns, dstNS, backup, restore = "e2e-adjust", "e2e-adjusted", "adjust", "adjust-restore"
	ensureStorageClass(t, ctx, alltypeClass)
	createNamespace(t, ctx, ns)
	lbAnn := "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id"
	forceAnn := "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-force-override-listeners"
	claim := func(name, class, size string) *unstructured.Unstructured {
		return u(map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec": map[string]any{"accessModes": []any{"ReadWriteOnce"}, "storageClassName": class,
				"resources": map[string]any{"requests": map[string]any{"storage": size}}}})
	}
	createAll(t, ctx,
		u(map[string]any{"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": "shop", "namespace": ns, "annotations": map[string]any{
				lbAnn: "lb-bp1e2etest0001", forceAnn: "true", "service.beta.kubernetes.io/hash": "e2e0hash"}},
			"spec": map[string]any{"type": "LoadBalancer", "selector": map[string]any{"app": "shop"},
				"ports": []any{map[string]any{"name": "http", "port": int64(80), "targetPort": int64(8080), "protocol": "TCP"}}}}),
		claim("small", alltypeClass, "10Gi"),
		claim("converted", "alicloud-disk-efficiency", "30Gi"),
		claim("unconvertible", "old-class", "30Gi"),
	)
	velero(t, ctx, "backup", "create", backup, "--include-namespaces", ns, "--snapshot-volumes=false")
	waitPhase(t, ctx, stack.Backups, backup, "Completed")
	t.Cleanup(func() { deleteBackup(t, backup) })

	createVeleroConfigMap(t, ctx, "adjust", nil, map[string]any{
		"storageClassMapping": "alicloud-disk-efficiency: " + alltypeClass + "\nold-class: missing-class\n",
	})
	t.Cleanup(func() { _ = env.DeleteNamespace(context.Background(), dstNS) })
	velero(t, ctx, "restore", "create", restore, "--from-backup", backup, "--namespace-mappings", ns+":"+dstNS,
		"--labels", labelRestoreCf+"=adjust")
	waitPhase(t, ctx, stack.Restore, restore, "PartiallyFailed")

	svc, err := env.Kube.CoreV1().Services(dstNS).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("restored Service: %v", err)
	}
	if got := svc.Annotations[lbAnn]; got != "lb-bp1e2etest0001" {
		t.Errorf("restored Service reuses load balancer %q, want lb-bp1e2etest0001", got)
	}
	if got := svc.Annotations[forceAnn]; got != "false" {
		t.Errorf("restored Service %s = %q, want \"false\" (listeners not overridden)", forceAnn, got)
	}
	if _, ok := svc.Annotations["service.beta.kubernetes.io/hash"]; ok {
		t.Errorf("restored Service keeps the CCM hash annotation")
	}
	small, err := env.Kube.CoreV1().PersistentVolumeClaims(dstNS).Get(ctx, "small", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("restored claim small: %v", err)
	}
	if got := small.Spec.Resources.Requests.Storage().String(); got != "20Gi" {
		t.Errorf("restored 10Gi disk claim requests %s, want 20Gi", got)
	}
	conv, err := env.Kube.CoreV1().PersistentVolumeClaims(dstNS).Get(ctx, "converted", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("restored claim converted: %v", err)
	}
	if got := ptrStr(conv.Spec.StorageClassName); got != alltypeClass {
		t.Errorf("converted claim has StorageClass %q, want %s", got, alltypeClass)
	}
	if _, err := env.Kube.CoreV1().PersistentVolumeClaims(dstNS).Get(ctx, "unconvertible", metav1.GetOptions{}); err == nil {
		t.Errorf("claim unconvertible was restored although its StorageClass mapping targets a missing class")
	}
	desc := velero(t, ctx, "restore", "describe", restore, "--details")
	if !strings.Contains(desc, "storageclass missing-class not exists") {
		t.Errorf("velero restore describe does not show the ACK backup center FAQ's message \"storageclass missing-class not exists\":\n%s", desc)
	}
}

// TestFaultsBackupRestore is the faults scenario: with the emulator failing
// 10% of OSS requests with 5xx and throttling 30% of ECS calls, a backup with
// a volume snapshot still completes and the restore is identical. Then,
// without faults, the backup-deletion check for snapshots: deleting the
// backup removes its objects and its snapshot.
func TestFaultsBackupRestore(t *testing.T) {
	ctx := testContext(t)
	const ns, dstNS, backup, restore = "e2e-faults", "e2e-faults-restored", "faults", "faults-restore"
	ensureStorageClass(t, ctx, alltypeClass)
	createNamespace(t, ctx, ns)
	originals := createAll(t, ctx, appObjects(ns)...)
	claim := createBoundDiskClaim(t, ctx, ns, "data", map[string]any{"app": "shop"}, 20, alltypeClass, regions[0].ID, regions[0].Zones[0])

	env.OSSFaults.Set(fault.Config{ErrorRate: 0.10, Seed: 5})
	env.ECSFaults.Set(fault.Config{ThrottleRate: 0.30, Seed: 6})
	t.Cleanup(func() {
		env.OSSFaults.Set(fault.Config{})
		env.ECSFaults.Set(fault.Config{})
	})
	start := time.Now()
	velero(t, ctx, "backup", "create", backup, "--include-namespaces", ns, "--snapshot-volumes")
	waitPhase(t, ctx, stack.Backups, backup, "Completed")
	t.Cleanup(func() { deleteBackup(t, backup) })
	t.Logf("backup under faults completed in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { _ = env.DeleteNamespace(context.Background(), dstNS) })
	velero(t, ctx, "restore", "create", restore, "--from-backup", backup, "--namespace-mappings", ns+":"+dstNS)
	waitPhase(t, ctx, stack.Restore, restore, "Completed")

	// The faults really happened (the test proves nothing otherwise).
	if n := env.OSSFaults.Count(fault.ServerError); n == 0 {
		t.Errorf("the OSS emulator injected no 5xx errors")
	}
	if n := env.ECSFaults.Count(fault.Throttle); n == 0 {
		t.Errorf("the ECS emulator throttled no calls")
	}
	env.OSSFaults.Set(fault.Config{})
	env.ECSFaults.Set(fault.Config{})

	var moved []*unstructured.Unstructured
	for _, o := range originals {
		c := o.DeepCopy()
		c.SetNamespace(dstNS)
		moved = append(moved, c)
	}
	compareRestored(t, ctx, moved)
	_, disk := restoredDisk(t, ctx, dstNS, "data")
	snap := backupSnapshots(regions[0].ID, claim.DiskID)[claim.DiskID]
	if disk.SourceSnapshotID == "" || disk.SourceSnapshotID != snap.SnapshotID {
		t.Errorf("restored disk %s comes from snapshot %q, want %q", disk.DiskID, disk.SourceSnapshotID, snap.SnapshotID)
	}

	// Backup deletion, snapshots: `velero backup delete` removes the backup's
	// objects from the bucket and its snapshot from ECS.
	velero(t, ctx, "backup", "delete", backup, "--confirm")
	err := stack.Poll(ctx, 2*time.Minute, func() (bool, string, error) {
		if _, err := env.Dynamic.Resource(stack.Backups).Namespace(stack.VeleroNamespace).Get(ctx, backup, metav1.GetOptions{}); err == nil {
			return false, "Backup " + backup + " still exists", nil
		}
		if left := bucketKeys(t, "backups/"+backup+"/"); len(left) > 0 {
			return false, "bucket still holds " + strings.Join(left, ", "), nil
		}
		if s, ok := env.Emulator.ECS.Snapshot(snap.SnapshotID); ok {
			return false, "snapshot " + s.SnapshotID + " still exists (" + s.Status + ")", nil
		}
		return true, "", nil
	})
	if err != nil {
		t.Fatalf("velero backup delete %s: %v; %s", backup, err, deletionStatus(ctx, backup))
	}
}

// deletionStatus describes the DeleteBackupRequests of backup (phase and
// errors), for a deletion that did not finish.
func deletionStatus(ctx context.Context, backup string) string {
	list, err := env.Dynamic.Resource(stack.DeleteBackupRequests).Namespace(stack.VeleroNamespace).
		List(ctx, metav1.ListOptions{LabelSelector: "velero.io/backup-name=" + backup})
	if err != nil {
		return "listing its DeleteBackupRequests: " + err.Error()
	}
	var parts []string
	for _, r := range list.Items {
		phase, _, _ := unstructured.NestedString(r.Object, "status", "phase")
		errs, _, _ := unstructured.NestedStringSlice(r.Object, "status", "errors")
		parts = append(parts, fmt.Sprintf("DeleteBackupRequest %s: phase %q, errors %q", r.GetName(), phase, errs))
	}
	if len(parts) == 0 {
		return "no DeleteBackupRequest for it"
	}
	return strings.Join(parts, "; ")
}

// TestFailedSnapshotFailsBackup: with waitForSnapshot, a disk snapshot that
// ECS fails makes the stock Velero backup PartiallyFailed with the plugin's
// explanation in `velero backup logs`, instead of a Completed backup whose
// volume cannot be restored; the failed snapshot is not left in ECS.
func TestFailedSnapshotFailsBackup(t *testing.T) {
	ctx := testContext(t)
	const ns, vsl, backup = "e2e-failed-snapshot", "wait-for-snapshot", "failed-snapshot"
	region := regions[0]
	ensureStorageClass(t, ctx, alltypeClass)
	createNamespace(t, ctx, ns)
	claim := createBoundDiskClaim(t, ctx, ns, "data", nil, 20, alltypeClass, region.ID, region.Zones[0])
	applyVSL(t, ctx, vsl, region.ID, map[string]string{"waitForSnapshot": "true"})

	env.Emulator.ECS.FailNextSnapshots(1)
	t.Cleanup(func() { env.Emulator.ECS.FailNextSnapshots(0) })
	velero(t, ctx, "backup", "create", backup, "--include-namespaces", ns, "--snapshot-volumes", "--volume-snapshot-locations", vsl)
	waitPhase(t, ctx, stack.Backups, backup, "PartiallyFailed")
	t.Cleanup(func() { deleteBackup(t, backup) })

	logs := velero(t, ctx, "backup", "logs", backup)
	for _, want := range []string{"snapshotting disk " + claim.DiskID, "as failed", "run the backup again"} {
		if !strings.Contains(logs, want) {
			t.Errorf("velero backup logs lack %q", want)
		}
	}
	if left := backupSnapshots(region.ID, claim.DiskID); len(left) != 0 {
		t.Errorf("ECS still holds the failed snapshot: %+v", left)
	}
	narrate(t, "ECS failed the snapshot of disk %s: backup %s is PartiallyFailed and says to run it again", claim.DiskID, backup)
}

// applyVSL creates the VolumeSnapshotLocation name on the ECS emulator in
// region, deleted when the test ends. Call it before anything whose cleanup
// needs the location (deleting a backup deletes its snapshots through it).
func applyVSL(t *testing.T, ctx context.Context, name, region string, extra map[string]string) {
	t.Helper()
	if err := env.ApplyVSL(ctx, name, region, extra); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Dynamic.Resource(stack.VSLs).Namespace(stack.VeleroNamespace).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// createNode creates a Node object with labels, deleted when the test ends.
func createNode(t *testing.T, ctx context.Context, name string, labels map[string]string) {
	t.Helper()
	_, err := env.Kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating node %s: %v", name, err)
	}
	t.Cleanup(func() { _ = env.Kube.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

func ptrStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
