package bench

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	vsv1 "github.com/vmware-tanzu/velero/pkg/plugin/velero/volumesnapshotter/v1"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
)

// ECS timings, scaled 1:600 from realistic values so that a run takes
// seconds: a snapshot of a 100 GiB ESSD accomplishes in ~2 min (200 ms), a
// cross-region copy takes ~20 min (2 s), a disk from a snapshot ~30 s
// (50 ms), an API call ~150 ms (250 µs added to every request), the plugin
// polls every 5 s (10 ms).
const (
	volumes          = 20
	snapshotDuration = 200 * time.Millisecond
	copyDuration     = 2 * time.Second
	diskDuration     = 50 * time.Millisecond
	apiLatency       = 250 * time.Microsecond
	pollInterval     = "10ms"
	srcRegion        = "cn-hangzhou"
	srcZone          = "cn-hangzhou-h"
	dstRegion        = "cn-beijing"
	dstZone          = "cn-beijing-a"
)

var ecsActions = []string{"DescribeDisks", "CreateSnapshot", "DescribeSnapshots", "CopySnapshot", "CreateDisk",
	"DescribeZones", "DescribeRegions", "DeleteSnapshot", "DescribeAvailableResource"}

// BenchmarkSnapshots backs up 20 ECS disk volumes and restores them in
// another region through the plugin's VolumeSnapshotter over Velero's gRPC
// client, against the ECS emulator with time-scaled latencies. ns/op is the
// wall time of the timed phase; copy-durations/op is it divided by one
// cross-region copy (≈1 when the 20 copies overlap, ≈20 when they run one
// after another); ecs-calls/op counts every ECS request of the phase.
//
//   - backup: GetVolumeInfo + CreateSnapshot per volume, one volume after
//     another (stock Velero backs up with one item-block worker);
//   - restore-sequential: CreateVolumeFromSnapshot in cn-beijing per volume,
//     one after another, as stock Velero's restore calls it;
//   - restore-concurrent: the same 20 calls at once (the plugin's copies
//     overlap when its caller lets them);
//   - backup-replicas: backup with replicaRegions=cn-beijing (each snapshot
//     is copied as soon as it is accomplished, copies not awaited);
//   - restore-after-replicas: the sequential restore right after that backup
//     (it reuses the copies the backup started).
func BenchmarkSnapshots(b *testing.B) {
	name := fmt.Sprintf("volumes=%d/", volumes)
	b.Run(name+"backup", func(b *testing.B) {
		e := newECSEnv(b)
		src := e.snapshotter(b, srcRegion, nil)
		for b.Loop() {
			e.backup(b, src)
		}
		e.report(b, b.Elapsed())
	})
	for _, mode := range []string{"sequential", "concurrent"} {
		b.Run(name+"restore-"+mode, func(b *testing.B) {
			e := newECSEnv(b)
			src := e.snapshotter(b, srcRegion, nil)
			dst := e.snapshotter(b, dstRegion, map[string]string{"zone": dstZone})
			e.timedRestores(b, src, dst, mode == "concurrent")
		})
	}
	b.Run(name+"backup-replicas", func(b *testing.B) {
		e := newECSEnv(b)
		src := e.snapshotter(b, srcRegion, map[string]string{"replicaRegions": dstRegion})
		for b.Loop() {
			e.backup(b, src)
		}
		e.report(b, b.Elapsed())
	})
	b.Run(name+"restore-after-replicas", func(b *testing.B) {
		e := newECSEnv(b)
		src := e.snapshotter(b, srcRegion, map[string]string{"replicaRegions": dstRegion})
		dst := e.snapshotter(b, dstRegion, map[string]string{"zone": dstZone})
		e.timedRestores(b, src, dst, false)
		if n := e.srv.Calls("CopySnapshot") - e.base["CopySnapshot"]; n != 0 {
			b.Errorf("the restore started %d copies although the backup made replicas", n)
		}
	})
}

type ecsEnv struct {
	srv      *ecs.Server
	url      string
	credFile string
	base     map[string]int // calls before the timed phase
}

func newECSEnv(b *testing.B) *ecsEnv {
	b.Helper()
	srv, err := ecs.New(ecs.Config{
		Auth: auth.NewStore(auth.Credential{AccessKeyID: keyID, AccessKeySecret: keySecret}),
		Regions: []ecs.Region{
			{ID: srcRegion, Zones: []string{srcZone, "cn-hangzhou-i"}},
			{ID: dstRegion, Zones: []string{dstZone}},
		},
		SnapshotDuration: snapshotDuration, CopyDuration: copyDuration, DiskCreateDuration: diskDuration,
		Faults: fault.New(fault.Config{DelayRate: 1, Delay: apiLatency, Seed: 1}),
	})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	b.Cleanup(hs.Close)
	e := &ecsEnv{srv: srv, url: hs.URL, credFile: filepath.Join(b.TempDir(), "cloud"), base: map[string]int{}}
	creds := "ALIBABA_CLOUD_ACCESS_KEY_ID=" + keyID + "\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + keySecret + "\n"
	if err := os.WriteFile(e.credFile, []byte(creds), 0o600); err != nil {
		b.Fatal(err)
	}
	return e
}

// snapshotter starts the plugin and returns Velero's gRPC client for its
// VolumeSnapshotter, initialised like a VolumeSnapshotLocation in region.
func (e *ecsEnv) snapshotter(b *testing.B, region string, extra map[string]string) vsv1.VolumeSnapshotter {
	b.Helper()
	mgr, _ := newManager(b)
	vs, err := mgr.GetVolumeSnapshotter(pluginName)
	if err != nil {
		b.Fatalf("GetVolumeSnapshotter: %v", err)
	}
	// The emulator answers every region at one address: the benchmark's
	// other region (a restore's source, the replicas' target) gets it
	// through regionEndpoints instead of its public endpoint.
	other := srcRegion
	if region == srcRegion {
		other = dstRegion
	}
	cfg := map[string]string{"region": region, "endpoint": e.url, "credentialsFile": e.credFile,
		"regionEndpoints": other + "=" + e.url, "pollInterval": pollInterval, "snapshotRetentionDays": "7"}
	for k, v := range extra {
		cfg[k] = v
	}
	if err := vs.Init(cfg); err != nil {
		b.Fatalf("Init(%v): %v", cfg, err)
	}
	return vs
}

type backedUp struct {
	snapshotID, volumeType string
	iops                   *int64
}

// backup seeds 20 disks and snapshots them one after another, as Velero's
// backup does for PVs.
func (e *ecsEnv) backup(b *testing.B, vs vsv1.VolumeSnapshotter) []backedUp {
	b.Helper()
	var out []backedUp
	for i := range volumes {
		disk := e.srv.SeedDisk(srcRegion, srcZone, "cloud_essd", 100, map[string]string{"app": "bench"})
		typ, iops, err := vs.GetVolumeInfo(disk, srcZone)
		if err != nil {
			b.Fatalf("GetVolumeInfo(%s): %v", disk, err)
		}
		id, err := vs.CreateSnapshot(disk, srcZone, map[string]string{
			"velero.io/backup": "bench", "velero.io/pv": fmt.Sprintf("pv-%02d", i)})
		if err != nil {
			b.Fatalf("CreateSnapshot(%s): %v", disk, err)
		}
		out = append(out, backedUp{id, typ, iops})
	}
	return out
}

// timedRestores backs up with src and restores with dst b.N times, timing
// (and counting the ECS calls of) the restores only.
func (e *ecsEnv) timedRestores(b *testing.B, src, dst vsv1.VolumeSnapshotter, concurrent bool) {
	b.Helper()
	var timed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		snaps := e.backup(b, src)
		e.resetCalls()
		start := time.Now()
		b.StartTimer()
		e.restore(b, dst, snaps, concurrent)
		timed += time.Since(start)
	}
	e.report(b, timed)
}

// restore creates a disk from each snapshot in the destination region, one
// after another or all at once, and checks that each disk is there.
func (e *ecsEnv) restore(b *testing.B, vs vsv1.VolumeSnapshotter, snaps []backedUp, concurrent bool) {
	b.Helper()
	ids := make([]string, len(snaps))
	errs := make([]error, len(snaps))
	one := func(i int) {
		ids[i], errs[i] = vs.CreateVolumeFromSnapshot(snaps[i].snapshotID, snaps[i].volumeType, srcZone, snaps[i].iops)
	}
	if concurrent {
		var wg sync.WaitGroup
		for i := range snaps {
			wg.Add(1)
			go func() { defer wg.Done(); one(i) }()
		}
		wg.Wait()
	} else {
		for i := range snaps {
			one(i)
		}
	}
	seen := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			b.Fatalf("CreateVolumeFromSnapshot(%s): %v", snaps[i].snapshotID, err)
		}
		d, ok := e.srv.Disk(ids[i])
		if !ok || d.RegionID != dstRegion || seen[ids[i]] {
			b.Fatalf("restored volume %q: in emulator %v, region %q, duplicate %v", ids[i], ok, d.RegionID, seen[ids[i]])
		}
		seen[ids[i]] = true
	}
}

func (e *ecsEnv) resetCalls() {
	for _, a := range ecsActions {
		e.base[a] = e.srv.Calls(a)
	}
}

// report adds the ECS calls of the timed phase (all of them when resetCalls
// was not called) and the wall time in copy durations.
func (e *ecsEnv) report(b *testing.B, timed time.Duration) {
	total := 0
	for _, a := range ecsActions {
		n := e.srv.Calls(a) - e.base[a]
		if n > 0 {
			total += n
			b.ReportMetric(float64(n)/float64(b.N), a+"/op")
		}
	}
	b.ReportMetric(float64(total)/float64(b.N), "ecs-calls/op")
	b.ReportMetric(timed.Seconds()/float64(b.N)/copyDuration.Seconds(), "copy-durations/op")
}
