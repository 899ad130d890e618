package volumesnapshotter

import (
	"errors"
	"fmt"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/sirupsen/logrus"
)

// errCrossRegion starts every error of a cross-region copy, in the words of
// the ACK backup center's FAQ, so users find the same answers.
const errCrossRegion = "ECS snapshot cross region request failed"

// replicate copies src, a new accomplished snapshot (ECS copies only those),
// to each replicaRegions region. It does not wait for the copies, which ECS
// completes on its own.
func (v *VolumeSnapshotter) replicate(src *snapshot, ref snapshotRef, log logrus.FieldLogger) {
	for _, dest := range v.cfg.replicaRegions {
		id, err := v.startCopy(src, ref.region, dest, derivedToken("replica", ref.region, ref.id, dest), true, log)
		if err != nil {
			log.WithError(err).WithField("replicaRegion", dest).Error("snapshot not copied to replica region")
			continue
		}
		log.WithFields(map[string]any{"replicaRegion": dest, "replicaSnapshotID": id}).Info("copying snapshot to replica region")
	}
}

// localSnapshot returns a snapshot in the location's region to restore from:
// the snapshot itself when it is there, else a copy — an existing one, or a
// new one made and waited for.
func (v *VolumeSnapshotter) localSnapshot(ref snapshotRef, log logrus.FieldLogger) (*snapshot, error) {
	target := v.cfg.region
	if ref.region == target || ref.region == "" {
		// Waits when the restore comes right after the backup: ECS makes
		// disks only from usable snapshots.
		s, err := v.waitSnapshot(target, ref.id, snapshotWait{timeout: v.cfg.snapshotTimeout, key: keySnapshotTimeout, usable: true}, log)
		if err == nil || ref.region == target || !isNotFound(err) {
			return s, err
		}
	}
	// One copy per source and target, however many restores ask at once.
	key := target + "/" + ref.id
	res, err, _ := v.copies.Do(key, func() (any, error) {
		v.setRestoring(key, true)
		defer v.setRestoring(key, false)
		return v.copyToTarget(ref, log)
	})
	if err != nil {
		return nil, err
	}
	return res.(*snapshot), nil
}

// copyToTarget finds or makes the copy of ref in the location's region. A
// copy made earlier (by a previous restore, replicaRegions, or anyone else)
// is reused; the source region is asked only when there is none, so a
// restore from a replica works while the source region is down.
func (v *VolumeSnapshotter) copyToTarget(ref snapshotRef, log logrus.FieldLogger) (*snapshot, error) {
	target := v.cfg.region
	existing, err := v.findCopy(target, ref.id)
	if err != nil {
		return nil, fmt.Errorf("%s: looking for a copy of snapshot %s in region %s: %w", errCrossRegion, ref.id, target, err)
	}
	if existing != nil {
		id := tea.StringValue(existing.SnapshotId)
		log.WithField("copySnapshotID", id).Info("reusing the existing copy of the snapshot in this region")
		copied, err := v.waitSnapshot(target, id, snapshotWait{timeout: v.cfg.copyTimeout, key: keyCopyTimeout, usable: true}, log)
		if !isCopyLost(err) {
			return copied, err
		}
		// The copy failed (or was deleted) while this restore waited for
		// it: make a new one as if there had been none.
		log.WithError(err).Warn("the existing copy is gone or failed; copying again")
		if snapshotTags(existing)[tagSourceSnapshotID] == ref.id {
			v.deleteFailedCopy(target, id, err, log)
		}
	}

	src, srcRegion, err := v.findSource(ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", errCrossRegion, err)
	}
	if t := tea.StringValue(src.SourceStorageType); t != "" && t != "disk" {
		return nil, fmt.Errorf("only disk type PVs support cross-region restore in current version: snapshot %s in region %s is of a %s", ref.id, srcRegion, t)
	}
	if tea.StringValue(src.Status) != snapshotAccomplished {
		if src, err = v.waitSnapshot(srcRegion, ref.id, snapshotWait{timeout: v.cfg.copyTimeout, key: keyCopyTimeout}, log); err != nil {
			return nil, fmt.Errorf("%s: %w", errCrossRegion, err)
		}
	}
	// The derived ClientToken makes a retried or repeated request return the
	// copy the first one started. Should that copy have failed or been
	// deleted since, a second token starts a fresh one.
	tokens := []string{restoreCopyToken(srcRegion, ref.id, target), randomToken()}
	for i, token := range tokens {
		id, err := v.startCopy(src, srcRegion, target, token, true, log)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", errCrossRegion, err)
		}
		log.WithFields(map[string]any{"sourceRegion": srcRegion, "copySnapshotID": id}).Info("copying the snapshot to this region")
		if i == 0 {
			// While this copy runs, start those of the backup's other
			// volumes, which Velero restores after this one.
			defer v.startCopiesAhead(src, srcRegion, log)()
		}
		copied, err := v.waitSnapshot(target, id, snapshotWait{timeout: v.cfg.copyTimeout, key: keyCopyTimeout, usable: true, justCopied: true}, log)
		if isCopyLost(err) {
			v.deleteFailedCopy(target, id, err, log)
			if i == 0 {
				log.WithError(err).Warn("the copy is gone or failed; copying again")
				continue
			}
			return nil, fmt.Errorf("%s: ECS failed to copy snapshot %s from region %s to %s twice; the source is intact, so retry the restore later or copy the snapshot in the ECS console: %w",
				errCrossRegion, ref.id, srcRegion, target, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", errCrossRegion, err)
		}
		return copied, nil
	}
	return nil, fmt.Errorf("%s: could not copy snapshot %s to region %s", errCrossRegion, ref.id, target)
}

// isCopyLost reports whether waiting for a copy ended because ECS failed it
// or it was deleted meanwhile: a new copy may then succeed.
func isCopyLost(err error) bool {
	var failed *snapshotFailedError
	return isNotFound(err) || errors.As(err, &failed)
}

// deleteFailedCopy deletes a copy of the plugin's when waiting for it ended
// in waitErr, a failure, so that it neither counts against the snapshot quota
// nor waits for its retention. A failure to delete is logged and does not
// stop the restore.
func (v *VolumeSnapshotter) deleteFailedCopy(region, id string, waitErr error, log logrus.FieldLogger) {
	var failed *snapshotFailedError
	if !errors.As(waitErr, &failed) {
		return
	}
	if err := v.deleteSnapshot(region, id); err != nil {
		log.WithError(err).WithFields(map[string]any{"copySnapshotID": id, "region": region}).Warn("could not delete the failed copy; delete it in the ECS console")
		return
	}
	log.WithFields(map[string]any{"copySnapshotID": id, "region": region}).Info("deleted the failed copy")
}

// restoreCopyToken is the ClientToken of the copy of srcID to target a
// restore makes, whether for its own volume or ahead for another one.
func restoreCopyToken(srcRegion, srcID, target string) string {
	return derivedToken("restore", srcRegion, srcID, target)
}

// findSource describes the source snapshot; for a plain upstream ID it looks
// in every region ECS lists.
func (v *VolumeSnapshotter) findSource(ref snapshotRef) (*snapshot, string, error) {
	if ref.region != "" {
		s, err := v.describeSnapshot(ref.region, ref.id)
		return s, ref.region, err
	}
	return v.locateSnapshot(ref.id, v.cfg.region)
}

// locateSnapshot finds a snapshot by ID in every region but skip (already
// searched).
func (v *VolumeSnapshotter) locateSnapshot(id, skip string) (*snapshot, string, error) {
	regions, err := v.regions()
	if err != nil {
		return nil, "", err
	}
	for _, r := range regions {
		if r == skip {
			continue
		}
		s, err := v.describeSnapshot(r, id)
		if err == nil {
			return s, r, nil
		}
		if !isNotFound(err) {
			return nil, "", err
		}
	}
	return nil, "", &notFoundError{what: "snapshot", id: id, region: "any region"}
}

func (v *VolumeSnapshotter) regions() ([]string, error) {
	resp, err := call(v, v.cfg.region, "DescribeRegions", func(c ecsAPI) (*ecs.DescribeRegionsResponse, error) {
		return c.DescribeRegions(&ecs.DescribeRegionsRequest{})
	})
	if err != nil {
		return nil, err
	}
	var out []string
	if resp.Body != nil && resp.Body.Regions != nil {
		for _, r := range resp.Body.Regions.Region {
			out = append(out, tea.StringValue(r.RegionId))
		}
	}
	return out, nil
}

// findCopy returns a copy of snapshot srcID in region that has not failed, or
// nil. The plugin's copies carry tagSourceSnapshotID; copies made by others
// (the console, the ACK backup center) are found by SourceSnapshotId.
func (v *VolumeSnapshotter) findCopy(region, srcID string) (*snapshot, error) {
	tagged, err := v.taggedCopies(region, srcID)
	if err != nil {
		return nil, err
	}
	if c := bestCopy(tagged); c != nil {
		return c, nil
	}
	others, err := v.listSnapshots(region, ecs.DescribeSnapshotsRequest{}, func(s *snapshot) bool {
		return tea.StringValue(s.SourceSnapshotId) == srcID
	})
	if err != nil {
		return nil, err
	}
	return bestCopy(others), nil
}

// taggedCopies are the copies of srcID the plugin made in region.
func (v *VolumeSnapshotter) taggedCopies(region, srcID string) ([]*snapshot, error) {
	filter := ecs.DescribeSnapshotsRequest{Tag: []*ecs.DescribeSnapshotsRequestTag{{Key: tea.String(tagSourceSnapshotID), Value: tea.String(srcID)}}}
	return v.listSnapshots(region, filter, func(s *snapshot) bool {
		return snapshotTags(s)[tagSourceSnapshotID] == srcID
	})
}

// bestCopy prefers an accomplished copy to one in progress and ignores
// failed ones.
func bestCopy(list []*snapshot) *snapshot {
	var progressing *snapshot
	for _, s := range list {
		switch tea.StringValue(s.Status) {
		case snapshotAccomplished:
			return s
		case snapshotFailed:
		default:
			if progressing == nil {
				progressing = s
			}
		}
	}
	return progressing
}

// startCopy starts CopySnapshot of src (in srcRegion) to dest and returns
// the copy's ID. The copy carries the source's record tags, so a restore from
// it needs nothing from the source region. ECS refuses a copy while an
// earlier copy of the same disk to dest is unfinished; with waitIfBusy it
// waits for that one (up to copyTimeout), else it returns the refusal.
func (v *VolumeSnapshotter) startCopy(src *snapshot, srcRegion, dest, token string, waitIfBusy bool, log logrus.FieldLogger) (string, error) {
	srcID := tea.StringValue(src.SnapshotId)
	meta := sourceMetaOf(src, srcRegion)
	tags := mergeTags(copyTagRule, [][]tag{append([]tag{{tagSourceSnapshotID, srcID}}, meta.recordTags()...), {
		{tagVeleroBackup, meta.tags[tagVeleroBackup]},
		{tagVeleroPV, meta.tags[tagVeleroPV]},
	}}, log)
	req := &ecs.CopySnapshotRequest{
		RegionId:                       tea.String(srcRegion),
		SnapshotId:                     tea.String(srcID),
		DestinationRegionId:            tea.String(dest),
		DestinationSnapshotName:        tea.String(ecsName("velero-", meta.tags[tagVeleroBackup])),
		DestinationSnapshotDescription: tea.String(truncate(fmt.Sprintf("Velero copy of snapshot %s from region %s", srcID, srcRegion), maxDescription)),
		ClientToken:                    tea.String(token),
	}
	for _, t := range tags {
		req.Tag = append(req.Tag, &ecs.CopySnapshotRequestTag{Key: tea.String(t.key), Value: tea.String(t.value)})
	}
	// The copy expires with the source; without a retention period it is
	// deleted with the backup (DeleteSnapshot looks in replicaRegions and
	// in the location's region).
	if d := tea.Int32Value(src.RetentionDays); d > 0 {
		req.RetentionDays = tea.Int32(d)
	}
	// KMS keys are regional: kmsKeyId applies to copies into the location's
	// region; elsewhere an encrypted source is copied with the region's
	// default key.
	if dest == v.cfg.region && v.cfg.kmsKeyID != "" {
		req.Encrypted, req.KMSKeyId = tea.Bool(true), tea.String(v.cfg.kmsKeyID)
	} else if tea.BoolValue(src.Encrypted) {
		req.Encrypted = tea.Bool(true)
	}
	var resp *ecs.CopySnapshotResponse
	_, err := v.wait(v.cfg.copyTimeout, func() (bool, string, error) {
		var err error
		resp, err = call(v, srcRegion, "CopySnapshot", func(c ecsAPI) (*ecs.CopySnapshotResponse, error) {
			return c.CopySnapshot(req)
		})
		if waitIfBusy && hasCode(err, copyBusyCodes) {
			log.WithFields(map[string]any{"snapshotID": srcID, "destinationRegion": dest, "code": errorCode(err)}).
				Info("ECS copies one snapshot of a disk to a region at a time and an earlier copy of this disk is unfinished; waiting for it")
			return false, "", nil
		}
		return err == nil, "", err
	})
	if errors.Is(err, errTimeout) {
		return "", fmt.Errorf("an earlier copy of a snapshot of the same disk to region %s was still unfinished after %s; raise %s or retry later", dest, v.cfg.copyTimeout, keyCopyTimeout)
	}
	if err != nil {
		return "", err
	}
	id := tea.StringValue(resp.Body.SnapshotId)
	if id == "" {
		return "", fmt.Errorf("ecs CopySnapshot in region %s returned no snapshot ID", srcRegion)
	}
	return id, nil
}

type snapshotFailedError struct{ id, region string }

func (e *snapshotFailedError) Error() string {
	return fmt.Sprintf("ECS reports snapshot %s in region %s as failed: it was never completed and holds no data to restore", e.id, e.region)
}

// snapshotWait says how long waitSnapshot waits, and for what.
type snapshotWait struct {
	timeout time.Duration
	key     string // the config key of timeout, for messages
	// usable: ECS's Available flag is enough. ESSD snapshots have instant
	// access: their region can make disks from them right away, long before
	// the upload is accomplished. Without it (and for CopySnapshot, which
	// needs it) the snapshot must be accomplished.
	usable bool
	// justCopied: CopySnapshot has just made the snapshot, and ECS may take
	// a while to list a new copy, so NotFound means "not yet" for
	// notListedPolls polls.
	justCopied bool
}

// notListedPolls is how many polls a new copy may be missing from
// DescribeSnapshots before it counts as gone (two minutes at the default
// pollInterval). ECS documents no bound for this delay.
const notListedPolls = 24

// waitSnapshot waits until the snapshot is accomplished (or usable, see
// snapshotWait), logging progress.
func (v *VolumeSnapshotter) waitSnapshot(region, id string, w snapshotWait, log logrus.FieldLogger) (*snapshot, error) {
	var s *snapshot
	last := ""
	missing := 0
	progress, err := v.wait(w.timeout, func() (bool, string, error) {
		var err error
		if s, err = v.describeSnapshot(region, id); err != nil {
			if w.justCopied && isNotFound(err) && missing < notListedPolls {
				missing++
				return false, last, nil
			}
			return false, "", err
		}
		switch tea.StringValue(s.Status) {
		case snapshotAccomplished:
			return true, "100%", nil
		case snapshotFailed:
			return false, "", &snapshotFailedError{id: id, region: region}
		}
		p := tea.StringValue(s.Progress)
		if w.usable && tea.BoolValue(s.Available) {
			log.WithFields(map[string]any{"snapshotID": id, "region": region, "progress": p}).Info("snapshot is usable before it is accomplished (instant access); not waiting for the upload")
			return true, p, nil
		}
		if p != last {
			last = p
			log.WithFields(map[string]any{"snapshotID": id, "region": region, "progress": p}).Info("waiting for snapshot")
		}
		return false, p, nil
	})
	if errors.Is(err, errTimeout) {
		want := "accomplished"
		if w.usable {
			want = "usable"
		}
		return nil, fmt.Errorf("snapshot %s in region %s was not %s after %s (progress %s); raise %s if it needs longer", id, region, want, w.timeout, progress, w.key)
	}
	return s, err
}
