package ecs_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
)

func TestDiskLifecycle(t *testing.T) {
	e := newEnv(t, func(c *ecs.Config) { c.DiskCreateDuration = time.Minute })
	cl := e.client(t, hangzhou)
	created, err := cl.CreateDisk(&ecsclient.CreateDiskRequest{
		RegionId: tea.String(hangzhou), ZoneId: tea.String(zoneI), DiskCategory: tea.String("cloud_essd"),
		PerformanceLevel: tea.String("PL2"), Size: tea.Int32(500), DiskName: tea.String("restored-pv"),
		Tag: []*ecsclient.CreateDiskRequestTag{{Key: tea.String("velero.io/backup"), Value: tea.String("b1")}},
	})
	if err != nil {
		t.Fatalf("CreateDisk: %v", err)
	}
	id := tea.StringValue(created.Body.DiskId)
	if !strings.HasPrefix(id, "d-bp") || tea.StringValue(created.Body.RequestId) == "" {
		t.Fatalf("CreateDisk returned DiskId %q RequestId %q", id, tea.StringValue(created.Body.RequestId))
	}
	describe := func() *ecsclient.DescribeDisksResponseBodyDisksDisk {
		t.Helper()
		out, err := cl.DescribeDisks(&ecsclient.DescribeDisksRequest{
			RegionId: tea.String(hangzhou), DiskIds: tea.String(`["` + id + `"]`),
		})
		if err != nil {
			t.Fatalf("DescribeDisks: %v", err)
		}
		if n := len(out.Body.Disks.Disk); n != 1 {
			t.Fatalf("DescribeDisks found %d disks, want 1", n)
		}
		return out.Body.Disks.Disk[0]
	}
	d := describe()
	if got := tea.StringValue(d.Status); got != ecs.DiskCreating {
		t.Fatalf("status right after CreateDisk = %q, want Creating", got)
	}
	if tea.Int32Value(d.Size) != 500 || tea.StringValue(d.Category) != "cloud_essd" ||
		tea.StringValue(d.PerformanceLevel) != "PL2" || tea.StringValue(d.ZoneId) != zoneI ||
		tea.StringValue(d.DiskName) != "restored-pv" {
		t.Fatalf("disk attributes wrong: %v", d)
	}
	if tags := d.Tags.Tag; len(tags) != 1 || tea.StringValue(tags[0].TagKey) != "velero.io/backup" {
		t.Fatalf("disk tags = %v", d.Tags)
	}
	_, err = cl.DeleteDisk(&ecsclient.DeleteDiskRequest{DiskId: tea.String(id)})
	wantAPIError(t, err, "IncorrectDiskStatus", 403)

	e.clock.Advance(time.Minute)
	if got := tea.StringValue(describe().Status); got != ecs.DiskAvailable {
		t.Fatalf("status after DiskCreateDuration = %q, want Available", got)
	}
	if _, err := cl.DeleteDisk(&ecsclient.DeleteDiskRequest{DiskId: tea.String(id)}); err != nil {
		t.Fatalf("DeleteDisk: %v", err)
	}
	if n := len(e.srv.Disks(hangzhou)); n != 0 {
		t.Fatalf("%d disks left after DeleteDisk", n)
	}
	if e.srv.Calls("CreateDisk") != 1 || e.srv.Calls("DeleteDisk") != 2 || e.srv.Calls("DescribeDisks") != 2 {
		t.Fatalf("call counts: create %d delete %d describe %d", e.srv.Calls("CreateDisk"),
			e.srv.Calls("DeleteDisk"), e.srv.Calls("DescribeDisks"))
	}
}

func TestSnapshotProgress(t *testing.T) {
	e := newEnv(t, func(c *ecs.Config) { c.SnapshotDuration = 100 * time.Second })
	cl := e.client(t, hangzhou)
	diskID := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 40, nil)
	created, err := cl.CreateSnapshot(&ecsclient.CreateSnapshotRequest{
		DiskId: tea.String(diskID), SnapshotName: tea.String("velero-b1"), RetentionDays: tea.Int32(30),
		Tag: []*ecsclient.CreateSnapshotRequestTag{{Key: tea.String("velero.io/backup"), Value: tea.String("b1")}},
	})
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	id := tea.StringValue(created.Body.SnapshotId)
	if !strings.HasPrefix(id, "s-") {
		t.Fatalf("SnapshotId %q", id)
	}
	steps := []struct {
		advance          time.Duration
		status, progress string
	}{
		{0, "progressing", "0%"},
		{50 * time.Second, "progressing", "50%"},
		{49 * time.Second, "progressing", "99%"},
		{time.Second, "accomplished", "100%"},
	}
	for _, st := range steps {
		e.clock.Advance(st.advance)
		out, err := cl.DescribeSnapshots(&ecsclient.DescribeSnapshotsRequest{
			RegionId: tea.String(hangzhou), SnapshotIds: tea.String(`["` + id + `"]`),
		})
		if err != nil {
			t.Fatalf("DescribeSnapshots: %v", err)
		}
		if len(out.Body.Snapshots.Snapshot) != 1 {
			t.Fatalf("DescribeSnapshots found %d", len(out.Body.Snapshots.Snapshot))
		}
		sn := out.Body.Snapshots.Snapshot[0]
		if tea.StringValue(sn.Status) != st.status || tea.StringValue(sn.Progress) != st.progress {
			t.Fatalf("after +%v: status %s progress %s, want %s %s", st.advance,
				tea.StringValue(sn.Status), tea.StringValue(sn.Progress), st.status, st.progress)
		}
		if tea.StringValue(sn.SourceDiskId) != diskID || tea.StringValue(sn.SourceDiskSize) != "40" ||
			tea.Int32Value(sn.RetentionDays) != 30 || tea.StringValue(sn.SnapshotName) != "velero-b1" ||
			tea.StringValue(sn.RegionId) != hangzhou || tea.StringValue(sn.SourceSnapshotId) != "" {
			t.Fatalf("snapshot attributes wrong: %v", sn)
		}
		if len(sn.Tags.Tag) != 1 || tea.StringValue(sn.Tags.Tag[0].TagValue) != "b1" {
			t.Fatalf("snapshot tags %v", sn.Tags)
		}
	}
}

func TestCopySnapshotAcrossRegionsKeepsLineage(t *testing.T) {
	e := newEnv(t, func(c *ecs.Config) { c.CopyDuration = 10 * time.Second })
	_, src := seedSnapshot(t, e, hangzhou, zoneH, 10)
	cl := e.client(t, hangzhou)
	copied, err := cl.CopySnapshot(&ecsclient.CopySnapshotRequest{
		RegionId: tea.String(hangzhou), SnapshotId: tea.String(src), DestinationRegionId: tea.String(beijing),
		DestinationSnapshotName: tea.String("velero-copy"), RetentionDays: tea.Int32(7),
		Encrypted: tea.Bool(true), KMSKeyId: tea.String("key-bj"),
		Tag: []*ecsclient.CopySnapshotRequestTag{{Key: tea.String("velero.io/source"), Value: tea.String(src)}},
	})
	if err != nil {
		t.Fatalf("CopySnapshot: %v", err)
	}
	copyID := tea.StringValue(copied.Body.SnapshotId)
	if !strings.HasPrefix(copyID, "s-2z") {
		t.Fatalf("copy ID %q does not look like a Beijing snapshot", copyID)
	}
	bj := e.client(t, beijing)
	get := func() *ecsclient.DescribeSnapshotsResponseBodySnapshotsSnapshot {
		out, err := bj.DescribeSnapshots(&ecsclient.DescribeSnapshotsRequest{
			RegionId: tea.String(beijing), Tag: []*ecsclient.DescribeSnapshotsRequestTag{
				{Key: tea.String("velero.io/source"), Value: tea.String(src)}},
		})
		if err != nil {
			t.Fatalf("DescribeSnapshots: %v", err)
		}
		if len(out.Body.Snapshots.Snapshot) != 1 {
			t.Fatalf("found %d copies", len(out.Body.Snapshots.Snapshot))
		}
		return out.Body.Snapshots.Snapshot[0]
	}
	c := get()
	if tea.StringValue(c.Status) != "progressing" || tea.StringValue(c.SourceSnapshotId) != src ||
		tea.StringValue(c.SourceRegionId) != hangzhou || tea.StringValue(c.SourceDiskSize) != "10" ||
		!tea.BoolValue(c.Encrypted) || tea.StringValue(c.KMSKeyId) != "key-bj" || tea.Int32Value(c.RetentionDays) != 7 {
		t.Fatalf("copy attributes wrong: %v", c)
	}
	// A disk cannot be made from a copy still in progress.
	_, err = bj.CreateDisk(&ecsclient.CreateDiskRequest{RegionId: tea.String(beijing), ZoneId: tea.String(zoneA),
		DiskCategory: tea.String("cloud_essd"), SnapshotId: tea.String(copyID), Size: tea.Int32(20)})
	wantAPIError(t, err, "InvalidSnapshotId.NotReady", 403)
	e.clock.Advance(10 * time.Second)
	if got := tea.StringValue(get().Status); got != "accomplished" {
		t.Fatalf("copy status after CopyDuration = %s", got)
	}
	// The copy lives in Beijing only; the source region does not list it.
	if n := len(e.srv.Snapshots(hangzhou)); n != 1 {
		t.Fatalf("hangzhou has %d snapshots, want 1", n)
	}
	d, err := bj.CreateDisk(&ecsclient.CreateDiskRequest{RegionId: tea.String(beijing), ZoneId: tea.String(zoneA),
		DiskCategory: tea.String("cloud_essd"), SnapshotId: tea.String(copyID), Size: tea.Int32(20)})
	if err != nil {
		t.Fatalf("CreateDisk from copy: %v", err)
	}
	disk, ok := e.srv.Disk(tea.StringValue(d.Body.DiskId))
	if !ok || disk.SourceSnapshotID != copyID || disk.ZoneID != zoneA || disk.SizeGiB != 20 || !disk.Encrypted {
		t.Fatalf("restored disk %+v", disk)
	}
	view, _ := e.srv.Snapshot(copyID)
	if view.SourceSnapshotID != src || view.SourceRegionID != hangzhou {
		t.Fatalf("inspection view lacks lineage: %+v", view)
	}
}

func TestClientTokenIsIdempotent(t *testing.T) {
	e := newEnv(t, nil)
	cl := e.client(t, hangzhou)
	_, src := seedSnapshot(t, e, hangzhou, zoneH, 20)
	cases := []struct {
		name  string
		call  func(token string, size int32) (string, error)
		count func() int
		// HTTP status of IdempotentParameterMismatch: CreateSnapshot
		// documents 403, the others answer the ECS-wide 400.
		mismatch int
	}{
		{"CreateDisk", func(token string, size int32) (string, error) {
			r, err := cl.CreateDisk(&ecsclient.CreateDiskRequest{RegionId: tea.String(hangzhou), ZoneId: tea.String(zoneH),
				DiskCategory: tea.String("cloud_essd"), Size: tea.Int32(size), ClientToken: tea.String(token)})
			if err != nil {
				return "", err
			}
			return tea.StringValue(r.Body.DiskId), nil
		}, func() int { return len(e.srv.Disks(hangzhou)) }, 400},
		{"CreateSnapshot", func(token string, days int32) (string, error) {
			d := e.srv.Disks(hangzhou)[0].DiskID
			r, err := cl.CreateSnapshot(&ecsclient.CreateSnapshotRequest{DiskId: tea.String(d),
				RetentionDays: tea.Int32(days), ClientToken: tea.String(token)})
			if err != nil {
				return "", err
			}
			return tea.StringValue(r.Body.SnapshotId), nil
		}, func() int { return len(e.srv.Snapshots(hangzhou)) }, 403},
		{"CopySnapshot", func(token string, days int32) (string, error) {
			r, err := cl.CopySnapshot(&ecsclient.CopySnapshotRequest{RegionId: tea.String(hangzhou),
				SnapshotId: tea.String(src), DestinationRegionId: tea.String(beijing),
				RetentionDays: tea.Int32(days), ClientToken: tea.String(token)})
			if err != nil {
				return "", err
			}
			return tea.StringValue(r.Body.SnapshotId), nil
		}, func() int { return len(e.srv.Snapshots(beijing)) }, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := c.count()
			token := "token-" + c.name
			first, err := c.call(token, 30)
			if err != nil {
				t.Fatalf("first call: %v", err)
			}
			// CreateSnapshot on a disk with a snapshot in progress would
			// fail; the retry must be answered from the token instead.
			second, err := c.call(token, 30)
			if err != nil {
				t.Fatalf("retry with the same ClientToken: %v", err)
			}
			if first != second || first == "" {
				t.Fatalf("retry returned %q, first call %q", second, first)
			}
			if got := c.count(); got != before+1 {
				t.Fatalf("%d resources after two calls with one token, want %d", got, before+1)
			}
			_, err = c.call(token, 31)
			wantAPIError(t, err, "IdempotentParameterMismatch", c.mismatch)
		})
	}
}

func TestErrorCodes(t *testing.T) {
	e := newEnv(t, func(c *ecs.Config) {
		c.SnapshotDuration = time.Hour
		c.DiskCreateDuration = time.Hour
		c.ZoneCategories = map[string][]string{zoneA: {"cloud_essd", "cloud_efficiency"}}
	})
	hz, bj := e.client(t, hangzhou), e.client(t, beijing)
	// An accomplished snapshot used by a disk, and one still progressing.
	doneDisk := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 30, nil)
	done := mustSnapshot(t, hz, doneDisk)
	e.clock.Advance(time.Hour)
	if _, err := hz.CreateDisk(&ecsclient.CreateDiskRequest{RegionId: tea.String(hangzhou), ZoneId: tea.String(zoneH),
		DiskCategory: tea.String("cloud_essd"), SnapshotId: tea.String(done)}); err != nil {
		t.Fatalf("CreateDisk from snapshot without Size: %v", err)
	}
	// cloud_ssd: no instant access, so the progressing snapshot is unusable.
	busyDisk := e.srv.SeedDisk(hangzhou, zoneH, "cloud_ssd", 30, nil)
	busy := mustSnapshot(t, hz, busyDisk)
	creating, err := hz.CreateDisk(&ecsclient.CreateDiskRequest{RegionId: tea.String(hangzhou), ZoneId: tea.String(zoneH),
		DiskCategory: tea.String("cloud_essd"), Size: tea.Int32(20)})
	if err != nil {
		t.Fatalf("CreateDisk: %v", err)
	}
	creatingDisk := tea.StringValue(creating.Body.DiskId)

	disk := func(region, zone, category, pl string, size int32, snap string) error {
		r := &ecsclient.CreateDiskRequest{RegionId: tea.String(region), ZoneId: tea.String(zone), DiskCategory: tea.String(category)}
		if pl != "" {
			r.PerformanceLevel = tea.String(pl)
		}
		if size > 0 {
			r.Size = tea.Int32(size)
		}
		if snap != "" {
			r.SnapshotId = tea.String(snap)
		}
		_, err := hz.CreateDisk(r)
		return err
	}
	copySnap := func(id, dest string) error {
		_, err := hz.CopySnapshot(&ecsclient.CopySnapshotRequest{RegionId: tea.String(hangzhou),
			SnapshotId: tea.String(id), DestinationRegionId: tea.String(dest)})
		return err
	}
	manyTags := make([]*ecsclient.TagResourcesRequestTag, 21)
	for i := range manyTags {
		manyTags[i] = &ecsclient.TagResourcesRequestTag{Key: tea.String(fmt.Sprintf("k%d", i)), Value: tea.String("v")}
	}
	cases := []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"unknown zone", func() error { return disk(hangzhou, "cn-hangzhou-z", "cloud_essd", "", 20, "") }, "InvalidZoneId.NotFound", 404},
		{"zone of another region", func() error { return disk(hangzhou, zoneA, "cloud_essd", "", 20, "") }, "InvalidZoneId.NotFound", 404},
		{"unknown region", func() error { return disk("cn-nowhere", zoneH, "cloud_essd", "", 20, "") }, "InvalidRegionId.NotFound", 404},
		{"unknown category", func() error { return disk(hangzhou, zoneH, "cloud_floppy", "", 20, "") }, "InvalidDiskCategory.ValueNotSupported", 400},
		{"unknown performance level", func() error { return disk(hangzhou, zoneH, "cloud_essd", "PL9", 20, "") }, "InvalidPerformanceLevel.Malformed", 400},
		{"category not in zone", func() error {
			_, err := bj.CreateDisk(&ecsclient.CreateDiskRequest{RegionId: tea.String(beijing), ZoneId: tea.String(zoneA),
				DiskCategory: tea.String("cloud_ssd"), Size: tea.Int32(20)})
			return err
		}, "InvalidDataDiskCategory.NotSupported", 400},
		{"essd PL1 below 20", func() error { return disk(hangzhou, zoneH, "cloud_essd", "PL1", 19, "") }, "InvalidDiskSize.TooSmall", 403},
		{"essd default PL1 below 20", func() error { return disk(hangzhou, zoneH, "cloud_essd", "", 10, "") }, "InvalidDiskSize.TooSmall", 403},
		{"essd PL2 below 461", func() error { return disk(hangzhou, zoneH, "cloud_essd", "PL2", 460, "") }, "InvalidDiskSize.TooSmall", 403},
		{"essd PL3 below 1261", func() error { return disk(hangzhou, zoneH, "cloud_essd", "PL3", 1260, "") }, "InvalidDiskSize.TooSmall", 403},
		{"ssd below 20", func() error { return disk(hangzhou, zoneH, "cloud_ssd", "", 19, "") }, "InvalidDiskSize.TooSmall", 403},
		{"efficiency below 20", func() error { return disk(hangzhou, zoneH, "cloud_efficiency", "", 19, "") }, "InvalidDiskSize.TooSmall", 403},
		{"basic below 5", func() error { return disk(hangzhou, zoneH, "cloud", "", 4, "") }, "InvalidDiskSize.TooSmall", 403},
		{"essd entry below 10", func() error { return disk(hangzhou, zoneH, "cloud_essd_entry", "", 9, "") }, "InvalidDiskSize.TooSmall", 403},
		{"smaller than snapshot source", func() error { return disk(hangzhou, zoneH, "cloud_essd", "", 29, done) }, "InvalidDiskSize.TooSmall", 403},
		{"unknown snapshot", func() error { return disk(hangzhou, zoneH, "cloud_essd", "", 40, "s-bpdoesnotexist") }, "InvalidSnapshotId.NotFound", 404},
		{"snapshot still progressing", func() error { return disk(hangzhou, zoneH, "cloud_essd", "", 40, busy) }, "InvalidSnapshotId.NotReady", 403},
		{"no size and no snapshot", func() error { return disk(hangzhou, zoneH, "cloud_essd", "", 0, "") }, "MissingParameter", 400},
		{"second snapshot while one progresses", func() error {
			_, err := hz.CreateSnapshot(&ecsclient.CreateSnapshotRequest{DiskId: tea.String(busyDisk)})
			return err
		}, "IncorrectDiskStatus.CreatingSnapshot", 403},
		{"snapshot of a creating disk", func() error {
			_, err := hz.CreateSnapshot(&ecsclient.CreateSnapshotRequest{DiskId: tea.String(creatingDisk)})
			return err
		}, "IncorrectDiskStatus", 403},
		{"snapshot of unknown disk", func() error {
			_, err := hz.CreateSnapshot(&ecsclient.CreateSnapshotRequest{DiskId: tea.String("d-bpdoesnotexist")})
			return err
		}, "InvalidDiskId.NotFound", 404},
		{"snapshot name starting with a digit", func() error {
			_, err := hz.CreateSnapshot(&ecsclient.CreateSnapshotRequest{DiskId: tea.String(doneDisk), SnapshotName: tea.String("1-backup")})
			return err
		}, "InvalidSnapshotName.Malformed", 400},
		{"copy of a progressing snapshot", func() error { return copySnap(busy, beijing) }, "InvalidSnapshotId.NotReady", 403},
		{"copy within the region", func() error { return copySnap(done, hangzhou) }, "InvalidOperation.NotSupportCopyInSameRegion", 403},
		{"copy of unknown snapshot", func() error { return copySnap("s-bpdoesnotexist", beijing) }, "InvalidSnapshotId.NotFound", 403},
		{"copy to unknown region", func() error { return copySnap(done, "cn-nowhere") }, "InvalidRegionId.NotExists", 403},
		{"delete snapshot that made a disk", func() error {
			_, err := hz.DeleteSnapshot(&ecsclient.DeleteSnapshotRequest{SnapshotId: tea.String(done)})
			return err
		}, "SnapshotCreatedDisk", 403},
		{"delete unknown snapshot", func() error {
			_, err := hz.DeleteSnapshot(&ecsclient.DeleteSnapshotRequest{SnapshotId: tea.String("s-bpdoesnotexist")})
			return err
		}, "InvalidSnapshotId.NotFound", 404},
		{"delete unknown disk", func() error {
			_, err := hz.DeleteDisk(&ecsclient.DeleteDiskRequest{DiskId: tea.String("d-bpdoesnotexist")})
			return err
		}, "InvalidDiskId.NotFound", 404},
		{"describe without region", func() error {
			_, err := hz.DescribeDisks(&ecsclient.DescribeDisksRequest{})
			return err
		}, "MissingParameter", 400},
		{"malformed DiskIds", func() error {
			_, err := hz.DescribeDisks(&ecsclient.DescribeDisksRequest{RegionId: tea.String(hangzhou), DiskIds: tea.String("d-1,d-2")})
			return err
		}, "InvalidDiskIds.Malformed", 400},
		{"page size over 100", func() error {
			_, err := hz.DescribeSnapshots(&ecsclient.DescribeSnapshotsRequest{RegionId: tea.String(hangzhou), PageSize: tea.Int32(101)})
			return err
		}, "InvalidParameter", 400},
		{"system tag key", func() error {
			_, err := hz.TagResources(&ecsclient.TagResourcesRequest{RegionId: tea.String(hangzhou), ResourceType: tea.String("snapshot"),
				ResourceId: []*string{tea.String(done)},
				Tag:        []*ecsclient.TagResourcesRequestTag{{Key: tea.String("acs:ecs:owner"), Value: tea.String("x")}}})
			return err
		}, "InvalidTagKey.Malformed", 400},
		{"more than 20 tags", func() error {
			_, err := hz.TagResources(&ecsclient.TagResourcesRequest{RegionId: tea.String(hangzhou), ResourceType: tea.String("disk"),
				ResourceId: []*string{tea.String(doneDisk)}, Tag: manyTags})
			return err
		}, "InvalidTagCount", 400},
		{"tag unknown resource", func() error {
			_, err := hz.TagResources(&ecsclient.TagResourcesRequest{RegionId: tea.String(hangzhou), ResourceType: tea.String("disk"),
				ResourceId: []*string{tea.String("d-bpdoesnotexist")},
				Tag:        []*ecsclient.TagResourcesRequestTag{{Key: tea.String("k"), Value: tea.String("v")}}})
			return err
		}, "InvalidResourceId.NotFound", 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantAPIError(t, c.call(), c.code, c.status) })
	}
	// Force deletes a snapshot a disk was made from; the disk stays.
	if _, err := hz.DeleteSnapshot(&ecsclient.DeleteSnapshotRequest{SnapshotId: tea.String(done), Force: tea.Bool(true)}); err != nil {
		t.Fatalf("DeleteSnapshot Force: %v", err)
	}
	if _, ok := e.srv.Snapshot(done); ok {
		t.Fatal("snapshot still present after forced delete")
	}
}

func mustSnapshot(t *testing.T, cl *ecsclient.Client, diskID string) string {
	t.Helper()
	r, err := cl.CreateSnapshot(&ecsclient.CreateSnapshotRequest{DiskId: tea.String(diskID)})
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	return tea.StringValue(r.Body.SnapshotId)
}

func TestCategoryMinimumsAccepted(t *testing.T) {
	e := newEnv(t, nil)
	cl := e.client(t, hangzhou)
	for _, c := range []struct {
		category, pl string
		size         int32
	}{
		{"cloud_essd", "PL0", 1}, {"cloud_essd", "PL1", 20}, {"cloud_essd", "PL2", 461}, {"cloud_essd", "PL3", 1261},
		{"cloud_ssd", "", 20}, {"cloud_efficiency", "", 20}, {"cloud", "", 5}, {"cloud_auto", "", 1}, {"cloud_essd_entry", "", 10},
	} {
		r := &ecsclient.CreateDiskRequest{RegionId: tea.String(hangzhou), ZoneId: tea.String(zoneH),
			DiskCategory: tea.String(c.category), Size: tea.Int32(c.size)}
		if c.pl != "" {
			r.PerformanceLevel = tea.String(c.pl)
		}
		if _, err := cl.CreateDisk(r); err != nil {
			t.Errorf("%s %s %d GiB: %v", c.category, c.pl, c.size, err)
		}
	}
}

func TestDescribeFiltersAndPaging(t *testing.T) {
	e := newEnv(t, nil)
	cl := e.client(t, hangzhou)
	var ids []string
	for i := 0; i < 5; i++ {
		zone := zoneH
		if i%2 == 1 {
			zone = zoneI
		}
		ids = append(ids, e.srv.SeedDisk(hangzhou, zone, "cloud_essd", 20+i, map[string]string{"n": fmt.Sprint(i), "team": "a"}))
	}
	e.srv.SeedDisk(beijing, zoneA, "cloud_essd", 20, map[string]string{"team": "a"})
	count := func(r *ecsclient.DescribeDisksRequest) []string {
		t.Helper()
		r.RegionId = tea.String(hangzhou)
		out, err := cl.DescribeDisks(r)
		if err != nil {
			t.Fatalf("DescribeDisks: %v", err)
		}
		var got []string
		for _, d := range out.Body.Disks.Disk {
			got = append(got, tea.StringValue(d.DiskId))
		}
		return got
	}
	if got := count(&ecsclient.DescribeDisksRequest{}); len(got) != 5 || got[0] != ids[4] {
		t.Fatalf("all disks newest first: %v", got)
	}
	if got := count(&ecsclient.DescribeDisksRequest{ZoneId: tea.String(zoneI)}); len(got) != 2 {
		t.Fatalf("zone filter: %v", got)
	}
	if got := count(&ecsclient.DescribeDisksRequest{DiskIds: tea.String(`["` + ids[0] + `","` + ids[3] + `"]`)}); len(got) != 2 {
		t.Fatalf("DiskIds filter: %v", got)
	}
	if got := count(&ecsclient.DescribeDisksRequest{Tag: []*ecsclient.DescribeDisksRequestTag{
		{Key: tea.String("n"), Value: tea.String("2")}, {Key: tea.String("team"), Value: tea.String("a")}}}); len(got) != 1 || got[0] != ids[2] {
		t.Fatalf("tag filter: %v", got)
	}
	// PageNumber/PageSize.
	var paged []string
	for page := int32(1); page <= 3; page++ {
		paged = append(paged, count(&ecsclient.DescribeDisksRequest{PageNumber: tea.Int32(page), PageSize: tea.Int32(2)})...)
	}
	if len(paged) != 5 || paged[4] != ids[0] {
		t.Fatalf("pages: %v", paged)
	}
	// NextToken/MaxResults.
	var tokened []string
	token := ""
	for i := 0; i < 5; i++ {
		r := &ecsclient.DescribeDisksRequest{RegionId: tea.String(hangzhou), MaxResults: tea.Int32(2)}
		if token != "" {
			r.NextToken = tea.String(token)
		}
		out, err := cl.DescribeDisks(r)
		if err != nil {
			t.Fatalf("DescribeDisks: %v", err)
		}
		for _, d := range out.Body.Disks.Disk {
			tokened = append(tokened, tea.StringValue(d.DiskId))
		}
		if token = tea.StringValue(out.Body.NextToken); token == "" {
			break
		}
	}
	if len(tokened) != 5 {
		t.Fatalf("NextToken paging returned %v", tokened)
	}
}

func TestDescribeSnapshotsFilters(t *testing.T) {
	e := newEnv(t, nil)
	cl := e.client(t, hangzhou)
	d1, s1 := seedSnapshot(t, e, hangzhou, zoneH, 20)
	_, s2 := seedSnapshot(t, e, hangzhou, zoneI, 30)
	if _, err := cl.TagResources(&ecsclient.TagResourcesRequest{RegionId: tea.String(hangzhou), ResourceType: tea.String("snapshot"),
		ResourceId: []*string{tea.String(s2)}, Tag: []*ecsclient.TagResourcesRequestTag{{Key: tea.String("velero.io/backup"), Value: tea.String("b2")}}}); err != nil {
		t.Fatalf("TagResources: %v", err)
	}
	list := func(r *ecsclient.DescribeSnapshotsRequest) []string {
		t.Helper()
		r.RegionId = tea.String(hangzhou)
		out, err := cl.DescribeSnapshots(r)
		if err != nil {
			t.Fatalf("DescribeSnapshots: %v", err)
		}
		var got []string
		for _, s := range out.Body.Snapshots.Snapshot {
			got = append(got, tea.StringValue(s.SnapshotId))
		}
		return got
	}
	cases := []struct {
		name string
		req  *ecsclient.DescribeSnapshotsRequest
		want []string
	}{
		{"all", &ecsclient.DescribeSnapshotsRequest{}, []string{s2, s1}},
		{"by ids", &ecsclient.DescribeSnapshotsRequest{SnapshotIds: tea.String(`["` + s1 + `"]`)}, []string{s1}},
		{"by disk", &ecsclient.DescribeSnapshotsRequest{DiskId: tea.String(d1)}, []string{s1}},
		{"by tag", &ecsclient.DescribeSnapshotsRequest{Tag: []*ecsclient.DescribeSnapshotsRequestTag{{Key: tea.String("velero.io/backup"), Value: tea.String("b2")}}}, []string{s2}},
		{"by tag key only", &ecsclient.DescribeSnapshotsRequest{Tag: []*ecsclient.DescribeSnapshotsRequestTag{{Key: tea.String("velero.io/backup")}}}, []string{s2}},
		{"by name", &ecsclient.DescribeSnapshotsRequest{SnapshotName: tea.String("velero-backup-1")}, []string{s2, s1}},
		{"by other name", &ecsclient.DescribeSnapshotsRequest{SnapshotName: tea.String("other")}, nil},
		{"by status", &ecsclient.DescribeSnapshotsRequest{Status: tea.String("accomplished")}, []string{s2, s1}},
		{"second page", &ecsclient.DescribeSnapshotsRequest{PageNumber: tea.Int32(2), PageSize: tea.Int32(1)}, []string{s1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := list(c.req); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestTagResourcesOnDisk(t *testing.T) {
	e := newEnv(t, nil)
	cl := e.client(t, hangzhou)
	id := e.srv.SeedDisk(hangzhou, zoneH, "cloud_ssd", 20, map[string]string{"a": "1"})
	if _, err := cl.TagResources(&ecsclient.TagResourcesRequest{RegionId: tea.String(hangzhou), ResourceType: tea.String("disk"),
		ResourceId: []*string{tea.String(id)}, Tag: []*ecsclient.TagResourcesRequestTag{
			{Key: tea.String("a"), Value: tea.String("2")}, {Key: tea.String("b"), Value: tea.String("3")}}}); err != nil {
		t.Fatalf("TagResources: %v", err)
	}
	d, _ := e.srv.Disk(id)
	if fmt.Sprint(d.Tags) != "map[a:2 b:3]" {
		t.Fatalf("tags after TagResources: %v", d.Tags)
	}
}

func TestDescribeRegionsAndZones(t *testing.T) {
	e := newEnv(t, func(c *ecs.Config) {
		c.ZoneCategories = map[string][]string{zoneI: {"cloud_essd"}}
	})
	cl := e.client(t, hangzhou)
	regions, err := cl.DescribeRegions(&ecsclient.DescribeRegionsRequest{})
	if err != nil {
		t.Fatalf("DescribeRegions: %v", err)
	}
	var ids []string
	for _, r := range regions.Body.Regions.Region {
		ids = append(ids, tea.StringValue(r.RegionId))
	}
	if fmt.Sprint(ids) != "[cn-hangzhou cn-beijing]" {
		t.Fatalf("regions %v", ids)
	}
	zones, err := cl.DescribeZones(&ecsclient.DescribeZonesRequest{RegionId: tea.String(hangzhou)})
	if err != nil {
		t.Fatalf("DescribeZones: %v", err)
	}
	got := map[string]string{}
	for _, z := range zones.Body.Zones.Zone {
		cats := tea.StringSliceValue(z.AvailableResources.ResourcesInfo[0].DataDiskCategories.SupportedDataDiskCategory)
		if fmt.Sprint(cats) != fmt.Sprint(tea.StringSliceValue(z.AvailableDiskCategories.DiskCategories)) {
			t.Fatalf("zone %s reports different categories in its two lists", tea.StringValue(z.ZoneId))
		}
		got[tea.StringValue(z.ZoneId)] = strings.Join(cats, ",")
	}
	want := map[string]string{zoneH: strings.Join(ecs.AllCategories, ","), zoneI: "cloud_essd"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("zones %v, want %v", got, want)
	}
}

func TestSignatureChecks(t *testing.T) {
	e := newEnv(t, nil)
	tamperQuery := func(r *http.Request) {
		q := r.URL.Query()
		q.Set("RegionId", beijing)
		r.URL.RawQuery = q.Encode()
	}
	tamperSignedHeader := func(r *http.Request) { r.Header.Set("x-acs-action", "DescribeZones") }
	cases := []struct {
		name   string
		config func(*openapi.Config)
		code   string
		status int
	}{
		{"acs3 valid", nil, "", 200},
		{"rpc hmac-sha1 valid", func(c *openapi.Config) { c.SignatureAlgorithm = tea.String("v2") }, "", 200},
		{"acs3 query altered after signing", func(c *openapi.Config) { c.HttpClient = &hookClient{alter: tamperQuery} }, "SignatureDoesNotMatch", 400},
		{"rpc query altered after signing", func(c *openapi.Config) {
			c.SignatureAlgorithm = tea.String("v2")
			c.HttpClient = &hookClient{alter: tamperQuery}
		}, "SignatureDoesNotMatch", 400},
		{"acs3 signed header altered", func(c *openapi.Config) { c.HttpClient = &hookClient{alter: tamperSignedHeader} }, "SignatureDoesNotMatch", 400},
		{"acs3 wrong secret", func(c *openapi.Config) { c.AccessKeySecret = tea.String("wrong") }, "SignatureDoesNotMatch", 400},
		{"rpc wrong secret", func(c *openapi.Config) {
			c.SignatureAlgorithm = tea.String("v2")
			c.AccessKeySecret = tea.String("wrong")
		}, "SignatureDoesNotMatch", 400},
		{"unknown key", func(c *openapi.Config) { c.AccessKeyId = tea.String("LTAIunknown") }, "InvalidAccessKeyId.NotFound", 404},
		{"acs3 nonce replayed", func(c *openapi.Config) { c.HttpClient = &hookClient{replay: true} }, "SignatureNonceUsed", 400},
		{"rpc nonce replayed", func(c *openapi.Config) {
			c.SignatureAlgorithm = tea.String("v2")
			c.HttpClient = &hookClient{replay: true}
		}, "SignatureNonceUsed", 400},
		{"acs3 sts token", stsConfig(stsToken), "", 200},
		{"rpc sts token", func(c *openapi.Config) {
			stsConfig(stsToken)(c)
			c.SignatureAlgorithm = tea.String("v2")
		}, "", 200},
		{"sts wrong token", stsConfig("CAIS-other"), "InvalidSecurityToken.MismatchWithAccessKey", 400},
		{"sts key without token", stsConfig(""), "InvalidSecurityToken.Malformed", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := e.config(hangzhou)
			if c.config != nil {
				c.config(cfg)
			}
			_, err := e.clientWith(t, cfg).DescribeZones(&ecsclient.DescribeZonesRequest{RegionId: tea.String(hangzhou)})
			if c.code == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			wantAPIError(t, err, c.code, c.status)
		})
	}
}

func stsConfig(token string) func(*openapi.Config) {
	return func(c *openapi.Config) {
		c.AccessKeyId, c.AccessKeySecret = tea.String(stsID), tea.String(stsSecret)
		if token != "" {
			c.SecurityToken = tea.String(token)
		}
	}
}

func TestExpiredSTSTokenRejected(t *testing.T) {
	e := newEnv(t, nil)
	for _, algo := range []string{"", "v2"} {
		cfg := e.config(hangzhou)
		stsConfig(stsToken)(cfg)
		if algo != "" {
			cfg.SignatureAlgorithm = tea.String(algo)
		}
		cl := e.clientWith(t, cfg)
		e.clock.Set(time.Date(2026, 1, 2, 3, 59, 59, 0, time.UTC))
		if _, err := cl.DescribeRegions(&ecsclient.DescribeRegionsRequest{}); err != nil {
			t.Fatalf("%q: token before expiry rejected: %v", algo, err)
		}
		e.clock.Set(time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC))
		_, err := cl.DescribeRegions(&ecsclient.DescribeRegionsRequest{})
		wantAPIError(t, err, "InvalidSecurityToken.Expired", 400)
	}
	// A refreshed token for the same key is accepted again.
	e.store.Add(auth.Credential{AccessKeyID: stsID, AccessKeySecret: stsSecret, SecurityToken: "CAIS-new",
		Expiration: e.clock.Now().Add(time.Hour)})
	cfg := e.config(hangzhou)
	stsConfig("CAIS-new")(cfg)
	if _, err := e.clientWith(t, cfg).DescribeRegions(&ecsclient.DescribeRegionsRequest{}); err != nil {
		t.Fatalf("refreshed token rejected: %v", err)
	}
}

func TestFaultInjection(t *testing.T) {
	e := newEnv(t, nil)
	cl := e.client(t, hangzhou)
	e.faults.Set(fault.Config{ThrottleRate: 0.3, ErrorRate: 0.1, Seed: 42})
	const n = 300
	var throttled, unavailable, ok int
	for i := 0; i < n; i++ {
		_, err := cl.DescribeRegions(&ecsclient.DescribeRegionsRequest{})
		if err == nil {
			ok++
			continue
		}
		switch ae := asAPIError(t, err); {
		case ae.Code == "Throttling" && ae.Status == 400:
			throttled++
			wantAPIError(t, err, "Throttling", 400)
		case ae.Code == "ServiceUnavailable" && ae.Status == 503:
			unavailable++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if int64(throttled) != e.faults.Count(fault.Throttle) || int64(unavailable) != e.faults.Count(fault.ServerError) {
		t.Fatalf("client saw %d throttled / %d unavailable, injector decided %d / %d",
			throttled, unavailable, e.faults.Count(fault.Throttle), e.faults.Count(fault.ServerError))
	}
	if throttled < n*20/100 || throttled > n*40/100 || unavailable < n*4/100 || unavailable > n*16/100 {
		t.Fatalf("rates off: %d throttled, %d unavailable of %d", throttled, unavailable, n)
	}
	// Faulted requests never reach the operation.
	if got := e.srv.Calls("DescribeRegions"); got != ok {
		t.Fatalf("Calls = %d, want %d successful requests", got, ok)
	}
	// A reset drops the connection: the SDK sees a transport error.
	e.faults.Set(fault.Config{})
	e.faults.Enqueue(fault.Decision{Kind: fault.Reset})
	if _, err := cl.DescribeRegions(&ecsclient.DescribeRegionsRequest{}); err == nil {
		t.Fatal("request on a reset connection succeeded")
	}
	if _, err := cl.DescribeRegions(&ecsclient.DescribeRegionsRequest{}); err != nil {
		t.Fatalf("request after the reset: %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  ecs.Config
		want string
	}{
		{"no regions", ecs.Config{}, "Regions is empty"},
		{"region without zones", ecs.Config{Regions: []ecs.Region{{ID: hangzhou}}}, "has no zones"},
		{"duplicate region", ecs.Config{Regions: []ecs.Region{{ID: hangzhou, Zones: []string{zoneH}}, {ID: hangzhou, Zones: []string{zoneI}}}}, "listed twice"},
		{"zone in two regions", ecs.Config{Regions: []ecs.Region{{ID: hangzhou, Zones: []string{zoneH}}, {ID: beijing, Zones: []string{zoneH}}}}, "is listed in regions"},
		{"categories for unknown zone", ecs.Config{Regions: []ecs.Region{{ID: hangzhou, Zones: []string{zoneH}}},
			ZoneCategories: map[string][]string{zoneA: {"cloud_essd"}}}, "which no region has"},
		{"unknown category", ecs.Config{Regions: []ecs.Region{{ID: hangzhou, Zones: []string{zoneH}}},
			ZoneCategories: map[string][]string{zoneH: {"cloud_floppy"}}}, "unknown disk category"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ecs.New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestDelayedRequestsOverlap checks that a slow request does not hold up the
// others: restoring many volumes must run in parallel, not queue.
func TestDelayedRequestsOverlap(t *testing.T) {
	e := newEnv(t, nil)
	const n, delay = 10, 300 * time.Millisecond
	e.faults.Set(fault.Config{DelayRate: 1, Delay: delay, Seed: 1})
	start := time.Now()
	errs := make(chan error, n)
	shared := sharedHTTP{c: &http.Client{Timeout: 10 * time.Second}}
	for i := 0; i < n; i++ {
		// One SDK client per goroutine: *openapi.Client mutates itself on
		// every call (GetRpcHeaders), so it is not safe to share.
		cfg := e.config(hangzhou)
		cfg.HttpClient = shared
		cl := e.clientWith(t, cfg)
		go func() {
			_, err := cl.CreateDisk(&ecsclient.CreateDiskRequest{RegionId: tea.String(hangzhou), ZoneId: tea.String(zoneH),
				DiskCategory: tea.String("cloud_essd"), Size: tea.Int32(20)})
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("CreateDisk: %v", err)
		}
	}
	if elapsed := time.Since(start); elapsed < delay || elapsed > n*delay/2 {
		t.Fatalf("%d delayed requests took %v; they should overlap (one delay is %v)", n, elapsed, delay)
	}
	if got := len(e.srv.Disks(hangzhou)); got != n {
		t.Fatalf("%d disks, want %d", got, n)
	}
}

// TestRequestTimestampAndSignaturePresence signs raw RPC requests with the
// SDK's own signer to reach the checks the SDK never trips by itself.
func TestRequestTimestampAndSignaturePresence(t *testing.T) {
	e := newEnv(t, nil)
	send := func(ts string, sign bool) (int, map[string]any) {
		t.Helper()
		q := map[string]*string{
			"Action": tea.String("DescribeRegions"), "Version": tea.String(ecs.APIVersion), "Format": tea.String("json"),
			"Timestamp": tea.String(ts), "SignatureNonce": tea.String(fmt.Sprint(time.Now().UnixNano())),
			"SignatureMethod": tea.String("HMAC-SHA1"), "SignatureVersion": tea.String("1.0"), "AccessKeyId": tea.String(keyID),
		}
		if sign {
			q["Signature"] = openapiutil.GetRPCSignature(q, tea.String("POST"), tea.String(keySecret))
		}
		vals := url.Values{}
		for k, v := range q {
			vals.Set(k, *v)
		}
		resp, err := http.Post(e.url+"/?"+vals.Encode(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	now := time.Now().UTC()
	cases := []struct {
		name   string
		ts     string
		sign   bool
		status int
		code   string
	}{
		{"fresh", now.Format("2006-01-02T15:04:05Z"), true, 200, ""},
		{"20 minutes old", now.Add(-20 * time.Minute).Format("2006-01-02T15:04:05Z"), true, 400, "InvalidTimeStamp.Expired"},
		{"20 minutes ahead", now.Add(20 * time.Minute).Format("2006-01-02T15:04:05Z"), true, 400, "InvalidTimeStamp.Expired"},
		{"not a timestamp", "yesterday", true, 400, "InvalidTimeStamp.Format"},
		{"unsigned", now.Format("2006-01-02T15:04:05Z"), false, 400, "IncompleteSignature"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := send(c.ts, c.sign)
			if status != c.status || (c.code != "" && body["Code"] != c.code) {
				t.Fatalf("got %d %v, want %d %s", status, body, c.status, c.code)
			}
			if c.code == "" && body["Regions"] == nil {
				t.Fatalf("success body lacks Regions: %v", body)
			}
		})
	}
}

// TestFailedSnapshotsAndCopies: a snapshot or copy that ECS gives up on goes
// from progressing to failed, keeps its progress, and can be neither copied
// nor restored; it does not block the next snapshot of the disk.
func TestFailedSnapshotsAndCopies(t *testing.T) {
	e := newEnv(t, func(c *ecs.Config) { c.SnapshotDuration, c.CopyDuration = 10*time.Second, 10*time.Second })
	hz, bj := e.client(t, hangzhou), e.client(t, beijing)
	diskID := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	describe := func(cl *ecsclient.Client, region, id string) (status, progress string, available bool) {
		t.Helper()
		out, err := cl.DescribeSnapshots(&ecsclient.DescribeSnapshotsRequest{RegionId: tea.String(region), SnapshotIds: tea.String(`["` + id + `"]`)})
		if err != nil || len(out.Body.Snapshots.Snapshot) != 1 {
			t.Fatalf("DescribeSnapshots %s: %v", id, err)
		}
		sn := out.Body.Snapshots.Snapshot[0]
		return tea.StringValue(sn.Status), tea.StringValue(sn.Progress), tea.BoolValue(sn.Available)
	}

	e.srv.FailNextSnapshots(1)
	failed := mustSnapshot(t, hz, diskID)
	steps := []struct {
		advance          time.Duration
		status, progress string
	}{
		{0, "progressing", "0%"},
		{4 * time.Second, "progressing", "40%"},
		{time.Second, "failed", "50%"},
		{time.Hour, "failed", "50%"},
	}
	for _, st := range steps {
		e.clock.Advance(st.advance)
		if status, progress, available := describe(hz, hangzhou, failed); status != st.status || progress != st.progress || available {
			t.Fatalf("failing snapshot: status %s progress %s available %v; want %s %s false", status, progress, available, st.status, st.progress)
		}
	}
	_, err := hz.CopySnapshot(&ecsclient.CopySnapshotRequest{RegionId: tea.String(hangzhou), SnapshotId: tea.String(failed), DestinationRegionId: tea.String(beijing)})
	wantAPIError(t, err, "InvalidSnapshotId.NotReady", 403)
	_, err = hz.CreateDisk(&ecsclient.CreateDiskRequest{RegionId: tea.String(hangzhou), ZoneId: tea.String(zoneH),
		DiskCategory: tea.String("cloud_essd"), SnapshotId: tea.String(failed)})
	wantAPIError(t, err, "InvalidSnapshotId.NotReady", 403)
	list, err := hz.DescribeSnapshots(&ecsclient.DescribeSnapshotsRequest{RegionId: tea.String(hangzhou), Status: tea.String("failed")})
	if err != nil || len(list.Body.Snapshots.Snapshot) != 1 || tea.StringValue(list.Body.Snapshots.Snapshot[0].SnapshotId) != failed {
		t.Fatalf("DescribeSnapshots Status=failed = %v, %v; want only %s", list, err, failed)
	}

	// Only the next one failed: the disk's next snapshot succeeds.
	good := mustSnapshot(t, hz, diskID)
	e.clock.Advance(10 * time.Second)
	if status, _, available := describe(hz, hangzhou, good); status != "accomplished" || !available {
		t.Fatalf("snapshot after the failed one: %s, available %v", status, available)
	}

	e.srv.FailNextCopies(1)
	copyOf := func(token string) string {
		t.Helper()
		out, err := hz.CopySnapshot(&ecsclient.CopySnapshotRequest{RegionId: tea.String(hangzhou), SnapshotId: tea.String(good),
			DestinationRegionId: tea.String(beijing), ClientToken: tea.String(token)})
		if err != nil {
			t.Fatalf("CopySnapshot: %v", err)
		}
		return tea.StringValue(out.Body.SnapshotId)
	}
	badCopy := copyOf("first")
	e.clock.Advance(5 * time.Second)
	if status, progress, _ := describe(bj, beijing, badCopy); status != "failed" || progress != "50%" {
		t.Fatalf("failing copy: %s %s", status, progress)
	}
	if again := copyOf("first"); again != badCopy {
		t.Fatalf("the same ClientToken returned copy %s, want the failed %s", again, badCopy)
	}
	goodCopy := copyOf("second")
	e.clock.Advance(10 * time.Second)
	if status, _, _ := describe(bj, beijing, goodCopy); status != "accomplished" {
		t.Fatalf("second copy: %s", status)
	}
	if _, err := bj.DeleteSnapshot(&ecsclient.DeleteSnapshotRequest{SnapshotId: tea.String(badCopy)}); err != nil {
		t.Fatalf("DeleteSnapshot of the failed copy: %v", err)
	}
	if _, ok := e.srv.Snapshot(badCopy); ok {
		t.Fatalf("failed copy %s still there after DeleteSnapshot", badCopy)
	}
}
