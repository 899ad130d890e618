package volumesnapshotter

import (
	"encoding/json"
	"fmt"
	"strconv"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
)

// Snapshot status values of DescribeSnapshots.
const (
	snapshotAccomplished = "accomplished"
	snapshotFailed       = "failed"
)

// Disk status values of DescribeDisks.
const diskAvailable = "Available"

type disk = ecs.DescribeDisksResponseBodyDisksDisk
type snapshot = ecs.DescribeSnapshotsResponseBodySnapshotsSnapshot

// diskInfo is what SetVolumeID needs to know about a restored disk.
type diskInfo struct {
	zone     string
	sizeGiB  int64
	category string
}

func jsonIDs(ids ...string) *string {
	b, _ := json.Marshal(ids)
	return tea.String(string(b))
}

// describeDisk returns the disk, or a NotFound error naming the region.
func (v *VolumeSnapshotter) describeDisk(region, id string) (*disk, error) {
	resp, err := call(v, region, "DescribeDisks", func(c ecsAPI) (*ecs.DescribeDisksResponse, error) {
		return c.DescribeDisks(&ecs.DescribeDisksRequest{RegionId: tea.String(region), DiskIds: jsonIDs(id)})
	})
	if err != nil {
		return nil, err
	}
	for _, d := range diskList(resp) {
		if tea.StringValue(d.DiskId) == id {
			return d, nil
		}
	}
	return nil, &notFoundError{what: "disk", id: id, region: region}
}

func diskList(resp *ecs.DescribeDisksResponse) []*disk {
	if resp == nil || resp.Body == nil || resp.Body.Disks == nil {
		return nil
	}
	return resp.Body.Disks.Disk
}

// describeSnapshot returns the snapshot in region, or a notFoundError.
func (v *VolumeSnapshotter) describeSnapshot(region, id string) (*snapshot, error) {
	resp, err := call(v, region, "DescribeSnapshots", func(c ecsAPI) (*ecs.DescribeSnapshotsResponse, error) {
		return c.DescribeSnapshots(&ecs.DescribeSnapshotsRequest{RegionId: tea.String(region), SnapshotIds: jsonIDs(id)})
	})
	if err != nil {
		if isNotFound(err) {
			return nil, &notFoundError{what: "snapshot", id: id, region: region}
		}
		return nil, err
	}
	for _, s := range snapshotList(resp) {
		if tea.StringValue(s.SnapshotId) == id {
			return s, nil
		}
	}
	return nil, &notFoundError{what: "snapshot", id: id, region: region}
}

// listSnapshots pages through DescribeSnapshots in region with the request's
// filters and returns the snapshots keep accepts.
func (v *VolumeSnapshotter) listSnapshots(region string, base ecs.DescribeSnapshotsRequest, keep func(*snapshot) bool) ([]*snapshot, error) {
	var out []*snapshot
	base.RegionId = tea.String(region)
	base.MaxResults = tea.Int32(100)
	for page := 0; page < maxPages; page++ {
		req := base
		resp, err := call(v, region, "DescribeSnapshots", func(c ecsAPI) (*ecs.DescribeSnapshotsResponse, error) {
			return c.DescribeSnapshots(&req)
		})
		if err != nil {
			return nil, err
		}
		for _, s := range snapshotList(resp) {
			if keep(s) {
				out = append(out, s)
			}
		}
		next := tea.StringValue(resp.Body.NextToken)
		if next == "" {
			return out, nil
		}
		base.NextToken = tea.String(next)
	}
	return out, nil
}

// maxPages bounds a listing (100 snapshots a page).
const maxPages = 200

func snapshotList(resp *ecs.DescribeSnapshotsResponse) []*snapshot {
	if resp == nil || resp.Body == nil || resp.Body.Snapshots == nil {
		return nil
	}
	return resp.Body.Snapshots.Snapshot
}

func snapshotTags(s *snapshot) map[string]string {
	if s.Tags == nil {
		return map[string]string{}
	}
	return tagMap(s.Tags.Tag)
}

func diskTags(d *disk) map[string]string {
	if d.Tags == nil {
		return map[string]string{}
	}
	return tagMap(d.Tags.Tag)
}

// tagMap maps the keys of the SDK's tags (of disks or snapshots) to values.
func tagMap[T interface {
	GetTagKey() *string
	GetTagValue() *string
}](tags []T) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		out[tea.StringValue(t.GetTagKey())] = tea.StringValue(t.GetTagValue())
	}
	return out
}

// sourceSizeGiB is the size of the disk a snapshot was taken of.
func sourceSizeGiB(s *snapshot) int64 {
	n, _ := strconv.ParseInt(tea.StringValue(s.SourceDiskSize), 10, 64)
	return n
}

type notFoundError struct {
	what, id, region string
}

func (e *notFoundError) Error() string {
	msg := fmt.Sprintf("%s %s not found in region %s", e.what, e.id, e.region)
	if e.what == "disk" {
		msg += " (the VolumeSnapshotLocation's region must be the region of the cluster's disks)"
	}
	return msg
}
