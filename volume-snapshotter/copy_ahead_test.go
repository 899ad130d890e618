package volumesnapshotter

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
)

// backupVolumes seeds n disks in cn-hangzhou and snapshots them for backup,
// as Velero's backup does; it returns the Velero snapshot IDs.
func (e *testEnv) backupVolumes(hz *VolumeSnapshotter, backup string, n int) []string {
	e.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
		id, err := hz.CreateSnapshot(src, zoneH, map[string]string{"velero.io/backup": backup, "velero.io/pv": fmt.Sprintf("%s-pv-%d", backup, i)})
		if err != nil {
			e.t.Fatalf("CreateSnapshot: %v", err)
		}
		ids[i] = id
	}
	return ids
}

// copiesIn counts the copies in region by the snapshot they were copied
// from.
func (e *testEnv) copiesIn(region string) map[string]int {
	return e.countCopies(region, func(s ecs.Snapshot) string { return s.SourceSnapshotID })
}

// countCopies counts the copies in region by key.
func (e *testEnv) countCopies(region string, key func(ecs.Snapshot) string) map[string]int {
	out := map[string]int{}
	for _, s := range e.srv.Snapshots(region) {
		if s.SourceSnapshotID != "" {
			out[key(s)]++
		}
	}
	return out
}

func rawID(veleroID string) string {
	_, id, _ := strings.Cut(veleroID, "/")
	return id
}

// TestCopiesAheadOfSequentialRestores restores a backup's volumes in
// cn-beijing one after another, as stock Velero does: the first restore
// starts the copies of all the backup's snapshots (bounded by copiesAhead),
// so the restores take about one copy, not one copy each. Snapshots of
// another backup, and snapshots the plugin did not make, are not copied;
// no snapshot is copied twice.
func TestCopiesAheadOfSequentialRestores(t *testing.T) {
	const volumes = 6
	tests := []struct {
		name        string
		copiesAhead string
		// wantAfterFirst is the number of the backup's snapshots with a
		// copy after the first restore.
		wantAfterFirst int
		wantLog        string
		// copyDuration is long against the 25 ms polls where the wall time
		// is checked, short elsewhere to keep the test fast.
		copyDuration  time.Duration
		checkWallTime bool
	}{
		{name: "default bound", wantAfterFirst: volumes, wantLog: "started copies of 5 other snapshots of backup nightly", copyDuration: 1500 * time.Millisecond, checkWallTime: true},
		{name: "copiesAhead 2", copiesAhead: "2", wantAfterFirst: 3, wantLog: "started copies of 2 other snapshots of backup nightly", copyDuration: 300 * time.Millisecond},
		{name: "copiesAhead 0", copiesAhead: "0", wantAfterFirst: 1, copyDuration: 150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			copyDuration := tt.copyDuration
			e := newTestEnv(t, func(c *ecs.Config) {
				c.CopyDuration = copyDuration
				c.DiskCreateDuration = 20 * time.Millisecond
			})
			e.addNode("bj", zoneBA)
			hz := e.snapshotter(hangzhou, nil)
			ids := e.backupVolumes(hz, "nightly", volumes)
			other := e.backupVolumes(hz, "weekly", 1)[0]
			// A snapshot carrying the backup's tag that the plugin did
			// not make (no record tags): left alone.
			foreignDisk := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
			resp, err := e.sdk(hangzhou).CreateSnapshot(&ecsclient.CreateSnapshotRequest{
				DiskId: tea.String(foreignDisk), SnapshotName: tea.String("by-hand"),
				Tag: []*ecsclient.CreateSnapshotRequestTag{{Key: tea.String(tagVeleroBackup), Value: tea.String("nightly")}},
			})
			if err != nil {
				t.Fatal(err)
			}
			foreign := tea.StringValue(resp.Body.SnapshotId)
			for _, id := range append(ids, other, hangzhou+"/"+foreign) {
				e.waitAccomplished(rawID(id))
			}

			cfg := map[string]string{keyPollInterval: "25ms"}
			if tt.copiesAhead != "" {
				cfg[keyCopiesAhead] = tt.copiesAhead
			}
			bj := e.snapshotter(beijing, cfg)
			start := time.Now()
			before := callCounts(e.srv)
			if _, err := bj.CreateVolumeFromSnapshot(ids[0], "cloud_essd", zoneH, nil); err != nil {
				t.Fatalf("first CreateVolumeFromSnapshot: %v", err)
			}
			t.Logf("ECS calls of the first restore: %s", diffCounts(before, callCounts(e.srv)))
			copies := e.copiesIn(beijing)
			withCopy := 0
			for _, id := range ids {
				if n := copies[rawID(id)]; n > 1 {
					t.Errorf("snapshot %s has %d copies in cn-beijing, want at most 1", id, n)
				} else if n == 1 {
					withCopy++
				}
			}
			if withCopy != tt.wantAfterFirst {
				t.Errorf("after the first restore %d of the backup's %d snapshots have a copy, want %d", withCopy, volumes, tt.wantAfterFirst)
			}
			if !strings.Contains(e.logs.String(), tt.wantLog) || (tt.wantLog == "" && strings.Contains(e.logs.String(), "started copies of")) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, e.logs.String())
			}

			for _, id := range ids[1:] {
				before := callCounts(e.srv)
				if _, err := bj.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil); err != nil {
					t.Fatalf("CreateVolumeFromSnapshot(%s): %v", id, err)
				}
				t.Logf("ECS calls of the restore of %s: %s", id, diffCounts(before, callCounts(e.srv)))
			}
			wall := time.Since(start)
			t.Logf("%d sequential cross-region restores took %s with a %s copy each (one after another: >= %s)",
				volumes, wall.Round(time.Millisecond), copyDuration, volumes*copyDuration)
			if tt.checkWallTime && wall > copyDuration*5/2 {
				t.Errorf("%d sequential restores took %s; with the copies started ahead they take about one copy (%s), want < %s",
					volumes, wall, copyDuration, copyDuration*5/2)
			}
			if n := e.srv.Calls("CopySnapshot"); n != volumes {
				t.Errorf("CopySnapshot calls = %d, want %d (one per volume, never more)", n, volumes)
			}
			copies = e.copiesIn(beijing)
			for _, id := range ids {
				if n := copies[rawID(id)]; n != 1 {
					t.Errorf("snapshot %s has %d copies in cn-beijing, want 1", id, n)
				}
			}
			for _, id := range []string{rawID(other), foreign} {
				if n := copies[id]; n != 0 {
					t.Errorf("snapshot %s (not of the restored backup / not the plugin's) was copied %d times", id, n)
				}
			}
			if n := len(e.srv.Disks(beijing)); n != volumes {
				t.Errorf("%d disks in cn-beijing, want %d", n, volumes)
			}
		})
	}
}

// TestCopiesAheadRightAfterBackup: snapshots still in progress when the
// first restore starts are copied as soon as they are accomplished, while
// that restore waits for its own copy.
func TestCopiesAheadRightAfterBackup(t *testing.T) {
	const volumes = 4
	e := newTestEnv(t, func(c *ecs.Config) {
		c.SnapshotDuration = 100 * time.Millisecond
		c.CopyDuration = 400 * time.Millisecond
	})
	e.addNode("bj", zoneBA)
	hz := e.snapshotter(hangzhou, nil)
	bj := e.snapshotter(beijing, nil)
	var ids []string
	for i := 0; i < volumes; i++ {
		// Spread the snapshots so the later ones are still in progress
		// when the first is copied.
		ids = append(ids, e.backupVolumes(hz, "fresh", 1)[0])
		time.Sleep(30 * time.Millisecond)
	}
	if s, _ := e.srv.Snapshot(rawID(ids[volumes-1])); s.Status == ecs.SnapshotAccomplished {
		t.Fatalf("the last snapshot is already accomplished; the test needs it in progress")
	}
	if _, err := bj.CreateVolumeFromSnapshot(ids[0], "cloud_essd", zoneH, nil); err != nil {
		t.Fatalf("CreateVolumeFromSnapshot: %v", err)
	}
	copies := e.copiesIn(beijing)
	for _, id := range ids {
		if n := copies[rawID(id)]; n != 1 {
			t.Errorf("after the first restore snapshot %s has %d copies in cn-beijing, want 1", id, n)
		}
	}
	for _, id := range ids[1:] {
		if _, err := bj.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil); err != nil {
			t.Fatalf("CreateVolumeFromSnapshot(%s): %v", id, err)
		}
	}
	if n := e.srv.Calls("CopySnapshot"); n != volumes {
		t.Errorf("CopySnapshot calls = %d, want %d", n, volumes)
	}
}

// denySnapshotCopy fronts h and refuses CopySnapshot of one snapshot, as a
// RAM policy scoped to snapshot resources does.
func denySnapshotCopy(h http.Handler, snapshotID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-acs-action") == "CopySnapshot" && r.URL.Query().Get("SnapshotId") == snapshotID {
			denyAction(h, "CopySnapshot").ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestCopyAheadFailureIsAWarning: a copy that cannot be started ahead is
// logged as a warning; the restore of the current volume succeeds and the
// other copies are still started.
func TestCopyAheadFailureIsAWarning(t *testing.T) {
	const volumes = 4
	e := newTestEnv(t, nil)
	e.addNode("bj", zoneBA)
	ids := e.backupVolumes(e.snapshotter(hangzhou, nil), "nightly", volumes)
	for _, id := range ids {
		e.waitAccomplished(rawID(id))
	}
	refused := rawID(ids[2])
	srv := httptest.NewServer(denySnapshotCopy(e.srv, refused))
	defer srv.Close()
	// CopySnapshot is called in the source region.
	bj := e.snapshotter(beijing, map[string]string{keyRegionEndpoints: hangzhou + "=" + srv.URL})
	if _, err := bj.CreateVolumeFromSnapshot(ids[0], "cloud_essd", zoneH, nil); err != nil {
		t.Fatalf("CreateVolumeFromSnapshot failed because another snapshot's copy was refused: %v", err)
	}
	copies := e.copiesIn(beijing)
	for _, id := range ids {
		want := 1
		if rawID(id) == refused {
			want = 0
		}
		if n := copies[rawID(id)]; n != want {
			t.Errorf("snapshot %s has %d copies in cn-beijing, want %d", id, n, want)
		}
	}
	logs := e.logs.String()
	for _, want := range []string{"level=warning", "could not start the copy of another snapshot of the backup", refused, "ecs:CopySnapshot permission", "started copies of 2 other snapshots of backup nightly"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// BenchmarkSequentialCrossRegionRestore restores a backup of 20 volumes in
// another region one volume after another, as stock Velero does, with and
// without the copies started ahead, and reports the wall time in copy
// durations (about 1 with them, 20 without).
func BenchmarkSequentialCrossRegionRestore(b *testing.B) {
	const n = 20
	const copyDuration = 200 * time.Millisecond
	for _, mode := range []struct {
		name        string
		copiesAhead string
	}{{"copies-ahead", "19"}, {"one-by-one", "0"}} {
		b.Run(mode.name, func(b *testing.B) {
			e := newTestEnv(b, func(c *ecs.Config) { c.CopyDuration = copyDuration })
			e.addNode("bj", zoneBA)
			hz := e.snapshotter(hangzhou, nil)
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ids := e.backupVolumes(hz, fmt.Sprintf("bench-%d", i), n)
				for _, id := range ids {
					e.waitAccomplished(rawID(id))
				}
				bj := e.snapshotter(beijing, map[string]string{keyPollInterval: "20ms", keyCopiesAhead: mode.copiesAhead})
				b.StartTimer()
				start := time.Now()
				for _, id := range ids {
					if _, err := bj.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil); err != nil {
						b.Fatal(err)
					}
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(total)/float64(b.N)/float64(copyDuration), "copy-durations/op")
		})
	}
}
