package volumesnapshotter

import (
	"testing"

	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
)

func deleteReq(id string) *ecsclient.DeleteSnapshotRequest {
	return &ecsclient.DeleteSnapshotRequest{SnapshotId: tea.String(id), Force: tea.Bool(true)}
}

// TestDeleteSnapshotTwice deletes a snapshot, its replica and its restore
// copy, and succeeds again when they are gone. A copy someone else made is
// left alone, and a snapshot with a disk made from it is deleted too.
func TestDeleteSnapshotTwice(t *testing.T) {
	e := newTestEnv(t, nil)
	e.addNode("sh", zoneSA)
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	hz := e.snapshotter(hangzhou, map[string]string{keyReplicaRegions: "cn-beijing"})
	id, err := hz.CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "b", "velero.io/pv": "p"})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := parseSnapshotID(id)
	// A same-region restore: ECS refuses to delete the snapshot without Force.
	if _, err := hz.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil); err != nil {
		t.Fatal(err)
	}
	// A restore copy in cn-shanghai, made by a cluster there.
	sh := e.snapshotter(shanghai, nil)
	if _, err := sh.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil); err != nil {
		t.Fatal(err)
	}
	// Someone else's copy in cn-beijing.
	foreign, err := e.sdk(hangzhou).CopySnapshot(&ecsclient.CopySnapshotRequest{
		RegionId: tea.String(hangzhou), SnapshotId: tea.String(ref.id), DestinationRegionId: tea.String(beijing),
	})
	if err != nil {
		t.Fatal(err)
	}
	foreignID := tea.StringValue(foreign.Body.SnapshotId)

	// Deleted from the cluster in cn-shanghai (backup synced there): the
	// source, the cn-shanghai restore copy; from cn-hangzhou: the replica.
	for i, v := range []*VolumeSnapshotter{sh, hz, hz} {
		if err := v.DeleteSnapshot(id); err != nil {
			t.Fatalf("DeleteSnapshot #%d: %v", i+1, err)
		}
	}
	if _, ok := e.srv.Snapshot(ref.id); ok {
		t.Errorf("source snapshot %s not deleted", ref.id)
	}
	for _, r := range []string{shanghai, beijing} {
		for _, s := range e.srv.Snapshots(r) {
			if s.SnapshotID != foreignID {
				t.Errorf("copy %s in %s not deleted", s.SnapshotID, r)
			}
		}
	}
	if _, ok := e.srv.Snapshot(foreignID); !ok {
		t.Errorf("a copy the plugin did not make (%s) was deleted", foreignID)
	}
	if n := len(e.srv.Disks(hangzhou)); n != 2 {
		t.Errorf("%d disks in cn-hangzhou, want 2 (source and restored disk untouched)", n)
	}
}
