package e2e

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
)

const (
	csiDiskDriver  = "diskplugin.csi.alibabacloud.com"
	diskZoneKey    = "topology.diskplugin.csi.alibabacloud.com/zone"
	alltypeClass   = "alicloud-disk-topology-alltype"
	labelRestoreCf = "alibabacloud.com/restore-config"
)

var gvrStorageClasses = schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"}

func u(m map[string]any) *unstructured.Unstructured { return &unstructured.Unstructured{Object: m} }

// ensureStorageClass creates an ACK-style CSI disk StorageClass if missing.
func ensureStorageClass(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	sc := u(map[string]any{
		"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
		"metadata":          map[string]any{"name": name},
		"provisioner":       csiDiskDriver,
		"parameters":        map[string]any{"type": "cloud_essd,cloud_ssd,cloud_efficiency"},
		"reclaimPolicy":     "Delete",
		"volumeBindingMode": "WaitForFirstConsumer",
	})
	if err := env.Apply(ctx, gvrStorageClasses, sc); err != nil {
		t.Fatal(err)
	}
}

// boundDiskClaim is what the CSI disk provisioner and the PV controller leave
// behind for one claim: an ECS disk (seeded in the emulator), a PV named
// after it with zone node affinity, and the claim bound to it. No controller
// runs here, so the test writes both statuses itself.
type boundDiskClaim struct {
	DiskID string
	PV     *unstructured.Unstructured
	PVC    *unstructured.Unstructured
}

func createBoundDiskClaim(t *testing.T, ctx context.Context, ns, claim string, labels map[string]any, sizeGi int, class, region, zone string) boundDiskClaim {
	t.Helper()
	diskID := env.Emulator.ECS.SeedDisk(region, zone, "cloud_essd", sizeGi, map[string]string{"e2e": t.Name()})
	size := fmt.Sprintf("%dGi", sizeGi)
	pv := u(map[string]any{
		"apiVersion": "v1", "kind": "PersistentVolume",
		"metadata": map[string]any{"name": diskID, "labels": map[string]any{"topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": region}},
		"spec": map[string]any{
			"capacity":                      map[string]any{"storage": size},
			"accessModes":                   []any{"ReadWriteOnce"},
			"persistentVolumeReclaimPolicy": "Delete",
			"storageClassName":              class,
			"volumeMode":                    "Filesystem",
			"claimRef":                      map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns, "name": claim},
			"csi":                           map[string]any{"driver": csiDiskDriver, "volumeHandle": diskID, "fsType": "ext4"},
			"nodeAffinity": map[string]any{"required": map[string]any{"nodeSelectorTerms": []any{map[string]any{
				"matchExpressions": []any{map[string]any{"key": diskZoneKey, "operator": "In", "values": []any{zone}}},
			}}}},
		},
	})
	pvc := u(map[string]any{
		"apiVersion": "v1", "kind": "PersistentVolumeClaim",
		"metadata": map[string]any{"name": claim, "namespace": ns, "labels": labels},
		"spec": map[string]any{
			"accessModes":      []any{"ReadWriteOnce"},
			"resources":        map[string]any{"requests": map[string]any{"storage": size}},
			"storageClassName": class,
			"volumeMode":       "Filesystem",
			"volumeName":       diskID,
		},
	})
	created := createAll(t, ctx, pv, pvc)
	t.Cleanup(func() { _ = env.DeleteClusterObject(context.Background(), gvrPVs, diskID) })
	pv, pvc = created[0], created[1]
	unstructured.SetNestedField(pv.Object, "Bound", "status", "phase")
	unstructured.SetNestedField(pvc.Object, "Bound", "status", "phase")
	unstructured.SetNestedStringSlice(pvc.Object, []string{"ReadWriteOnce"}, "status", "accessModes")
	unstructured.SetNestedStringMap(pvc.Object, map[string]string{"storage": size}, "status", "capacity")
	var err error
	if pv, err = env.Dynamic.Resource(gvrPVs).UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("binding PV %s: %v", diskID, err)
	}
	if pvc, err = env.Dynamic.Resource(gvrPVCs).Namespace(ns).UpdateStatus(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("binding PVC %s/%s: %v", ns, claim, err)
	}
	return boundDiskClaim{DiskID: diskID, PV: pv, PVC: pvc}
}

// restoredDisk follows a restored claim to its PV and to the ECS disk the
// plugin created, and checks the PV points at that disk in its zone.
func restoredDisk(t *testing.T, ctx context.Context, ns, claim string) (pv *unstructured.Unstructured, disk ecs.Disk) {
	t.Helper()
	pvc, err := env.Dynamic.Resource(gvrPVCs).Namespace(ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("restored claim %s/%s: %v", ns, claim, err)
	}
	pvName, _, _ := unstructured.NestedString(pvc.Object, "spec", "volumeName")
	if pvName == "" {
		t.Fatalf("restored claim %s/%s has no volumeName", ns, claim)
	}
	if pv, err = env.Dynamic.Resource(gvrPVs).Get(ctx, pvName, metav1.GetOptions{}); err != nil {
		t.Fatalf("PV %s of restored claim %s/%s: %v", pvName, ns, claim, err)
	}
	t.Cleanup(func() { _ = env.DeleteClusterObject(context.Background(), gvrPVs, pvName) })
	handle, _, _ := unstructured.NestedString(pv.Object, "spec", "csi", "volumeHandle")
	disk, ok := env.Emulator.ECS.Disk(handle)
	if !ok {
		t.Fatalf("PV %s points at disk %q, which the ECS emulator does not have", pvName, handle)
	}
	if ref, _, _ := unstructured.NestedString(pv.Object, "spec", "claimRef", "namespace"); ref != ns {
		t.Errorf("PV %s claimRef namespace is %q, want %q", pvName, ref, ns)
	}
	if zones := pvZones(pv); len(zones) != 1 || zones[0] != disk.ZoneID {
		t.Errorf("PV %s node affinity zones are %v; its disk %s is in %s", pvName, zones, disk.DiskID, disk.ZoneID)
	}
	return pv, disk
}

// pvZones returns the zone values of the PV's required node affinity.
func pvZones(pv *unstructured.Unstructured) []string {
	terms, _, _ := unstructured.NestedSlice(pv.Object, "spec", "nodeAffinity", "required", "nodeSelectorTerms")
	var zones []string
	for _, term := range terms {
		exprs, _, _ := unstructured.NestedSlice(term.(map[string]any), "matchExpressions")
		for _, e := range exprs {
			em := e.(map[string]any)
			switch em["key"] {
			case diskZoneKey, "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone":
				vals, _, _ := unstructured.NestedStringSlice(em, "values")
				zones = append(zones, vals...)
			}
		}
	}
	return zones
}

// backupSnapshots returns the emulator's snapshots of the given disks.
func backupSnapshots(region string, diskIDs ...string) map[string]ecs.Snapshot {
	want := map[string]bool{}
	for _, d := range diskIDs {
		want[d] = true
	}
	out := map[string]ecs.Snapshot{}
	for _, s := range env.Emulator.ECS.Snapshots(region) {
		if want[s.SourceDiskID] {
			out[s.SourceDiskID] = s
		}
	}
	return out
}

// createConfigMap creates a ConfigMap in the velero namespace, removed when the test ends.
func createVeleroConfigMap(t *testing.T, ctx context.Context, name string, labels map[string]any, data map[string]any) {
	t.Helper()
	cm := u(map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": stack.VeleroNamespace, "labels": labels},
		"data":     data})
	createAll(t, ctx, cm)
	t.Cleanup(func() {
		_ = env.Kube.CoreV1().ConfigMaps(stack.VeleroNamespace).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}
