package grpc_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/plugintest"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
)

// TestVolumeSnapshotterCrossRegionOverGRPC backs up a 10 GiB Hangzhou disk
// with a cn-hangzhou location and restores it with a cn-beijing one, all
// through the plugin binary, as two Velero servers in two regions would.
func TestVolumeSnapshotterCrossRegionOverGRPC(t *testing.T) {
	emu, err := ecs.New(ecs.Config{
		Auth: auth.NewStore(auth.Credential{AccessKeyID: keyID, AccessKeySecret: keySecret}),
		Regions: []ecs.Region{
			{ID: "cn-hangzhou", Zones: []string{"cn-hangzhou-h", "cn-hangzhou-i"}},
			{ID: "cn-beijing", Zones: []string{"cn-beijing-a"}},
		},
		SnapshotDuration: 300 * time.Millisecond, CopyDuration: 300 * time.Millisecond,
		DiskCreateDuration: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	sourceDisk := emu.SeedDisk("cn-hangzhou", "cn-hangzhou-i", "cloud_essd", 10, map[string]string{"app": "web"})

	log := &plugintest.Log{}
	mgr := plugintest.Manager(t, log)
	vslConfig := func(region string) map[string]string {
		return map[string]string{
			"region": region, "endpoint": srv.URL, "credentialsFile": credentialsFile(t),
			"regionEndpoints": otherRegions(emu, region, srv.URL),
			"pollInterval":    "50ms", "snapshotRetentionDays": "7",
		}
	}
	hangzhou, err := mgr.GetVolumeSnapshotter("velero.io/alibabacloud")
	if err != nil {
		t.Fatal(err)
	}
	if err := hangzhou.Init(vslConfig("cn-hangzhou")); err != nil {
		t.Fatalf("Init cn-hangzhou: %v", err)
	}

	pv := testutil.Unstructured(testutil.DiskPV(sourceDisk, sourceDisk, testutil.InZone("cn-hangzhou-i"), testutil.WithSize("10Gi"), testutil.WithFSType("ext4")))
	volumeID, err := hangzhou.GetVolumeID(pv)
	if err != nil || volumeID != sourceDisk {
		t.Fatalf("GetVolumeID = %q, %v; want %q", volumeID, err, sourceDisk)
	}
	for name, other := range map[string]*unstructured.Unstructured{
		"nas": testutil.Unstructured(testutil.DiskPV("", "nas-pv", testutil.WithDriver("nasplugin.csi.alibabacloud.com"))),
		"ebs": testutil.Unstructured(testutil.DiskPV("", "vol-0123456789abcdef0", testutil.WithDriver("ebs.csi.aws.com"))),
	} {
		if id, err := hangzhou.GetVolumeID(other); err != nil || id != "" {
			t.Fatalf("GetVolumeID(%s PV) = %q, %v; want \"\", nil", name, id, err)
		}
	}
	volumeType, iops, err := hangzhou.GetVolumeInfo(volumeID, "cn-hangzhou-i")
	if err != nil {
		t.Fatalf("GetVolumeInfo: %v", err)
	}
	snapshotID, err := hangzhou.CreateSnapshot(volumeID, "cn-hangzhou-i", map[string]string{"velero.io/backup": "nightly-1"})
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}

	beijing, err := mgr.GetVolumeSnapshotter("velero.io/alibabacloud")
	if err != nil {
		t.Fatal(err)
	}
	if err := beijing.Init(vslConfig("cn-beijing")); err != nil {
		t.Fatalf("Init cn-beijing: %v", err)
	}
	// No Kubernetes cluster here to take a zone from: the error says what to set.
	_, err = beijing.CreateVolumeFromSnapshot(snapshotID, volumeType, "cn-hangzhou-i", iops)
	if err == nil || !strings.Contains(err.Error(), "set the VolumeSnapshotLocation config key zone to one of: cn-beijing-a") {
		t.Fatalf("restore without a zone: %v", err)
	}
	withZone := vslConfig("cn-beijing")
	withZone["zone"] = "cn-beijing-a"
	if beijing, err = mgr.GetVolumeSnapshotter("velero.io/alibabacloud"); err != nil {
		t.Fatal(err)
	}
	if err := beijing.Init(withZone); err != nil {
		t.Fatalf("Init cn-beijing with zone: %v", err)
	}
	var restored []string
	for i := 0; i < 2; i++ {
		diskID, err := beijing.CreateVolumeFromSnapshot(snapshotID, volumeType, "cn-hangzhou-i", iops)
		if err != nil {
			t.Fatalf("restore %d: CreateVolumeFromSnapshot: %v", i+1, err)
		}
		restored = append(restored, diskID)
	}
	if n := emu.Calls("CopySnapshot"); n != 1 {
		t.Fatalf("CopySnapshot called %d times for two restores of one backup, want 1", n)
	}
	disk, ok := emu.Disk(restored[0])
	if !ok || disk.RegionID != "cn-beijing" || disk.ZoneID != "cn-beijing-a" || disk.SizeGiB != 20 || disk.Status != ecs.DiskAvailable {
		t.Fatalf("restored disk = %+v (found %v); want an Available 20 GiB disk in cn-beijing-a", disk, ok)
	}
	copied, ok := emu.Snapshot(disk.SourceSnapshotID)
	original := strings.TrimPrefix(snapshotID, "cn-hangzhou/")
	if !ok || copied.RegionID != "cn-beijing" || copied.SourceSnapshotID != original {
		t.Fatalf("restored disk's snapshot %+v does not lead back to %s", copied, original)
	}
	if src, _ := emu.Snapshot(original); src.SourceDiskID != sourceDisk {
		t.Fatalf("original snapshot's source disk = %q, want %q", src.SourceDiskID, sourceDisk)
	}

	updated, err := beijing.SetVolumeID(pv, restored[0])
	if err != nil {
		t.Fatalf("SetVolumeID: %v", err)
	}
	var got corev1.PersistentVolume
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(updated.UnstructuredContent(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.CSI.VolumeHandle != restored[0] {
		t.Fatalf("volumeHandle = %q, want %q", got.Spec.CSI.VolumeHandle, restored[0])
	}
	if zones := affinityZones(&got); strings.Join(zones, ",") != "cn-beijing-a" {
		t.Fatalf("node affinity zones = %q, want cn-beijing-a", zones)
	}
	if size := got.Spec.Capacity[corev1.ResourceStorage]; size.Cmp(resource.MustParse("20Gi")) != 0 {
		t.Fatalf("capacity = %s, want 20Gi", size.String())
	}

	for i := 0; i < 2; i++ {
		if err := hangzhou.DeleteSnapshot(snapshotID); err != nil {
			t.Fatalf("DeleteSnapshot (time %d): %v", i+1, err)
		}
	}
	if _, ok := emu.Snapshot(original); ok {
		t.Fatalf("snapshot %s still exists after DeleteSnapshot", original)
	}
	assertNoSecret(t, log)
}

func affinityZones(pv *corev1.PersistentVolume) []string {
	var zones []string
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return nil
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, expr := range term.MatchExpressions {
			if strings.HasSuffix(expr.Key, "/zone") {
				zones = append(zones, expr.Values...)
			}
		}
	}
	return zones
}

// otherRegions is the regionEndpoints value that sends the calls for every
// region of the emulator but home to url.
func otherRegions(emu *ecs.Server, home, url string) string {
	var out []string
	for _, r := range emu.Regions() {
		if r.ID != home {
			out = append(out, r.ID+"="+url)
		}
	}
	return strings.Join(out, ",")
}
