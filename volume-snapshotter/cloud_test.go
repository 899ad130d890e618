package volumesnapshotter

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/retry"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
)

// The tests of this file check the plugin against ECS behaviour that the
// emulator models after the ECS API reference and production clients (see
// test/emulator/README.md, "Conformance"), each through the real SDK.

// TestOtherRegionsAtPublicEndpoints restores in cn-beijing (VPC network) a
// snapshot of cn-hangzhou under the real endpoint names. The cn-hangzhou VPC
// endpoint is unreachable from cn-beijing's network, so the calls for
// cn-hangzhou must go to its public endpoint.
func TestOtherRegionsAtPublicEndpoints(t *testing.T) {
	e := newTestEnv(t, nil)
	e.addNode("bj", zoneBA)
	id := e.accomplishedSnapshot()

	network, err := ecs.NewNetwork(e.srv, beijing)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = network.Close() })
	restore := func(extra map[string]string) error {
		v := e.snapshotterAt(network, beijing, extra)
		_, err := v.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil)
		return err
	}

	// The control: sent to cn-hangzhou's VPC endpoint, the calls for
	// cn-hangzhou cannot connect, as on the real network.
	err = restore(map[string]string{keyRegionEndpoints: hangzhou + "=ecs-vpc.cn-hangzhou.aliyuncs.com"})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("restore through cn-hangzhou's VPC endpoint: err = %v; want connection refused", err)
	}
	if network.Refused()["ecs-vpc.cn-hangzhou.aliyuncs.com"] == 0 {
		t.Errorf("the network refused no connection: %v", network.Refused())
	}

	refused := network.Refused()["ecs-vpc.cn-hangzhou.aliyuncs.com"]
	if err := restore(nil); err != nil {
		t.Fatalf("cross-region restore with default endpoints: %v", err)
	}
	calls := e.srv.EndpointCalls()
	if calls["ecs-vpc.cn-beijing.aliyuncs.com"] == 0 || calls["ecs.cn-hangzhou.aliyuncs.com"] == 0 {
		t.Errorf("endpoint calls = %v; want cn-beijing at its VPC endpoint and cn-hangzhou at its public one", calls)
	}
	if n := calls["ecs-vpc.cn-hangzhou.aliyuncs.com"] + network.Refused()["ecs-vpc.cn-hangzhou.aliyuncs.com"] - refused; n != 0 {
		t.Errorf("%d calls tried cn-hangzhou's VPC endpoint from cn-beijing", n)
	}
}

// accomplishedSnapshot backs up a 20 GiB ESSD of cn-hangzhou-h and waits
// until the snapshot is accomplished; it returns the Velero snapshot ID.
func (e *testEnv) accomplishedSnapshot() string {
	e.t.Helper()
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	id, err := e.snapshotter(hangzhou, nil).CreateSnapshot(src, zoneH, map[string]string{tagVeleroBackup: "b"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.waitAccomplished(rawID(id))
	return id
}

// snapshotterAt is a snapshotter of region that reaches ECS through network
// at the endpoints the config chooses (no endpoint keys of the test env).
func (e *testEnv) snapshotterAt(network *ecs.Network, region string, extra map[string]string) *VolumeSnapshotter {
	e.t.Helper()
	cfg := map[string]string{keyRegion: region, keyCredentialsFile: e.credFile, keyPollInterval: "10ms"}
	for k, v := range extra {
		cfg[k] = v
	}
	v := NewVolumeSnapshotter(e.logs.Logger())
	v.transport = network.Transport()
	if err := v.Init(cfg); err != nil {
		e.t.Fatalf("Init(%v): %v", cfg, err)
	}
	v.retry = retry.Policy{Attempts: 3, Base: 2 * time.Millisecond, Max: 10 * time.Millisecond}
	v.cluster = e.cluster()
	return v
}

// TestDeleteSnapshotConfigErrorsKeepTheSnapshot: only a missing snapshot
// counts as deleted. A revoked access key or an unknown region must fail
// the deletion, naming the fix, so that Velero keeps the backup and tries
// again instead of dropping it while the snapshot stays billed.
func TestDeleteSnapshotConfigErrorsKeepTheSnapshot(t *testing.T) {
	e := newTestEnv(t, nil)
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	id, err := e.snapshotter(hangzhou, nil).CreateSnapshot(src, zoneH, map[string]string{tagVeleroBackup: "b"})
	if err != nil {
		t.Fatal(err)
	}
	revoked := testutil.CredentialsFile(t, "LTAI5tRevokedKey", "revoked-secret", "")
	v := NewVolumeSnapshotter(e.logs.Logger())
	if err := v.Init(map[string]string{keyRegion: hangzhou, keyEndpoint: e.url, keyCredentialsFile: revoked, keyPollInterval: "10ms"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		v    *VolumeSnapshotter
		id   string
		want []string
	}{
		{"unknown access key", v, id, []string{"InvalidAccessKeyId.NotFound", "HTTP 404", "request ID", "AccessKey ID is unknown, revoked or disabled"}},
		// A plain (upstream) ID is looked up in the location's region first.
		{"unknown region", e.snapshotter("cn-nowhere", nil), rawID(id), []string{"InvalidRegionId.NotFound", "ECS does not know region cn-nowhere"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.DeleteSnapshot(tt.id)
			if err == nil {
				t.Fatal("DeleteSnapshot succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, ok := e.srv.Snapshot(rawID(id)); !ok {
				t.Error("the snapshot is gone")
			}
		})
	}
	// A snapshot that is really gone still counts as deleted.
	hz := e.snapshotter(hangzhou, nil)
	for i := 0; i < 2; i++ {
		if err := hz.DeleteSnapshot(id); err != nil {
			t.Fatalf("DeleteSnapshot #%d: %v", i+1, err)
		}
	}
}

// TestCategoryChoiceFollowsStock: DescribeZones lists a sold-out category;
// DescribeAvailableResource says it is sold out, so the restore does not
// try it. Without ecs:DescribeAvailableResource the restore tries it, and
// CreateDisk's refusal moves it on to the next category.
func TestCategoryChoiceFollowsStock(t *testing.T) {
	tests := []struct {
		name        string
		denyStock   bool
		createDisks int
		refusals    int
	}{
		{name: "stock known", createDisks: 1},
		{name: "stock unknown: CreateDisk refuses", denyStock: true, createDisks: 2, refusals: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, nil)
			e.srv.SetSoldOut(zoneH, "cloud_essd", true)
			src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
			hz := e.snapshotter(hangzhou, nil)
			id, err := hz.CreateSnapshot(src, zoneH, map[string]string{tagVeleroBackup: "b"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.denyStock {
				denied := httptest.NewServer(denyAction(e.srv, "DescribeAvailableResource"))
				defer denied.Close()
				hz = e.snapshotter(hangzhou, map[string]string{keyEndpoint: denied.URL})
			}
			diskID, err := hz.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := e.srv.Disk(diskID)
			if d.Category != categoryAuto || d.ZoneID != zoneH {
				t.Errorf("disk %+v; want %s in %s, the first fallback in stock", d, categoryAuto, zoneH)
			}
			if n := e.srv.Calls("CreateDisk"); n != tt.createDisks {
				t.Errorf("CreateDisk calls = %d, want %d", n, tt.createDisks)
			}
			if n := e.srv.Responses("OperationDenied.NoStock"); n != tt.refusals {
				t.Errorf("OperationDenied.NoStock answers = %d, want %d", n, tt.refusals)
			}
		})
	}
}

// TestReplicaWaitsForUnfinishedCopyOfTheDisk: ECS copies one snapshot of a
// disk to a region at a time. A second backup's replica, while the first
// one's copy runs, waits for it instead of failing.
func TestReplicaWaitsForUnfinishedCopyOfTheDisk(t *testing.T) {
	e := newTestEnv(t, func(c *ecs.Config) { c.CopyDuration = 300 * time.Millisecond })
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	hz := e.snapshotter(hangzhou, map[string]string{keyReplicaRegions: beijing})
	var ids []string
	for _, b := range []string{"hourly-1", "hourly-2"} {
		id, err := hz.CreateSnapshot(src, zoneH, map[string]string{tagVeleroBackup: b})
		if err != nil {
			t.Fatalf("backup %s: %v", b, err)
		}
		ids = append(ids, id)
	}
	copies := e.copiesIn(beijing)
	for _, id := range ids {
		if copies[rawID(id)] != 1 {
			t.Errorf("snapshot %s has %d replicas, want 1", id, copies[rawID(id)])
		}
	}
	if e.srv.Responses("InvalidOperation.UnfinishedCrossRegionCopy") == 0 {
		t.Error("ECS never refused the second copy: the test did not overlap the copies")
	}
	if !strings.Contains(e.logs.String(), "an earlier copy of this disk is unfinished; waiting for it") {
		t.Errorf("the wait was not logged:\n%s", e.logs.String())
	}
	if strings.Contains(e.logs.String(), "not copied to replica region") {
		t.Errorf("a replica failed:\n%s", e.logs.String())
	}
}

// TestDisksNotReadyForASnapshot: a disk still loading its data from a
// snapshot is waited for; a disk never attached to an instance fails with
// the reason and what to do.
func TestDisksNotReadyForASnapshot(t *testing.T) {
	e := newTestEnv(t, func(c *ecs.Config) { c.DiskInitDuration = 150 * time.Millisecond })
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	hz := e.snapshotter(hangzhou, nil)
	id, err := hz.CreateSnapshot(src, zoneH, map[string]string{tagVeleroBackup: "b"})
	if err != nil {
		t.Fatal(err)
	}
	restored, err := hz.CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil)
	if err != nil {
		t.Fatal(err)
	}

	_, err = hz.CreateSnapshot(restored, zoneH, map[string]string{tagVeleroBackup: "c"})
	for _, w := range []string{"IncorrectDiskStatus.NeverAttached", "only disks that have been attached"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("snapshot of a never-attached disk: err = %v; want %q", err, w)
		}
	}

	e.srv.AttachDisk(restored)
	if _, err := hz.CreateSnapshot(restored, zoneH, map[string]string{tagVeleroBackup: "d"}); err != nil {
		t.Fatalf("snapshot of an initializing disk: %v", err)
	}
	if e.srv.Responses("IncorrectDiskStatus.Initializing") == 0 {
		t.Error("ECS never answered Initializing: the test did not catch the disk loading")
	}
	if !strings.Contains(e.logs.String(), "code=IncorrectDiskStatus.Initializing") {
		t.Error("the wait for the initializing disk was not logged")
	}
}

// TestLostResponseIsRetriedWithItsToken: the response to CreateSnapshot is
// lost while ECS is still making the snapshot. The retry with the same
// ClientToken gets IdempotentProcessing, is retried again, and returns the
// one snapshot made.
func TestLostResponseIsRetriedWithItsToken(t *testing.T) {
	e := newTestEnv(t, func(c *ecs.Config) { c.ProcessingDelay = 100 * time.Millisecond })
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	hz := e.snapshotter(hangzhou, nil)
	hz.retry = retry.Policy{Attempts: 12, Base: 20 * time.Millisecond, Max: 40 * time.Millisecond}
	// CreateSnapshot's DescribeDisks first, then CreateSnapshot itself.
	e.faults.Enqueue(fault.Decision{Kind: fault.None}, fault.Decision{Kind: fault.LoseResponse})
	id, err := hz.CreateSnapshot(src, zoneH, map[string]string{tagVeleroBackup: "b"})
	if err != nil {
		t.Fatal(err)
	}
	snaps := e.srv.Snapshots(hangzhou)
	if len(snaps) != 1 || snaps[0].SnapshotID != rawID(id) {
		t.Errorf("snapshots %+v; want the one returned, %s", snaps, id)
	}
	if e.srv.Responses("IdempotentProcessing") == 0 {
		t.Error("ECS never answered IdempotentProcessing")
	}
}

// TestInstantAccessRestore: an ESSD snapshot makes disks in its region
// before it is accomplished, so a restore right after the backup does not
// wait for the upload (its snapshotTimeout is far shorter than the
// upload). Other categories must be accomplished.
func TestInstantAccessRestore(t *testing.T) {
	tests := []struct {
		category string
		wantErr  string
	}{
		{category: "cloud_essd"},
		{category: "cloud_ssd", wantErr: "was not usable after"},
	}
	for _, tt := range tests {
		t.Run(tt.category, func(t *testing.T) {
			e := newTestEnv(t, func(c *ecs.Config) { c.SnapshotDuration = time.Hour })
			src := e.srv.SeedDisk(hangzhou, zoneH, tt.category, 40, nil)
			hz := e.snapshotter(hangzhou, map[string]string{keySnapshotTimeout: "300ms"})
			id, err := hz.CreateSnapshot(src, zoneH, map[string]string{tagVeleroBackup: "b"})
			if err != nil {
				t.Fatal(err)
			}
			diskID, err := hz.CreateVolumeFromSnapshot(id, tt.category, zoneH, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s, _ := e.srv.Snapshot(rawID(id))
			if d, _ := e.srv.Disk(diskID); d.SourceSnapshotID != rawID(id) || s.Status != ecs.SnapshotProgressing {
				t.Errorf("disk %+v from snapshot %+v; want it made while the snapshot progresses", d, s)
			}
		})
	}
}

// TestBackupNamedLikeASystemTag: CopySnapshot refuses tag values starting
// with aliyun or acs:, so the replica of a backup named aliyun-daily-… is
// made without that tag, and a restore from it works.
func TestBackupNamedLikeASystemTag(t *testing.T) {
	e := newTestEnv(t, nil)
	e.addNode("bj", zoneBA)
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	hz := e.snapshotter(hangzhou, map[string]string{keyReplicaRegions: beijing})
	id, err := hz.CreateSnapshot(src, zoneH, map[string]string{tagVeleroBackup: "aliyun-daily-20261202", tagVeleroPV: "pv-web-0"})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := e.srv.Snapshot(rawID(id)); s.Tags[tagVeleroBackup] != "aliyun-daily-20261202" {
		t.Errorf("snapshot tags %v; CreateSnapshot accepts the backup name", s.Tags)
	}
	if strings.Contains(e.logs.String(), "not copied to replica region") || e.copiesIn(beijing)[rawID(id)] != 1 {
		t.Fatalf("no replica in cn-beijing:\n%s", e.logs.String())
	}
	diskID, err := e.snapshotter(beijing, nil).CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := e.srv.Disk(diskID); d.RegionID != beijing {
		t.Errorf("disk %+v; want one in cn-beijing", d)
	}
	if n := e.srv.Responses("InvalidTagValue.Malformed"); n != 0 {
		t.Errorf("ECS refused %d tags", n)
	}
}

// TestSnapshotQuota: past the manual-snapshot quota of the disk, the backup
// says how to make room.
func TestSnapshotQuota(t *testing.T) {
	e := newTestEnv(t, func(c *ecs.Config) { c.SnapshotQuota = 2; c.SnapshotDuration = 0 })
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	hz := e.snapshotter(hangzhou, nil)
	for i := 0; i < 2; i++ {
		if _, err := hz.CreateSnapshot(src, zoneH, map[string]string{tagVeleroBackup: "b"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := hz.CreateSnapshot(src, zoneH, map[string]string{tagVeleroBackup: "b"})
	for _, w := range []string{"QuotaExceed.Snapshot", "shorten snapshotRetentionDays", "delete old backups"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want %q", err, w)
		}
	}
}

// TestNewCopyNotListedYet: ECS may list a new copy only some time after
// CopySnapshot returned. The restore keeps waiting for it instead of
// taking it for lost and copying again.
func TestNewCopyNotListedYet(t *testing.T) {
	e := newTestEnv(t, func(c *ecs.Config) { c.CopyListDelay = 100 * time.Millisecond })
	e.addNode("bj", zoneBA)
	id := e.accomplishedSnapshot()
	if _, err := e.snapshotter(beijing, nil).CreateVolumeFromSnapshot(id, "cloud_essd", zoneH, nil); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.Calls("CopySnapshot"); n != 1 {
		t.Errorf("CopySnapshot calls = %d, want 1", n)
	}
	if n := len(e.srv.Snapshots(beijing)); n != 1 {
		t.Errorf("%d snapshots in cn-beijing, want the one copy", n)
	}
}

// TestIdempotentParameterMismatchSaysBug: ECS refuses a ClientToken sent
// again with other parameters; the plugin never does that, so the error
// says it is a bug.
func TestIdempotentParameterMismatchSaysBug(t *testing.T) {
	e := newTestEnv(t, nil)
	src := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	c := e.sdk(hangzhou)
	req := &ecsclient.CreateSnapshotRequest{DiskId: tea.String(src), ClientToken: tea.String("tok-1"), SnapshotName: tea.String("one")}
	if _, err := c.CreateSnapshot(req); err != nil {
		t.Fatal(err)
	}
	req.SnapshotName = tea.String("two")
	_, err := c.CreateSnapshot(req)
	msg := newAPIError("CreateSnapshot", hangzhou, err).Error()
	for _, w := range []string{"IdempotentParameterMismatch", "bug in the plugin"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q lacks %q", msg, w)
		}
	}
	if retryable(err) {
		t.Error("IdempotentParameterMismatch is retried")
	}
}
