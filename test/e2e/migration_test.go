package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
)

// The migration of Alibaba Cloud's ACK migration walk-through (a blog post on
// adjusting resources when migrating to ACK with Velero): its image, registry
// mapping and resource modifier.
const (
	sourceImage = "anolis-registry.cn-zhangjiakou.cr.aliyuncs.com/openanolis/nginx:1.14.1-8.6"
	mappedImage = "registry.cn-beijing.aliyuncs.com/acr-e2e/nginx:1.14.1-8.6"
	registryMap = "anolis-registry.cn-zhangjiakou.cr.aliyuncs.com/openanolis: registry.cn-beijing.aliyuncs.com/acr-e2e\n"
)

// webStatefulSet is the ACK migration walk-through's StatefulSet `web`.
func webStatefulSet(ns string) *unstructured.Unstructured {
	return u(map[string]any{
		"apiVersion": "apps/v1", "kind": "StatefulSet",
		"metadata": map[string]any{"name": "web", "namespace": ns, "labels": map[string]any{"app": "nginx"}},
		"spec": map[string]any{
			"replicas":    int64(2),
			"selector":    map[string]any{"matchLabels": map[string]any{"app": "nginx"}},
			"serviceName": "nginx",
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "nginx"}},
				"spec":     webPodSpec(nil),
			},
			"volumeClaimTemplates": []any{map[string]any{
				"apiVersion": "v1", "kind": "PersistentVolumeClaim",
				"metadata": map[string]any{"name": "www", "labels": map[string]any{"app": "nginx"}},
				"spec": map[string]any{
					"accessModes":      []any{"ReadWriteOnce"},
					"resources":        map[string]any{"requests": map[string]any{"storage": "20Gi"}},
					"storageClassName": alltypeClass,
					"volumeMode":       "Filesystem",
				},
			}},
		},
	})
}

// webPodSpec is the walk-through's pod template; a claim makes it a pod's spec.
func webPodSpec(claim *string) map[string]any {
	spec := map[string]any{
		"affinity": map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
			"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{"key": "is_idc", "operator": "Exists"}}}},
		}}},
		"containers": []any{map[string]any{
			"image": sourceImage, "imagePullPolicy": "IfNotPresent", "name": "nginx",
			"ports":                    []any{map[string]any{"containerPort": int64(80), "name": "web", "protocol": "TCP"}},
			"terminationMessagePath":   "/dev/termination-log",
			"terminationMessagePolicy": "File",
			"volumeMounts":             []any{map[string]any{"mountPath": "/usr/share/nginx/html/", "name": "www"}},
		}},
	}
	if claim != nil {
		spec["volumes"] = []any{map[string]any{"name": "www", "persistentVolumeClaim": map[string]any{"claimName": *claim}}}
	}
	return spec
}

// webPod is one pod of `web` as the StatefulSet controller would create it
// (no kubelet runs, so it stays Pending).
func webPod(ns string, ordinal int) *unstructured.Unstructured {
	claim := fmt.Sprintf("www-web-%d", ordinal)
	return u(map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": fmt.Sprintf("web-%d", ordinal), "namespace": ns,
			"labels": map[string]any{"app": "nginx", "apps.kubernetes.io/pod-index": fmt.Sprint(ordinal)}},
		"spec": webPodSpec(&claim),
	})
}

// TestMigration is the migration scenario: the ACK migration walk-through's
// StatefulSet `web` (is_idc node affinity, 20Gi alicloud-disk-topology-alltype
// claims on ECS disks) is backed up with ECS snapshots and restored into
// namespace default1 with the walk-through's registry mapping and a resource
// modifier that removes the node affinity. Checked: image, namespace, affinity, every other field unchanged,
// and each claim bound to a PV on a new disk created from the backup's snapshot.
func TestMigration(t *testing.T) {
	ctx := testContext(t)
	const srcNS, dstNS, backup, restore = "default", "default1", "migration", "migration-restore"
	region, zone := regions[0].ID, regions[0].Zones[0]

	narrate(t, "Source: the ACK migration walk-through's StatefulSet `web` in namespace %s, image %s, scheduled only on nodes labelled is_idc, with two 20Gi %s disks", srcNS, sourceImage, alltypeClass)
	ensureStorageClass(t, ctx, alltypeClass)
	sts := createAll(t, ctx, webStatefulSet(srcNS))[0]
	t.Cleanup(func() { deleteIn(context.Background(), gvrStatefulSets, srcNS, "web") })
	var claims []boundDiskClaim
	for i := 0; i < 2; i++ {
		c := createBoundDiskClaim(t, ctx, srcNS, fmt.Sprintf("www-web-%d", i), map[string]any{"app": "nginx"}, 20, alltypeClass, region, zone)
		t.Cleanup(func() { deleteIn(context.Background(), gvrPVCs, srcNS, c.PVC.GetName()) })
		claims = append(claims, c)
		pod := createAll(t, ctx, webPod(srcNS, i))[0]
		t.Cleanup(func() { deleteIn(context.Background(), gvrPods, srcNS, pod.GetName()) })
		narrate(t, "  claim %s bound to PV %s on ECS disk %s (%s)", c.PVC.GetName(), c.PV.GetName(), c.DiskID, zone)
	}

	narrate(t, "Backup: velero backup create %s --include-namespaces %s --snapshot-volumes", backup, srcNS)
	start := time.Now()
	velero(t, ctx, "backup", "create", backup, "--include-namespaces", srcNS, "--snapshot-volumes")
	b := waitPhase(t, ctx, stack.Backups, backup, "Completed")
	t.Cleanup(func() { deleteBackup(t, backup) })
	done, _, _ := unstructured.NestedInt64(b.Object, "status", "volumeSnapshotsCompleted")
	if done != int64(len(claims)) {
		t.Errorf("backup %s: volumeSnapshotsCompleted = %d, want %d", backup, done, len(claims))
	}
	snaps := backupSnapshots(region, claims[0].DiskID, claims[1].DiskID)
	for _, c := range claims {
		s, ok := snaps[c.DiskID]
		if !ok {
			t.Fatalf("the ECS emulator has no snapshot of disk %s after backup %s", c.DiskID, backup)
		}
		narrate(t, "  disk %s -> snapshot %s (%s)", c.DiskID, s.SnapshotID, s.Status)
	}
	narrate(t, "  backup completed in %s; objects in oss://%s/backups/%s/: %d", time.Since(start).Round(time.Second), stack.Bucket, backup, len(bucketKeys(t, "backups/"+backup+"/")))

	narrate(t, "Restore settings: registry mapping (per-restore ConfigMap) and the walk-through's resource modifier (removes node affinity)")
	createVeleroConfigMap(t, ctx, "migration", nil, map[string]any{"imageRegistryMapping": registryMap})
	// The repository's example, as a user applies it: the stock server
	// parses it with Velero's own resource-modifier code, and a restore
	// with modifiers it cannot parse would fail validation.
	createAll(t, ctx, exampleObjects(t, "resource-modifier.yaml")...)
	t.Cleanup(func() { _ = env.DeleteNamespace(context.Background(), dstNS) })

	narrate(t, "Restore: velero restore create %s --from-backup %s --namespace-mappings %s:%s --resource-modifier-configmap migration-resource-modifier --labels %s=migration",
		restore, backup, srcNS, dstNS, labelRestoreCf)
	start = time.Now()
	velero(t, ctx, "restore", "create", restore, "--from-backup", backup,
		"--namespace-mappings", srcNS+":"+dstNS,
		"--resource-modifier-configmap", "migration-resource-modifier",
		"--labels", labelRestoreCf+"=migration")
	waitPhase(t, ctx, stack.Restore, restore, "Completed")
	narrate(t, "  restore completed in %s", time.Since(start).Round(time.Second))

	// The StatefulSet: exactly the original but for namespace, image and affinity.
	got, err := env.Dynamic.Resource(gvrStatefulSets).Namespace(dstNS).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("restored StatefulSet %s/web: %v", dstNS, err)
	}
	want := stack.Normalize(sts)
	unstructured.SetNestedField(want, dstNS, "metadata", "namespace")
	unstructured.RemoveNestedField(want, "spec", "template", "spec", "affinity", "nodeAffinity")
	setImage(t, want, mappedImage, "spec", "template", "spec")
	have := stack.Normalize(got)
	assertEqual(t, "restored StatefulSet "+dstNS+"/web", want, have)
	if img := containerImage(got.Object, "spec", "template", "spec"); img != mappedImage {
		t.Errorf("restored StatefulSet image = %q, want %q", img, mappedImage)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", "template", "spec", "affinity", "nodeAffinity"); found {
		t.Errorf("restored StatefulSet still has node affinity")
	}
	printDiff(t, "StatefulSet web: before (namespace "+srcNS+") / after (namespace "+dstNS+")", stack.Normalize(sts), have)

	// The pods: the walk-through's second rule removes their whole affinity.
	for i := 0; i < 2; i++ {
		name := fmt.Sprintf("web-%d", i)
		pod, err := env.Dynamic.Resource(gvrPods).Namespace(dstNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("restored pod %s/%s: %v", dstNS, name, err)
			continue
		}
		if _, found, _ := unstructured.NestedFieldNoCopy(pod.Object, "spec", "affinity"); found {
			t.Errorf("restored pod %s/%s still has an affinity", dstNS, name)
		}
		if img := containerImage(pod.Object, "spec"); img != mappedImage {
			t.Errorf("restored pod %s/%s image = %q, want %q", dstNS, name, img, mappedImage)
		}
	}

	// The volumes: each claim is bound to a new PV on a disk made from its snapshot.
	for _, c := range claims {
		pv, disk := restoredDisk(t, ctx, dstNS, c.PVC.GetName())
		snap := snaps[c.DiskID]
		if disk.SourceSnapshotID != snap.SnapshotID {
			t.Errorf("claim %s/%s: disk %s was created from snapshot %q, want %s (the backup's snapshot of %s)",
				dstNS, c.PVC.GetName(), disk.DiskID, disk.SourceSnapshotID, snap.SnapshotID, c.DiskID)
		}
		if disk.DiskID == c.DiskID || pv.GetName() == c.PV.GetName() {
			t.Errorf("claim %s/%s reuses the source disk %s / PV %s", dstNS, c.PVC.GetName(), c.DiskID, c.PV.GetName())
		}
		if disk.RegionID != region || disk.SizeGiB < 20 {
			t.Errorf("restored disk %s is %d GiB in %s, want >= 20 GiB in %s", disk.DiskID, disk.SizeGiB, disk.RegionID, region)
		}
		narrate(t, "  claim %s/%s -> PV %s -> new disk %s (%s, from snapshot %s)", dstNS, c.PVC.GetName(), pv.GetName(), disk.DiskID, disk.ZoneID, disk.SourceSnapshotID)
	}
	// The source application is untouched.
	if _, err := env.Dynamic.Resource(gvrStatefulSets).Namespace(srcNS).Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("source StatefulSet %s/web: %v", srcNS, err)
	}
	if !t.Failed() {
		narrate(t, "Result: `web` now runs from %s in namespace %s on any node (node affinity removed), each claim on a new ECS disk made from its snapshot; the source in %s is untouched. Stopping the stack.",
			mappedImage, dstNS, srcNS)
	}
}

// deleteBackup deletes a backup with the CLI at the end of a test (its
// snapshots too), so tests do not see each other's snapshots.
func deleteBackup(t testing.TB, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := env.Velero(ctx, "backup", "delete", name, "--confirm"); err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	_ = stack.Poll(ctx, time.Minute, func() (bool, string, error) {
		_, err := env.Dynamic.Resource(stack.Backups).Namespace(stack.VeleroNamespace).Get(ctx, name, metav1.GetOptions{})
		return err != nil, "backup " + name + " still exists", nil
	})
}

func deleteIn(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) {
	ri := env.Dynamic.Resource(gvr).Namespace(ns)
	if o, err := ri.Get(ctx, name, metav1.GetOptions{}); err == nil && len(o.GetFinalizers()) > 0 {
		o.SetFinalizers(nil)
		_, _ = ri.Update(ctx, o, metav1.UpdateOptions{})
	}
	zero := int64(0)
	_ = ri.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
}

func containerImage(obj map[string]any, podSpec ...string) string {
	containers, _, _ := unstructured.NestedSlice(obj, append(podSpec, "containers")...)
	if len(containers) == 0 {
		return ""
	}
	img, _ := containers[0].(map[string]any)["image"].(string)
	return img
}

func setImage(t *testing.T, obj map[string]any, image string, podSpec ...string) {
	t.Helper()
	path := append(podSpec, "containers")
	containers, _, _ := unstructured.NestedSlice(obj, path...)
	for _, c := range containers {
		c.(map[string]any)["image"] = image
	}
	if err := unstructured.SetNestedSlice(obj, containers, path...); err != nil {
		t.Fatal(err)
	}
}

// printDiff shows a before/after line diff of two objects as YAML (in the demo
// on stdout, otherwise in the test log).
func printDiff(t *testing.T, title string, before, after map[string]any) {
	t.Helper()
	a, _ := yaml.Marshal(before)
	b, _ := yaml.Marshal(after)
	d := lineDiff(strings.Split(strings.TrimSpace(string(a)), "\n"), strings.Split(strings.TrimSpace(string(b)), "\n"))
	if demo {
		fmt.Printf("\n==> %s (server-set metadata left out)\n%s", title, d)
		return
	}
	t.Logf("%s:\n%s", title, d)
}

// lineDiff is a unified-style diff (all lines, '-' removed, '+' added) from
// the longest common subsequence; objects are small.
func lineDiff(a, b []string) string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var sb strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			sb.WriteString("  " + a[i] + "\n")
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			sb.WriteString("+ " + b[j] + "\n")
			j++
		default:
			sb.WriteString("- " + a[i] + "\n")
			i++
		}
	}
	return sb.String()
}
