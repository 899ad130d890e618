package volumesnapshotter

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
)

// TestRetention: snapshotRetentionDays wins; else the Backup's TTL in whole
// days; a Backup that cannot be read leaves the snapshot without expiry and
// the backup succeeds.
func TestRetention(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]string
		backup string
		ttl    string // "" = no Backup object
		want   int
	}{
		{name: "TTL 720h", backup: "monthly", ttl: "720h0m0s", want: 30},
		{name: "TTL 25h rounds up", backup: "daily", ttl: "25h", want: 2},
		{name: "TTL 0 keeps", backup: "forever", ttl: "0s", want: 0},
		{name: "config wins", config: map[string]string{keySnapshotRetentionDays: "7"}, backup: "monthly", ttl: "720h", want: 7},
		{name: "config 0 keeps", config: map[string]string{keySnapshotRetentionDays: "0"}, backup: "monthly", ttl: "720h", want: 0},
		{name: "Backup missing", backup: "gone", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			if tt.ttl != "" {
				e.addBackup(tt.backup, tt.ttl)
			}
			v := e.snapshotter(hangzhou, tt.config)
			src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
			id, err := v.CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": tt.backup})
			if err != nil {
				t.Fatalf("CreateSnapshot: %v", err)
			}
			s, _ := e.srv.Snapshot(rawID(id))
			if s.RetentionDays != tt.want {
				t.Errorf("RetentionDays = %d, want %d", s.RetentionDays, tt.want)
			}
			if tt.ttl == "" && !strings.Contains(e.logs.String(), "could not read the Backup's TTL") {
				t.Errorf("the failed Backup lookup was not logged")
			}
		})
	}
}

// TestSnapshotTagLimit: with more tags than ECS allows, the plugin's record
// and Velero's tags are kept and the rest cut to 20.
func TestSnapshotTagLimit(t *testing.T) {
	e := newTestEnv(t, nil)
	diskTags := map[string]string{}
	for i := 0; i < 10; i++ {
		diskTags[fmt.Sprintf("disk-%02d", i)] = "v"
	}
	veleroTags := map[string]string{"velero.io/backup": "b", "velero.io/pv": "p"}
	for i := 0; i < 10; i++ {
		veleroTags[fmt.Sprintf("label-%02d", i)] = "v"
	}
	veleroTags["bad"] = "see https://example.com"
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, diskTags)
	id, err := e.snapshotter(hangzhou, nil).CreateSnapshot(src, zoneH, veleroTags)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := e.srv.Snapshot(rawID(id))
	if len(s.Tags) != maxTags {
		t.Errorf("%d tags, want %d: %v", len(s.Tags), maxTags, s.Tags)
	}
	for _, k := range []string{tagSourceZone, tagSourceSize, "velero.io/backup", "velero.io/pv", "label-09", "disk-00"} {
		if _, ok := s.Tags[k]; !ok {
			t.Errorf("tag %s missing", k)
		}
	}
	if _, ok := s.Tags["bad"]; ok {
		t.Errorf("a tag with a URL value was sent")
	}
	if !strings.Contains(e.logs.String(), "not copying tags disk-03") {
		t.Errorf("dropped tags not logged")
	}
}

func TestSnapshotNames(t *testing.T) {
	for in, want := range map[string]string{
		"nightly":                "velero-nightly",
		"2024.01.01-full":        "velero-2024.01.01-full",
		"":                       "velero-",
		strings.Repeat("a", 200): "velero-" + strings.Repeat("a", 121),
		"auto-backup":            "velero-auto-backup",
		"http://x/y":             "velero-http:--x-y",
	} {
		if got := ecsName("velero-", in); got != want {
			t.Errorf("ecsName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReplicaRegions: with replicaRegions the snapshot is copied at backup
// time, and a restore in the replica region works with the source gone.
func TestReplicaRegions(t *testing.T) {
	e := newTestEnv(t, nil)
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 30, nil)
	hz := e.snapshotter(hangzhou, map[string]string{keyReplicaRegions: "cn-beijing,cn-shanghai", keySnapshotRetentionDays: "9"})
	id, err := hz.CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "dr", "velero.io/pv": "pv-dr"})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := parseSnapshotID(id)
	for _, r := range []string{beijing, shanghai} {
		list := e.srv.Snapshots(r)
		if len(list) != 1 || list[0].SourceSnapshotID != ref.id || list[0].Tags[tagSourceSnapshotID] != ref.id || list[0].RetentionDays != 9 {
			t.Errorf("replicas in %s = %+v; want one copy of %s kept 9 days", r, list, ref.id)
		}
	}
	// The source region's snapshot is gone (region down, snapshot lost).
	if _, err := e.sdk(hangzhou).DeleteSnapshot(deleteReq(ref.id)); err != nil {
		t.Fatal(err)
	}
	e.addNode("sh", zoneSA)
	sh := e.snapshotter(shanghai, nil)
	diskID, err := sh.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil)
	if err != nil {
		t.Fatalf("restore from the replica: %v", err)
	}
	d, _ := e.srv.Disk(diskID)
	if d.ZoneID != zoneSA || d.SizeGiB != 30 || d.Category != "cloud_essd" {
		t.Errorf("disk = %+v", d)
	}
	if n := e.srv.Calls("CopySnapshot"); n != 2 {
		t.Errorf("CopySnapshot calls = %d, want 2 (the replicas only)", n)
	}
}

// TestReplicaFailureKeepsSnapshot: a replica that cannot be made is an error
// in the log, not a lost snapshot.
func TestReplicaFailureKeepsSnapshot(t *testing.T) {
	e := newTestEnv(t, func(c *ecs.Config) {})
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	hz := e.snapshotter(hangzhou, map[string]string{keyReplicaRegions: "cn-qingdao"}) // not a region of this ECS
	id, err := hz.CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "b"})
	if err != nil || id == "" {
		t.Fatalf("CreateSnapshot = %q, %v; want the snapshot despite the failed replica", id, err)
	}
	if !strings.Contains(e.logs.String(), "level=error") || !strings.Contains(e.logs.String(), "snapshot not copied to replica region") {
		t.Errorf("the failed replica was not logged as an error:\n%s", e.logs.String())
	}
}

func TestNotInitialized(t *testing.T) {
	v := NewVolumeSnapshotter(logrus.New())
	if _, err := v.CreateSnapshot("d-1", "", nil); err == nil || !strings.Contains(err.Error(), "not initialized") {
		t.Errorf("err = %v", err)
	}
}

// TestSecondSnapshotOfADiskWaits: ECS makes one snapshot of a disk at a time;
// a second backup of the disk waits for the first snapshot instead of failing.
func TestSecondSnapshotOfADiskWaits(t *testing.T) {
	e := newTestEnv(t, func(c *ecs.Config) { c.SnapshotDuration = 200 * time.Millisecond })
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	v := e.snapshotter(hangzhou, nil)
	first, err := v.CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "one"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := v.CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "two"})
	if err != nil {
		t.Fatalf("second CreateSnapshot: %v", err)
	}
	if first == second || len(e.srv.Snapshots(hangzhou)) != 2 {
		t.Errorf("snapshots %s, %s; want two", first, second)
	}
	if !strings.Contains(e.logs.String(), "ECS cannot snapshot the disk yet") || !strings.Contains(e.logs.String(), "code=IncorrectDiskStatus.CreatingSnapshot") {
		t.Errorf("the wait was not logged")
	}
}
