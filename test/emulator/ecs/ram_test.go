package ecs_test

import (
	"testing"

	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ram"
)

const forbiddenRAM = "User not authorized to operate on the specified resource, or this API doesn't support RAM."

func withPolicy(t *testing.T, doc string) func(*ecs.Config) {
	t.Helper()
	p, err := ram.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return func(c *ecs.Config) { c.Policy = p }
}

func wantForbiddenRAM(t *testing.T, what string, err error) {
	t.Helper()
	wantAPIError(t, err, "Forbidden.RAM", 403)
	if msg, _ := asAPIError(t, err).Data["Message"].(string); msg != forbiddenRAM {
		t.Errorf("%s: Message %q, want %q", what, msg, forbiddenRAM)
	}
}

// TestRAMPolicyECS runs the real SDK under a policy with Describe* on every
// resource, snapshot creation and copy on disks and snapshots, disk creation
// in cn-beijing only, and no deletion.
func TestRAMPolicyECS(t *testing.T) {
	e := newEnv(t, withPolicy(t, `{"Version": "1", "Statement": [
		{"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"},
		{"Effect": "Allow", "Action": ["ecs:CreateSnapshot", "ecs:CopySnapshot"], "Resource": ["acs:ecs:*:*:disk/*", "acs:ecs:*:*:snapshot/*"]},
		{"Effect": "Allow", "Action": "ecs:CreateDisk", "Resource": "acs:ecs:cn-beijing:*:*"}]}`))
	hz, bj := e.client(t, hangzhou), e.client(t, beijing)

	if _, err := hz.DescribeRegions(&ecsclient.DescribeRegionsRequest{}); err != nil {
		t.Fatalf("DescribeRegions: %v", err)
	}
	diskID, snapID := seedSnapshot(t, e, hangzhou, zoneH, 20)
	if _, err := hz.DescribeSnapshots(&ecsclient.DescribeSnapshotsRequest{RegionId: tea.String(hangzhou)}); err != nil {
		t.Fatalf("DescribeSnapshots: %v", err)
	}
	cp, err := hz.CopySnapshot(&ecsclient.CopySnapshotRequest{
		RegionId: tea.String(hangzhou), SnapshotId: tea.String(snapID), DestinationRegionId: tea.String(beijing),
		DestinationSnapshotName: tea.String("velero-copy"),
	})
	if err != nil {
		t.Fatalf("CopySnapshot: %v", err)
	}
	copyID := tea.StringValue(cp.Body.SnapshotId)
	if _, err := bj.CreateDisk(&ecsclient.CreateDiskRequest{
		RegionId: tea.String(beijing), ZoneId: tea.String(zoneA), SnapshotId: tea.String(copyID), DiskCategory: tea.String("cloud_essd"),
	}); err != nil {
		t.Fatalf("CreateDisk in cn-beijing: %v", err)
	}

	// Refused: deletion (not in the policy), a disk in cn-hangzhou (outside
	// the CreateDisk resource).
	before := e.srv.Calls("DeleteSnapshot")
	_, err = hz.DeleteSnapshot(&ecsclient.DeleteSnapshotRequest{SnapshotId: tea.String(snapID)})
	wantForbiddenRAM(t, "DeleteSnapshot", err)
	if _, ok := e.srv.Snapshot(snapID); !ok {
		t.Error("the refused DeleteSnapshot deleted the snapshot")
	}
	if n := e.srv.Calls("DeleteSnapshot") - before; n != 0 {
		t.Errorf("a refused call reached the operation %d times", n)
	}
	_, err = hz.CreateDisk(&ecsclient.CreateDiskRequest{
		RegionId: tea.String(hangzhou), ZoneId: tea.String(zoneH), SnapshotId: tea.String(snapID), DiskCategory: tea.String("cloud_essd"),
	})
	wantForbiddenRAM(t, "CreateDisk in cn-hangzhou", err)
	if e.srv.Responses("Forbidden.RAM") != 2 {
		t.Errorf("Responses(Forbidden.RAM) = %d, want 2", e.srv.Responses("Forbidden.RAM"))
	}
	_ = diskID
}

// TestRAMPolicyECSResourceLevel: typed resources only cover resource-level
// actions; the Describe calls need Resource "*".
func TestRAMPolicyECSResourceLevel(t *testing.T) {
	e := newEnv(t, withPolicy(t, `{"Version": "1", "Statement": [
		{"Effect": "Allow", "Action": "ecs:*", "Resource": ["acs:ecs:*:*:disk/*", "acs:ecs:*:*:snapshot/*"]},
		{"Effect": "Deny", "Action": "ecs:DeleteSnapshot", "Resource": "acs:ecs:*:*:snapshot/*"}]}`))
	hz := e.client(t, hangzhou)
	_, snapID := seedSnapshot(t, e, hangzhou, zoneH, 20)
	_, err := hz.DescribeSnapshots(&ecsclient.DescribeSnapshotsRequest{RegionId: tea.String(hangzhou)})
	wantForbiddenRAM(t, "DescribeSnapshots", err)
	_, err = hz.DescribeZones(&ecsclient.DescribeZonesRequest{RegionId: tea.String(hangzhou)})
	wantForbiddenRAM(t, "DescribeZones", err)
	_, err = hz.DeleteSnapshot(&ecsclient.DeleteSnapshotRequest{SnapshotId: tea.String(snapID)})
	wantForbiddenRAM(t, "DeleteSnapshot (explicit Deny)", err)
}
