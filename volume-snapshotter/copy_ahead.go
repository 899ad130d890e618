package volumesnapshotter

import (
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/sirupsen/logrus"
)

// defaultCopiesAhead is the default of the copiesAhead config key: how many
// copies one restore starts for the other snapshots of its backup. With the
// volume's own copy that is at most 20 copies into the region started by one
// call. We know of no documented ECS limit on concurrent cross-region copies;
// 20 is a conservative figure (EBS, for one, allows 20 per destination
// region). A backup with more volumes gets the next batch from the first
// restore that finds no copy.
const defaultCopiesAhead = 19

// startCopiesAhead starts, in the background, the copies to the location's
// region of the other snapshots of src's backup (see copyAhead). Stock Velero
// restores PVs one at a time, so without it a cross-region restore of N
// volumes waits for N copies one after another; with it the later restores
// find their copy progressing or accomplished. The returned stop ends the
// wait for sources still in progress and returns when the goroutine has,
// so nothing outlives the CreateVolumeFromSnapshot call.
func (v *VolumeSnapshotter) startCopiesAhead(src *snapshot, srcRegion string, log logrus.FieldLogger) (stop func()) {
	backup := snapshotTags(src)[tagVeleroBackup]
	// Snapshots without Velero's backup tag (such as the upstream
	// plugin's) have no backup to look up.
	if backup == "" || srcRegion == "" || v.cfg.copiesAhead <= 0 {
		return func() {}
	}
	key := v.cfg.region + "\x00" + srcRegion + "\x00" + backup
	v.mu.Lock()
	if v.copyingAhead[key] {
		// Another restore of this backup in this process is at it.
		v.mu.Unlock()
		return func() {}
	}
	v.copyingAhead[key] = true
	v.mu.Unlock()

	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		v.copyAhead(tea.StringValue(src.SnapshotId), srcRegion, backup, quit, log.WithField("backup", backup))
		v.mu.Lock()
		delete(v.copyingAhead, key)
		v.mu.Unlock()
	}()
	return func() {
		close(quit)
		<-done
	}
}

// copyAhead starts CopySnapshot — the same request, tags and ClientToken a
// restore of that snapshot would send (startCopy, restoreCopyToken), so a
// copy is never made twice — for each plugin-made snapshot of backup in
// srcRegion other than current that has no copy in the location's region,
// at most copiesAhead of them. Accomplished snapshots are copied at once;
// those still in progress (a restore right after the backup) are polled
// until quit. Failures are warnings: the volume's own restore copies it.
func (v *VolumeSnapshotter) copyAhead(current, srcRegion, backup string, quit <-chan struct{}, log logrus.FieldLogger) {
	target := v.cfg.region
	var started, failed int
	defer func() {
		log.WithFields(map[string]any{"sourceRegion": srcRegion, "copiesStartedAhead": started, "copiesFailedAhead": failed}).
			Infof("started copies of %d other snapshots of backup %s to this region ahead of their restores", started, backup)
	}()
	done := map[string]bool{current: true} // copied (by anyone) or tried
	for first := true; ; first = false {
		sources, err := v.backupSnapshots(srcRegion, backup)
		if err != nil {
			log.WithError(err).Warn("could not list the backup's other snapshots to copy them ahead; each restore copies its own")
			return
		}
		if first {
			if err := v.markCopied(target, sources, done); err != nil {
				log.WithError(err).Warn("could not look for existing copies of the backup's other snapshots; each restore copies its own")
				return
			}
		}
		pending := 0
		for _, s := range sources {
			id := tea.StringValue(s.SnapshotId)
			if done[id] {
				continue
			}
			if v.isRestoring(target + "/" + id) {
				// A concurrent restore in this process copies it.
				done[id] = true
				continue
			}
			if tea.StringValue(s.Status) != snapshotAccomplished {
				pending++ // ECS copies only accomplished snapshots
				continue
			}
			if started+failed >= v.cfg.copiesAhead {
				return
			}
			done[id] = true
			copyID, err := v.startCopy(s, srcRegion, target, restoreCopyToken(srcRegion, id, target), false, log)
			if hasCode(err, copyBusyCodes) {
				// An earlier copy of the same disk (a replica) is
				// unfinished; the volume's own restore waits for it.
				log.WithField("aheadSnapshotID", id).Info("not copying another snapshot of the backup ahead: an earlier copy of its disk to this region is unfinished; its restore will copy it")
				continue
			}
			if err != nil {
				failed++
				// Not fatal, and no reason to stop: a RAM policy may refuse
				// some snapshots only.
				log.WithError(err).WithField("aheadSnapshotID", id).Warn("could not start the copy of another snapshot of the backup ahead of its restore; its restore will copy it")
				continue
			}
			started++
			log.WithFields(map[string]any{"aheadSnapshotID": id, "copySnapshotID": copyID}).Debug("copying another snapshot of the backup ahead of its restore")
		}
		if pending == 0 || started+failed >= v.cfg.copiesAhead {
			return
		}
		t := time.NewTimer(v.cfg.pollInterval)
		select {
		case <-quit:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// backupSnapshots are the snapshots of backup the plugin made in region:
// Velero's backup tag and the plugin's record naming region as the source.
// Copies (which name their source) and snapshots the plugin did not make
// are left alone, as are failed ones and those not of disks.
func (v *VolumeSnapshotter) backupSnapshots(region, backup string) ([]*snapshot, error) {
	filter := ecs.DescribeSnapshotsRequest{Tag: []*ecs.DescribeSnapshotsRequestTag{{Key: tea.String(tagVeleroBackup), Value: tea.String(backup)}}}
	return v.listSnapshots(region, filter, func(s *snapshot) bool {
		t := snapshotTags(s)
		storage := tea.StringValue(s.SourceStorageType)
		return t[tagVeleroBackup] == backup && t[tagSourceRegion] == region && t[tagSourceSnapshotID] == "" &&
			tea.StringValue(s.SourceSnapshotId) == "" && tea.StringValue(s.Status) != snapshotFailed &&
			(storage == "" || storage == "disk")
	})
}

// markCopied marks in done the sources that already have a copy in region,
// found as findCopy finds one: the plugin's tag or ECS's SourceSnapshotId.
// A failed copy counts too: the volume's own restore deals with it.
func (v *VolumeSnapshotter) markCopied(region string, sources []*snapshot, done map[string]bool) error {
	wanted := map[string]bool{}
	for _, s := range sources {
		wanted[tea.StringValue(s.SnapshotId)] = true
	}
	_, err := v.listSnapshots(region, ecs.DescribeSnapshotsRequest{}, func(s *snapshot) bool {
		for _, src := range []string{snapshotTags(s)[tagSourceSnapshotID], tea.StringValue(s.SourceSnapshotId)} {
			if wanted[src] {
				done[src] = true
			}
		}
		return false
	})
	return err
}

func (v *VolumeSnapshotter) setRestoring(key string, on bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if on {
		v.restoring[key] = true
	} else {
		delete(v.restoring, key)
	}
}

func (v *VolumeSnapshotter) isRestoring(key string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.restoring[key]
}
