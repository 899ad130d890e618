package volumesnapshotter

import (
	"strings"
	"testing"
	"time"

	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
)

// copyStatusesIn counts the copies in region by status.
func (e *testEnv) copyStatusesIn(region string) map[string]int {
	return e.countCopies(region, func(s ecs.Snapshot) string { return s.Status })
}

// TestFailedCopies: when ECS fails a cross-region copy, the restore deletes
// it and copies again once; a second failure fails the restore with the
// prefix of the ACK backup center's FAQ and leaves no failed copy behind.
func TestFailedCopies(t *testing.T) {
	tests := []struct {
		name         string
		failCopies   int
		wantErr      []string
		wantCopies   map[string]int // copies left in cn-beijing by status
		wantCopyCall int
	}{
		{name: "first copy fails", failCopies: 1, wantCopies: map[string]int{ecs.SnapshotAccomplished: 1}, wantCopyCall: 2},
		{name: "both copies fail", failCopies: 2, wantCopyCall: 2, wantCopies: map[string]int{},
			wantErr: []string{errCrossRegion, "failed to copy snapshot", "twice", "as failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			e.addNode("bj", zoneBA)
			ids := e.backupVolumes(e.snapshotter(hangzhou, nil), "b", 1)
			e.srv.FailNextCopies(tt.failCopies)
			diskID, err := e.snapshotter(beijing, nil).CreateVolumeFromSnapshot(ids[0], "cloud_essd", zoneH, nil)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("CreateVolumeFromSnapshot: %v", err)
			}
			for _, want := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("CreateVolumeFromSnapshot error = %v; want it to contain %q", err, want)
				}
			}
			if n := e.srv.Calls("CopySnapshot"); n != tt.wantCopyCall {
				t.Errorf("CopySnapshot calls = %d, want %d", n, tt.wantCopyCall)
			}
			if got := e.copyStatusesIn(beijing); mustJSON(got) != mustJSON(tt.wantCopies) {
				t.Errorf("copies in cn-beijing by status = %v, want %v (failed copies deleted)", got, tt.wantCopies)
			}
			if !strings.Contains(e.logs.String(), "deleted the failed copy") {
				t.Errorf("the deletion of the failed copy was not logged:\n%s", e.logs.String())
			}
			if tt.wantErr != nil {
				if n := len(e.srv.Disks(beijing)); n != 0 {
					t.Errorf("%d disks in cn-beijing after a failed restore, want 0", n)
				}
				return
			}
			d, _ := e.srv.Disk(diskID)
			if cp, _ := e.srv.Snapshot(d.SourceSnapshotID); cp.Status != ecs.SnapshotAccomplished || cp.SourceSnapshotID != rawID(ids[0]) {
				t.Errorf("disk %s made from %+v; want the accomplished copy of %s", diskID, cp, ids[0])
			}
		})
	}
}

// TestFailedCopyMadeEarlier: a copy that another restore started (ahead, or
// in another plugin process) and that ECS then fails is replaced, whether it
// had already failed or fails while this restore waits for it.
func TestFailedCopyMadeEarlier(t *testing.T) {
	t.Run("copy made ahead failed", func(t *testing.T) {
		e := newTestEnv(t, nil)
		e.addNode("bj", zoneBA)
		ids := e.backupVolumes(e.snapshotter(hangzhou, nil), "b", 2)
		for _, id := range ids {
			e.waitAccomplished(rawID(id))
		}
		// The first restore's own copy and the one it starts ahead for
		// the second volume both fail.
		e.srv.FailNextCopies(2)
		bj := e.snapshotter(beijing, nil)
		for _, id := range ids {
			if _, err := bj.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil); err != nil {
				t.Fatalf("CreateVolumeFromSnapshot(%s): %v", id, err)
			}
		}
		if got := e.copyStatusesIn(beijing); mustJSON(got) != `{"accomplished":2}` {
			t.Errorf("copies in cn-beijing by status = %v; want 2 accomplished and no failed one", got)
		}
		if got := e.copiesIn(beijing); got[rawID(ids[0])] != 1 || got[rawID(ids[1])] != 1 {
			t.Errorf("copies by source = %v; want one of each snapshot", got)
		}
	})
	t.Run("existing copy fails while waited for", func(t *testing.T) {
		e := newTestEnv(t, func(c *ecs.Config) { c.CopyDuration = 400 * time.Millisecond })
		e.addNode("bj", zoneBA)
		ids := e.backupVolumes(e.snapshotter(hangzhou, nil), "b", 1)
		src := rawID(ids[0])
		e.waitAccomplished(src)
		// A copy another plugin process started, tagged as the plugin
		// tags its copies, and which ECS fails halfway.
		e.srv.FailNextCopies(1)
		started, err := e.sdk(hangzhou).CopySnapshot(&ecsclient.CopySnapshotRequest{
			RegionId: tea.String(hangzhou), SnapshotId: tea.String(src), DestinationRegionId: tea.String(beijing),
			Tag: []*ecsclient.CopySnapshotRequestTag{{Key: tea.String(tagSourceSnapshotID), Value: tea.String(src)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		failing := tea.StringValue(started.Body.SnapshotId)
		if _, err := e.snapshotter(beijing, nil).CreateVolumeFromSnapshot(ids[0], "cloud_essd", zoneH, nil); err != nil {
			t.Fatalf("CreateVolumeFromSnapshot: %v", err)
		}
		if !strings.Contains(e.logs.String(), "reusing the existing copy") {
			t.Errorf("the restore did not wait for the existing copy:\n%s", e.logs.String())
		}
		if _, ok := e.srv.Snapshot(failing); ok {
			t.Errorf("the failed copy %s was not deleted", failing)
		}
		if got := e.copyStatusesIn(beijing); mustJSON(got) != `{"accomplished":1}` {
			t.Errorf("copies in cn-beijing by status = %v; want 1 accomplished", got)
		}
	})
}

// TestFailedSourceSnapshot: a backup whose snapshot ECS failed cannot be
// restored from it, in its region or another; the error says so and no copy
// or disk is attempted.
func TestFailedSourceSnapshot(t *testing.T) {
	e := newTestEnv(t, nil)
	e.addNode("hz", zoneH)
	e.addNode("bj", zoneBA)
	e.srv.FailNextSnapshots(1)
	ids := e.backupVolumes(e.snapshotter(hangzhou, nil), "b", 1)
	for _, region := range []string{hangzhou, beijing} {
		_, err := e.snapshotter(region, nil).CreateVolumeFromSnapshot(ids[0], "cloud_essd", zoneH, nil)
		want := "ECS reports snapshot " + rawID(ids[0]) + " in region cn-hangzhou as failed"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("restore in %s: error %v; want it to contain %q", region, err, want)
		}
	}
	if n := e.srv.Calls("CopySnapshot") + e.srv.Calls("CreateDisk"); n != 0 {
		t.Errorf("%d CopySnapshot/CreateDisk calls for a failed source snapshot, want 0", n)
	}
}

// TestWaitForSnapshot: with waitForSnapshot (or replicaRegions) a snapshot
// that ECS fails fails the volume's backup and is deleted, since Velero
// records no snapshot for a failed CreateSnapshot; one still in progress at
// snapshotTimeout is kept and logged as an error. Without either, the
// snapshot is returned as soon as ECS accepts it.
func TestWaitForSnapshot(t *testing.T) {
	tests := []struct {
		name          string
		config        map[string]string
		failSnapshots int
		slow          bool // the snapshot outlasts snapshotTimeout
		wantErr       string
		wantStatus    string // of the snapshot left in ECS; "" for none
		wantLog       string
	}{
		{name: "no wait returns at once", config: nil, wantStatus: ecs.SnapshotProgressing},
		{name: "no wait, snapshot fails later", config: nil, failSnapshots: 1, wantStatus: ecs.SnapshotProgressing},
		{name: "wait, accomplished", config: map[string]string{keyWaitForSnapshot: "true"}, wantStatus: ecs.SnapshotAccomplished},
		{name: "wait, ECS fails the snapshot", config: map[string]string{keyWaitForSnapshot: "true"}, failSnapshots: 1,
			wantErr: "the volume is not in this backup, so run the backup again"},
		{name: "replicas, ECS fails the snapshot", config: map[string]string{keyReplicaRegions: beijing}, failSnapshots: 1,
			wantErr: "as failed"},
		{name: "wait, timeout keeps the snapshot", config: map[string]string{keyWaitForSnapshot: "true", keySnapshotTimeout: "50ms"}, slow: true,
			wantStatus: ecs.SnapshotProgressing, wantLog: "snapshot not confirmed accomplished"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, func(c *ecs.Config) {
				if tt.slow {
					c.SnapshotDuration = 5 * time.Second
				}
			})
			disk := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
			e.srv.FailNextSnapshots(tt.failSnapshots)
			id, err := e.snapshotter(hangzhou, tt.config).CreateSnapshot(disk, zoneH, map[string]string{"velero.io/backup": "b"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), disk) {
					t.Fatalf("CreateSnapshot = %q, %v; want an error naming disk %s and containing %q", id, err, disk, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("CreateSnapshot: %v", err)
			}
			snaps := e.srv.Snapshots(hangzhou)
			if tt.wantStatus == "" {
				if len(snaps) != 0 {
					t.Errorf("snapshots left in ECS: %+v; want the failed one deleted", snaps)
				}
			} else if len(snaps) != 1 || snaps[0].Status != tt.wantStatus || id != hangzhou+"/"+snaps[0].SnapshotID {
				t.Errorf("CreateSnapshot = %q, snapshots in ECS %+v; want that snapshot, %s", id, snaps, tt.wantStatus)
			}
			if tt.wantLog != "" && !strings.Contains(e.logs.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, e.logs.String())
			}
		})
	}
}
