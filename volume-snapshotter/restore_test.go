package volumesnapshotter

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
	corev1 "k8s.io/api/core/v1"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
)

// ecsActions are the actions counted for the per-volume call note.
var ecsActions = []string{"DescribeRegions", "DescribeZones", "DescribeDisks", "CreateDisk", "DescribeSnapshots", "CreateSnapshot", "CopySnapshot", "DeleteSnapshot"}

func callCounts(srv *ecs.Server) map[string]int {
	out := map[string]int{}
	for _, a := range ecsActions {
		out[a] = srv.Calls(a)
	}
	return out
}

func diffCounts(before, after map[string]int) string {
	var parts []string
	for _, a := range ecsActions {
		if n := after[a] - before[a]; n != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", a, n))
		}
	}
	return strings.Join(parts, " ")
}

// TestCrossRegionRestore backs up a 10 GiB ESSD in cn-hangzhou and restores
// it with a cn-beijing VolumeSnapshotLocation: the disk is in cn-beijing-a,
// 20 GiB (the ESSD PL1 minimum), made from a copy whose lineage leads to the
// original snapshot, and the PV follows it there. A second restore reuses the
// copy.
func TestCrossRegionRestore(t *testing.T) {
	e := newTestEnv(t, nil)
	e.addBackup("nightly", "72h0m0s")
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 10, map[string]string{"team": "db", "acs:ecs:system": "x", "aliyun-internal": "y"})

	hz := e.snapshotter(hangzhou, nil)
	volumeType, iops, err := hz.GetVolumeInfo(src, zoneH)
	if err != nil {
		t.Fatalf("GetVolumeInfo: %v", err)
	}
	if volumeType != "cloud_essd" || iops == nil || *iops != 2300 {
		t.Fatalf("GetVolumeInfo = %q, %v; want cloud_essd, 2300 IOPS", volumeType, iops)
	}
	before := callCounts(e.srv)
	snapID, err := hz.CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "nightly", "velero.io/pv": "pvc-1234", "app": "db"})
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	t.Logf("ECS calls per backed-up volume: %s (plus GetVolumeInfo: DescribeDisks=1)", diffCounts(before, callCounts(e.srv)))
	ref, err := parseSnapshotID(snapID)
	if err != nil || ref.region != hangzhou {
		t.Fatalf("snapshot ID %q: want cn-hangzhou/s-..., err %v", snapID, err)
	}
	orig, ok := e.srv.Snapshot(ref.id)
	if !ok {
		t.Fatalf("snapshot %s not in the emulator", ref.id)
	}
	if orig.Name != "velero-nightly" || orig.RetentionDays != 3 {
		t.Errorf("snapshot name %q retention %d; want velero-nightly, 3 days (72h TTL)", orig.Name, orig.RetentionDays)
	}
	wantTags := map[string]string{
		"velero.io/backup": "nightly", "velero.io/pv": "pvc-1234", "app": "db", "team": "db",
		tagSourceRegion: hangzhou, tagSourceZone: zoneH, tagSourceCategory: "cloud_essd", tagSourcePL: "PL1", tagSourceSize: "10",
	}
	for k, v := range wantTags {
		if orig.Tags[k] != v {
			t.Errorf("snapshot tag %s = %q, want %q", k, orig.Tags[k], v)
		}
	}
	for _, k := range []string{"acs:ecs:system", "aliyun-internal"} {
		if _, ok := orig.Tags[k]; ok {
			t.Errorf("system tag %s was copied to the snapshot", k)
		}
	}

	e.addNode("bj-node-1", zoneBA)
	bj := e.snapshotter(beijing, nil)
	before = callCounts(e.srv)
	diskID, err := bj.CreateVolumeFromSnapshot(snapID, volumeType, zoneH, iops)
	if err != nil {
		t.Fatalf("CreateVolumeFromSnapshot: %v", err)
	}
	t.Logf("ECS calls per volume restored across regions: %s", diffCounts(before, callCounts(e.srv)))
	d, ok := e.srv.Disk(diskID)
	if !ok {
		t.Fatalf("disk %s not in the emulator", diskID)
	}
	if d.RegionID != beijing || d.ZoneID != zoneBA || d.SizeGiB != 20 || d.Category != "cloud_essd" || d.PerformanceLevel != "PL1" || d.Status != ecs.DiskAvailable {
		t.Errorf("restored disk = %+v; want Available 20 GiB cloud_essd PL1 in cn-beijing-a", d)
	}
	cp, ok := e.srv.Snapshot(d.SourceSnapshotID)
	if !ok || cp.RegionID != beijing || cp.SourceSnapshotID != ref.id || cp.SourceRegionID != hangzhou {
		t.Fatalf("disk's source snapshot %s = %+v; want a cn-beijing copy of %s", d.SourceSnapshotID, cp, ref.id)
	}
	if cp.Tags[tagSourceSnapshotID] != ref.id || cp.Tags[tagSourceZone] != zoneH || cp.RetentionDays != 3 {
		t.Errorf("copy tags %v retention %d; want the source's record and 3 days", cp.Tags, cp.RetentionDays)
	}

	pv := testutil.Unstructured(testutil.DiskPV("pvc-1234", src, testutil.InZone(zoneH), testutil.WithLabels(map[string]string{corev1.LabelTopologyRegion: hangzhou}),
		testutil.WithSize("10Gi"), testutil.WithFSType("ext4")))
	out, err := bj.SetVolumeID(pv, diskID)
	if err != nil {
		t.Fatalf("SetVolumeID: %v", err)
	}
	got := toPVT(t, out)
	if got.Spec.CSI.VolumeHandle != diskID {
		t.Errorf("volumeHandle = %q, want %q", got.Spec.CSI.VolumeHandle, diskID)
	}
	expr := got.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0]
	if expr.Key != "topology.diskplugin.csi.alibabacloud.com/zone" || mustJSON(expr.Values) != `["cn-beijing-a"]` {
		t.Errorf("node affinity = %+v; want the CSI zone key In [cn-beijing-a]", expr)
	}
	if got.Labels["topology.kubernetes.io/zone"] != zoneBA || got.Labels["topology.kubernetes.io/region"] != beijing {
		t.Errorf("labels = %v; want zone cn-beijing-a, region cn-beijing", got.Labels)
	}
	if q := got.Spec.Capacity[corev1.ResourceStorage]; q.String() != "20Gi" {
		t.Errorf("capacity = %s, want 20Gi", q.String())
	}

	// A second restore, in a new plugin process, finds the copy.
	bj2 := e.snapshotter(beijing, nil)
	before = callCounts(e.srv)
	disk2, err := bj2.CreateVolumeFromSnapshot(snapID, volumeType, zoneH, iops)
	if err != nil {
		t.Fatalf("second CreateVolumeFromSnapshot: %v", err)
	}
	t.Logf("ECS calls per volume restored again (copy reused): %s", diffCounts(before, callCounts(e.srv)))
	if n := e.srv.Calls("CopySnapshot"); n != 1 {
		t.Errorf("CopySnapshot calls = %d, want 1 (the second restore must reuse the copy)", n)
	}
	if d2, _ := e.srv.Disk(disk2); d2.SourceSnapshotID != cp.SnapshotID || disk2 == diskID {
		t.Errorf("second disk %s from %s; want a new disk from copy %s", disk2, d2.SourceSnapshotID, cp.SnapshotID)
	}
}

// TestRestoredSize: the disk is at least the source size, the category's
// minimum and the 20 GiB ACK binds (which the disk-minimum-size action raises
// the PV to), and the PV declares the disk's real size.
func TestRestoredSize(t *testing.T) {
	tests := []struct {
		category string
		size     int
		wantSize int
	}{
		{"cloud_essd", 10, 20},
		{"cloud_essd", 40, 40},
		{"cloud_efficiency", 10, 20},
		{"cloud_ssd", 5, 20},
		{"cloud_auto", 10, 20},
		{"cloud_auto", 30, 30},
		{"cloud_essd_entry", 5, 20},
		{"cloud", 3, 20},
	}
	e := newTestEnv(t, nil)
	hz := e.snapshotter(hangzhou, nil)
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%d", tt.category, tt.size), func(t *testing.T) {
			src := e.srv.SeedDisk(hangzhou, zoneI, tt.category, tt.size, nil)
			vt, iops, err := hz.GetVolumeInfo(src, zoneI)
			if err != nil {
				t.Fatal(err)
			}
			id, err := hz.CreateSnapshot(src, zoneI, map[string]string{"velero.io/backup": "b1", "velero.io/pv": "pv-" + src})
			if err != nil {
				t.Fatal(err)
			}
			// No wait: the restore waits for the snapshot itself.
			diskID, err := hz.CreateVolumeFromSnapshot(id, vt, zoneI, iops)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := e.srv.Disk(diskID)
			if d.SizeGiB != tt.wantSize || d.Category != tt.category || d.ZoneID != zoneI {
				t.Errorf("restored %s %d GiB as %s %d GiB in %s; want %d GiB in %s", tt.category, tt.size, d.Category, d.SizeGiB, d.ZoneID, tt.wantSize, zoneI)
			}
			pv, err := hz.SetVolumeID(testutil.Unstructured(testutil.DiskPV("pv-"+src, src, testutil.InZone(zoneI), testutil.WithLabels(map[string]string{corev1.LabelTopologyRegion: hangzhou}),
				testutil.WithSize("10Gi"), testutil.WithFSType("ext4"))), diskID)
			if err != nil {
				t.Fatal(err)
			}
			if c := toPVT(t, pv).Spec.Capacity[corev1.ResourceStorage]; c.Value() != int64(d.SizeGiB)<<30 {
				t.Errorf("PV capacity %s, want the disk's %d GiB", c.String(), d.SizeGiB)
			}
		})
	}
}

// TestCategoryFallback: a zone without the disk's category gets the first
// category of the documented order that it has.
func TestCategoryFallback(t *testing.T) {
	e := newTestEnv(t, func(c *ecs.Config) {
		c.ZoneCategories = map[string][]string{zoneBA: {"cloud_efficiency", "cloud_ssd"}}
	})
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 30, nil)
	hz := e.snapshotter(hangzhou, nil)
	id, err := hz.CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "b", "velero.io/pv": "p"})
	if err != nil {
		t.Fatal(err)
	}
	bj := e.snapshotter(beijing, map[string]string{keyZone: zoneBA})
	diskID, err := bj.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := e.srv.Disk(diskID); d.Category != "cloud_ssd" || d.SizeGiB != 30 {
		t.Errorf("disk %s is %s %d GiB; want cloud_ssd 30 GiB", diskID, d.Category, d.SizeGiB)
	}
}

// TestZoneChoice walks the documented order of restore zones.
func TestZoneChoice(t *testing.T) {
	zones := map[string][]string{zoneBA: nil, "cn-beijing-b": nil}
	tests := []struct {
		name                 string
		volumeAZ, recorded   string
		configZone           string
		nodeZones            []string
		want, wantErrContain string
	}{
		{name: "volumeAZ in region", volumeAZ: "cn-beijing-b", recorded: zoneBA, want: "cn-beijing-b"},
		{name: "recorded zone in region", volumeAZ: zoneH, recorded: "cn-beijing-b", want: "cn-beijing-b"},
		{name: "zone config", volumeAZ: zoneH, recorded: zoneH, configZone: "cn-beijing-b", nodeZones: []string{zoneBA}, want: "cn-beijing-b"},
		{name: "bad zone config", volumeAZ: zoneH, configZone: "cn-beijing-z", wantErrContain: `names zone "cn-beijing-z", which region cn-beijing does not have`},
		{name: "most common node zone", volumeAZ: zoneH, nodeZones: []string{zoneBA, "cn-beijing-b", "cn-beijing-b", zoneH}, want: "cn-beijing-b"},
		{name: "nothing", volumeAZ: zoneH, nodeZones: []string{zoneH}, wantErrContain: "set the VolumeSnapshotLocation config key zone to one of: cn-beijing-a, cn-beijing-b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			for i, z := range tt.nodeZones {
				e.addNode(fmt.Sprintf("n%d", i), z)
			}
			cfg := map[string]string{}
			if tt.configZone != "" {
				cfg[keyZone] = tt.configZone
			}
			v := e.snapshotter(beijing, cfg)
			got, err := v.chooseZone(tt.volumeAZ, tt.recorded, zones, v.log)
			if tt.wantErrContain != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrContain) {
					t.Fatalf("err = %v; want it to contain %q", err, tt.wantErrContain)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("chooseZone = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestUpstreamPlainSnapshotID restores and deletes a snapshot the upstream
// plugin made: a plain ID and its zone tag, spelt as the upstream plugin
// spells it (velero-plugin-alibabacloud/volume_snapshotter.go).
func TestUpstreamPlainSnapshotID(t *testing.T) {
	e := newTestEnv(t, nil)
	src := e.srv.SeedDisk(hangzhou, zoneI, "cloud_ssd", 25, nil)
	resp, err := e.sdk(hangzhou).CreateSnapshot(&ecsclient.CreateSnapshotRequest{
		DiskId: tea.String(src), SnapshotName: tea.String("upstream"),
		Tag: []*ecsclient.CreateSnapshotRequestTag{{Key: tea.String("alibabacloud.velero-plugin/orginal-volume-az"), Value: tea.String(zoneI)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	plain := tea.StringValue(resp.Body.SnapshotId)
	e.waitAccomplished(plain)

	// Same region; Velero recorded no zone (the upstream plugin gave none).
	hz := e.snapshotter(hangzhou, nil)
	diskID, err := hz.CreateVolumeFromSnapshot(plain, "", "", nil)
	if err != nil {
		t.Fatalf("restore in cn-hangzhou: %v", err)
	}
	if d, _ := e.srv.Disk(diskID); d.ZoneID != zoneI || d.SizeGiB != 25 || d.SourceSnapshotID != plain {
		t.Errorf("disk = %+v; want 25 GiB in %s (the upstream zone tag) from %s", d, zoneI, plain)
	}

	// Another region: found by searching the regions, copied, zone from nodes.
	e.addNode("bj", zoneBA)
	bj := e.snapshotter(beijing, nil)
	diskID, err = bj.CreateVolumeFromSnapshot(plain, "cloud_ssd", "", nil)
	if err != nil {
		t.Fatalf("restore in cn-beijing: %v", err)
	}
	d, _ := e.srv.Disk(diskID)
	cp, _ := e.srv.Snapshot(d.SourceSnapshotID)
	if d.ZoneID != zoneBA || d.Category != "cloud_ssd" || cp.SourceSnapshotID != plain {
		t.Errorf("disk = %+v from %+v; want cloud_ssd in %s from a copy of %s", d, cp, zoneBA, plain)
	}
	// Without Velero's backup tag there is no backup to copy ahead.
	if strings.Contains(e.logs.String(), "started copies of") {
		t.Errorf("copies were started ahead for an upstream snapshot without a backup tag:\n%s", e.logs.String())
	}

	for i := 0; i < 2; i++ {
		if err := hz.DeleteSnapshot(plain); err != nil {
			t.Fatalf("DeleteSnapshot #%d: %v", i+1, err)
		}
	}
	if _, ok := e.srv.Snapshot(plain); ok {
		t.Errorf("snapshot %s still exists", plain)
	}
}

// TestThrottlingAndServerErrors runs a backup, a cross-region restore and a
// delete with 30% of ECS requests throttled, 5% failing with 503 and 5%
// dropped without a response.
func TestThrottlingAndServerErrors(t *testing.T) {
	e := newTestEnv(t, nil)
	e.addNode("bj", zoneBA)
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 50, nil)
	e.faults.Set(fault.Config{ThrottleRate: 0.30, ErrorRate: 0.05, ResetRate: 0.05, Seed: 42})
	hz := e.snapshotter(hangzhou, map[string]string{keySnapshotRetentionDays: "7"})
	id, err := hz.CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "b", "velero.io/pv": "p"})
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	bj := e.snapshotter(beijing, nil)
	diskID, err := bj.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil)
	if err != nil {
		t.Fatalf("CreateVolumeFromSnapshot: %v", err)
	}
	pv := testutil.Unstructured(testutil.DiskPV("p", src, testutil.InZone(zoneH), testutil.WithLabels(map[string]string{corev1.LabelTopologyRegion: hangzhou}),
		testutil.WithSize("10Gi"), testutil.WithFSType("ext4")))
	if _, err := bj.SetVolumeID(pv, diskID); err != nil {
		t.Fatalf("SetVolumeID: %v", err)
	}
	if err := bj.DeleteSnapshot(id); err != nil {
		t.Fatalf("DeleteSnapshot: %v", err)
	}
	e.faults.Set(fault.Config{})
	if n := len(e.srv.Disks(beijing)); n != 1 {
		t.Errorf("%d disks in cn-beijing, want 1 (retries must not create twice)", n)
	}
	if n := len(e.srv.Snapshots(hangzhou)) + len(e.srv.Snapshots(beijing)); n != 0 {
		t.Errorf("%d snapshots left after DeleteSnapshot, want 0", n)
	}
	if !strings.Contains(e.logs.String(), "Throttling") {
		t.Errorf("no retried Throttling in the log; the fault injection did not take effect")
	}
}

// TestCopyPermissionDenied: a refused CopySnapshot names the missing RAM
// permission in the words of the ACK backup center's FAQ.
func TestCopyPermissionDenied(t *testing.T) {
	e := newTestEnv(t, nil)
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	id, err := e.snapshotter(hangzhou, nil).CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "b"})
	if err != nil {
		t.Fatal(err)
	}
	denied := httptest.NewServer(denyAction(e.srv, "CopySnapshot"))
	defer denied.Close()
	// CopySnapshot is called in the source region.
	bj := e.snapshotter(beijing, map[string]string{keyRegionEndpoints: hangzhou + "=" + denied.URL, keyZone: zoneBA})
	_, err = bj.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil)
	if err == nil {
		t.Fatal("CreateVolumeFromSnapshot succeeded without ecs:CopySnapshot")
	}
	for _, want := range []string{"ECS snapshot cross region request failed", "Forbidden.RAM", "missing the ecs:CopySnapshot permission"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if n := e.srv.Calls("CopySnapshot"); n != 0 {
		t.Errorf("CopySnapshot reached the emulator %d times", n)
	}
}

// TestConcurrentCrossRegionRestores restores 20 volumes across regions at
// once; the copies must overlap, not queue.
func TestConcurrentCrossRegionRestores(t *testing.T) {
	const n = 20
	const copyDuration = time.Second
	e := newTestEnv(t, func(c *ecs.Config) { c.CopyDuration = copyDuration })
	e.addNode("bj", zoneBA)
	hz := e.snapshotter(hangzhou, nil)
	ids := make([]string, n)
	for i := range ids {
		src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
		id, err := hz.CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "b", "velero.io/pv": fmt.Sprintf("pv-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	for _, id := range ids {
		e.waitAccomplished(rawID(id))
	}
	bj := e.snapshotter(beijing, map[string]string{keyPollInterval: "50ms"})
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = bj.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil)
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("restore %d: %v", i, err)
		}
	}
	t.Logf("%d cross-region restores took %s with a %s copy each (serial would be >= %s)", n, wall.Round(time.Millisecond), copyDuration, n*copyDuration)
	if wall > 4*copyDuration {
		t.Errorf("%d restores took %s; with overlapping copies they take about one copy (%s)", n, wall, copyDuration)
	}
	if got := len(e.srv.Disks(beijing)); got != n {
		t.Errorf("%d disks in cn-beijing, want %d", got, n)
	}
}

// TestConcurrentRestoresOfOneSnapshotShareOneCopy: parallel restores of the
// same snapshot make one copy.
func TestConcurrentRestoresOfOneSnapshotShareOneCopy(t *testing.T) {
	e := newTestEnv(t, nil)
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	id, err := e.snapshotter(hangzhou, nil).CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "b"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		bj := e.snapshotter(beijing, map[string]string{keyZone: zoneBA}) // separate processes
		for j := 0; j < 3; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := bj.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	copies := 0
	for _, s := range e.srv.Snapshots(beijing) {
		if s.SourceSnapshotID != "" {
			copies++
		}
	}
	if copies != 1 {
		t.Errorf("%d copies in cn-beijing, want 1", copies)
	}
}

func TestPerformanceLevelAndMinimumSize(t *testing.T) {
	iops := func(n int64) *int64 { return &n }
	tests := []struct {
		name     string
		category string
		meta     sourceMeta
		iops     *int64
		wantPL   string
		wantMin  int64
	}{
		{"recorded PL2", "cloud_essd", sourceMeta{category: "cloud_essd", performanceLevel: "PL2"}, nil, "PL2", 461},
		{"recorded PL0", "cloud_essd", sourceMeta{category: "cloud_essd", performanceLevel: "PL0"}, iops(60000), "PL0", 1},
		{"IOPS of a PL3", "cloud_essd", sourceMeta{}, iops(150000), "PL3", 1261},
		{"IOPS of a PL2", "cloud_essd", sourceMeta{}, iops(75000), "PL2", 461},
		{"IOPS of a PL1", "cloud_essd", sourceMeta{}, iops(11800), "PL1", 20},
		{"nothing known", "cloud_essd", sourceMeta{}, nil, "PL1", 20},
		{"PL of another category ignored", "cloud_essd", sourceMeta{category: "cloud_auto", performanceLevel: "PL3"}, nil, "PL1", 20},
		{"SSD", "cloud_ssd", sourceMeta{performanceLevel: "PL2"}, iops(75000), "", 20},
		{"ESSD AutoPL", "cloud_auto", sourceMeta{}, nil, "", 1},
	}
	for _, tt := range tests {
		pl := performanceLevel(tt.category, tt.meta, tt.iops)
		if pl != tt.wantPL || minSizeGiB(tt.category, pl) != tt.wantMin {
			t.Errorf("%s: PL %q min %d; want %q %d", tt.name, pl, minSizeGiB(tt.category, pl), tt.wantPL, tt.wantMin)
		}
	}
}

// BenchmarkCrossRegionRestore20 restores 20 volumes across regions at once
// per iteration and reports the wall time as a multiple of one copy's
// duration (about 1 when the copies overlap, 20 when they queue).
func BenchmarkCrossRegionRestore20(b *testing.B) {
	const n = 20
	const copyDuration = 200 * time.Millisecond
	e := newTestEnv(b, func(c *ecs.Config) { c.CopyDuration = copyDuration })
	e.addNode("bj", zoneBA)
	hz := e.snapshotter(hangzhou, nil)
	bj := e.snapshotter(beijing, map[string]string{keyPollInterval: "20ms"})
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ids := make([]string, n)
		for j := range ids {
			src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
			id, err := hz.CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "bench", "velero.io/pv": fmt.Sprintf("pv-%d-%d", i, j)})
			if err != nil {
				b.Fatal(err)
			}
			ids[j] = id
		}
		for _, id := range ids {
			e.waitAccomplished(rawID(id))
		}
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := bj.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		total += time.Since(start)
	}
	b.ReportMetric(float64(total)/float64(b.N)/float64(copyDuration), "copy-durations/op")
}

// TestKMSKey: with kmsKeyId the copy into the location's region and the
// restored disk are encrypted with that key.
func TestKMSKey(t *testing.T) {
	e := newTestEnv(t, nil)
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	id, err := e.snapshotter(hangzhou, nil).CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": "b"})
	if err != nil {
		t.Fatal(err)
	}
	bj := e.snapshotter(beijing, map[string]string{keyZone: zoneBA, keyKMSKeyID: "key-bj-1"})
	diskID, err := bj.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := e.srv.Disk(diskID)
	cp, _ := e.srv.Snapshot(d.SourceSnapshotID)
	if !d.Encrypted || d.KMSKeyID != "key-bj-1" || !cp.Encrypted || cp.KMSKeyID != "key-bj-1" {
		t.Errorf("disk encrypted=%v key=%q, copy encrypted=%v key=%q; want both with key-bj-1", d.Encrypted, d.KMSKeyID, cp.Encrypted, cp.KMSKeyID)
	}
}
