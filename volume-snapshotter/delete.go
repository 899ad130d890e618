package volumesnapshotter

import (
	"fmt"
	"slices"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
)

// DeleteSnapshot deletes the snapshot and the copies the plugin made of it in
// the replicaRegions and in the location's region (restore copies). A
// snapshot that is already gone counts as deleted, so deleting a backup twice
// succeeds. Copies made by others are left alone.
//
// Snapshots are deleted with Force: ECS otherwise refuses to delete a
// snapshot a disk was created from (SnapshotCreatedDisk). The restored disk
// keeps its data; it only can no longer be re-initialized from the snapshot.
func (v *VolumeSnapshotter) DeleteSnapshot(snapshotID string) error {
	if err := v.initialized(); err != nil {
		return err
	}
	ref, err := parseSnapshotID(snapshotID)
	if err != nil {
		return err
	}
	log := v.log.WithField("snapshotID", snapshotID)
	for _, region := range v.copyRegions(ref.region) {
		copies, err := v.taggedCopies(region, ref.id)
		if err != nil {
			return fmt.Errorf("deleting copies of snapshot %s in region %s: %w", snapshotID, region, err)
		}
		for _, c := range copies {
			id := tea.StringValue(c.SnapshotId)
			if err := v.deleteSnapshot(region, id); err != nil {
				return fmt.Errorf("deleting copy %s of snapshot %s in region %s: %w", id, snapshotID, region, err)
			}
			log.WithFields(map[string]any{"region": region, "copySnapshotID": id}).Info("deleted copy of snapshot")
		}
	}
	region := ref.region
	if region == "" {
		// A plain upstream ID: the location's region, then the others.
		if _, err := v.describeSnapshot(v.cfg.region, ref.id); err == nil {
			region = v.cfg.region
		} else if !isNotFound(err) {
			return fmt.Errorf("deleting snapshot %s: %w", snapshotID, err)
		} else if _, r, err := v.locateSnapshot(ref.id, v.cfg.region); err == nil {
			region = r
		} else if isNotFound(err) {
			log.Info("snapshot already deleted")
			return nil
		} else {
			return fmt.Errorf("deleting snapshot %s: %w", snapshotID, err)
		}
	}
	if err := v.deleteSnapshot(region, ref.id); err != nil {
		return fmt.Errorf("deleting snapshot %s: %w", snapshotID, err)
	}
	log.Info("deleted snapshot")
	return nil
}

// copyRegions are the regions that may hold the plugin's copies of a
// snapshot from source.
func (v *VolumeSnapshotter) copyRegions(source string) []string {
	var out []string
	for _, r := range append([]string{v.cfg.region}, v.cfg.replicaRegions...) {
		if r != source && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// deleteSnapshot deletes one snapshot; NotFound counts as done. DeleteSnapshot
// takes no region parameter, so the call goes to the region's endpoint.
func (v *VolumeSnapshotter) deleteSnapshot(region, id string) error {
	_, err := call(v, region, "DeleteSnapshot", func(c ecsAPI) (*ecs.DeleteSnapshotResponse, error) {
		return c.DeleteSnapshot(&ecs.DeleteSnapshotRequest{SnapshotId: tea.String(id), Force: tea.Bool(true)})
	})
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}
