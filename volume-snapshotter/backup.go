package volumesnapshotter

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/sirupsen/logrus"
)

// ECS allows 20 tags per resource, keys and values of at most 128 characters.
const (
	maxTags        = 20
	maxTagLen      = 128
	maxNameLen     = 128
	maxDescription = 256
)

// GetVolumeInfo returns the disk's category and, when ECS reports one, its
// IOPS; Velero stores both with the snapshot and passes them to
// CreateVolumeFromSnapshot.
func (v *VolumeSnapshotter) GetVolumeInfo(volumeID, volumeAZ string) (string, *int64, error) {
	if err := v.initialized(); err != nil {
		return "", nil, err
	}
	d, err := v.describeDisk(v.cfg.region, volumeID)
	if err != nil {
		return "", nil, fmt.Errorf("getting info of disk %s: %w", volumeID, err)
	}
	var iops *int64
	if n := tea.Int32Value(d.IOPS); n > 0 {
		iops = tea.Int64(int64(n))
	}
	return tea.StringValue(d.Category), iops, nil
}

// CreateSnapshot snapshots the disk and returns "<region>/<snapshot ID>". It
// returns once ECS has accepted the snapshot: the point in time is fixed then,
// and ECS finishes the upload on its own. With waitForSnapshot or
// replicaRegions set it waits (up to snapshotTimeout) for the snapshot to be
// accomplished: a snapshot that ECS fails is deleted and fails the volume's
// backup; one still in progress at the timeout is logged as an error (the
// backup ends PartiallyFailed) and returned, so Velero keeps (and later
// deletes) it. Then it starts a copy to each replica region; a replica that
// cannot be made is logged as an error and the snapshot is still returned.
func (v *VolumeSnapshotter) CreateSnapshot(volumeID, volumeAZ string, tags map[string]string) (string, error) {
	if err := v.initialized(); err != nil {
		return "", err
	}
	region := v.cfg.region
	backup := tags[tagVeleroBackup]
	log := v.log.WithFields(map[string]any{"volumeID": volumeID, "backup": backup})
	d, err := v.describeDisk(region, volumeID)
	if err != nil {
		return "", fmt.Errorf("snapshotting disk %s: %w", volumeID, err)
	}
	req := &ecs.CreateSnapshotRequest{
		DiskId:        tea.String(volumeID),
		SnapshotName:  tea.String(ecsName("velero-", backup)),
		Description:   tea.String(truncate(fmt.Sprintf("Velero backup %s, persistent volume %s, disk %s", backup, tags[tagVeleroPV], volumeID), maxDescription)),
		RetentionDays: v.retentionDays(backup, log),
		Tag:           toCreateSnapshotTags(v.snapshotTags(d, region, tags, log)),
		ClientToken:   tea.String(randomToken()),
	}
	id, err := v.createSnapshot(region, req, log)
	if err != nil {
		return "", fmt.Errorf("snapshotting disk %s: %w", volumeID, err)
	}
	ref := snapshotRef{region: region, id: id}
	log.WithField("snapshotID", ref.String()).Info("created ECS snapshot")
	if !v.cfg.waitForSnapshot && len(v.cfg.replicaRegions) == 0 {
		return ref.String(), nil
	}
	src, err := v.waitSnapshot(ref.region, ref.id, snapshotWait{timeout: v.cfg.snapshotTimeout, key: keySnapshotTimeout}, log)
	var failed *snapshotFailedError
	if errors.As(err, &failed) {
		// Velero records no snapshot for a failed CreateSnapshot, so
		// nothing would ever delete this one.
		if derr := v.deleteSnapshot(ref.region, ref.id); derr != nil {
			log.WithError(derr).WithField("snapshotID", ref.String()).Warn("could not delete the failed snapshot; delete it in the ECS console")
		}
		return "", fmt.Errorf("snapshotting disk %s: %w; the volume is not in this backup, so run the backup again", volumeID, err)
	}
	if err != nil {
		msg := "snapshot not confirmed accomplished; it is kept with the backup"
		if len(v.cfg.replicaRegions) > 0 {
			msg += fmt.Sprintf(" but not copied to replica regions %v", v.cfg.replicaRegions)
		}
		log.WithError(err).WithField("snapshotID", ref.String()).Error(msg)
		return ref.String(), nil
	}
	v.replicate(src, ref, log)
	return ref.String(), nil
}

// createSnapshot calls CreateSnapshot, waiting while an earlier snapshot of
// the same disk is still being made (ECS allows one at a time per disk).
func (v *VolumeSnapshotter) createSnapshot(region string, req *ecs.CreateSnapshotRequest, log logrus.FieldLogger) (string, error) {
	var id string
	_, err := v.wait(v.cfg.snapshotTimeout, func() (bool, string, error) {
		resp, err := call(v, region, "CreateSnapshot", func(c ecsAPI) (*ecs.CreateSnapshotResponse, error) {
			return c.CreateSnapshot(req)
		})
		if hasCode(err, snapshotBusyCodes) {
			log.WithField("code", errorCode(err)).Info("ECS cannot snapshot the disk yet (another snapshot of it is in progress, or it is still loading data); waiting")
			return false, "", nil
		}
		if err != nil {
			return false, "", err
		}
		id = tea.StringValue(resp.Body.SnapshotId)
		return true, "", nil
	})
	if errors.Is(err, errTimeout) {
		return "", fmt.Errorf("ECS still refused to snapshot the disk after %s (another snapshot of it in progress, or its data still loading); raise %s or back up later", v.cfg.snapshotTimeout, keySnapshotTimeout)
	}
	if err == nil && id == "" {
		return "", fmt.Errorf("ecs CreateSnapshot in region %s returned no snapshot ID", region)
	}
	return id, err
}

// retentionDays is the snapshot's RetentionDays: snapshotRetentionDays when
// set (0 keeps the snapshot until Velero deletes it), else the Backup's TTL
// rounded up to whole days. A failed Backup lookup is logged and leaves the
// snapshot without expiry; Velero's garbage collection still deletes it.
func (v *VolumeSnapshotter) retentionDays(backup string, log logrus.FieldLogger) *int32 {
	switch {
	case v.cfg.retentionDays > 0:
		return tea.Int32(int32(v.cfg.retentionDays))
	case v.cfg.retentionDays == 0, backup == "":
		return nil
	}
	v.mu.Lock()
	days, cached := v.retention[backup]
	v.mu.Unlock()
	if cached {
		return days
	}
	k, err := v.kube()
	var ttl time.Duration
	if err == nil {
		ttl, err = k.backupTTL(backup)
	}
	if err != nil {
		log.WithError(err).Warnf("could not read the Backup's TTL; the snapshot gets no retention period and is deleted with the backup (set %s to choose one)", keySnapshotRetentionDays)
		return nil
	}
	// One lookup per backup, not per volume.
	days = ttlDays(ttl)
	v.mu.Lock()
	v.retention[backup] = days
	v.mu.Unlock()
	return days
}

func ttlDays(ttl time.Duration) *int32 {
	if ttl <= 0 {
		return nil
	}
	days := math.Ceil(ttl.Hours() / 24)
	return tea.Int32(int32(math.Min(days, maxRetentionDays)))
}

// snapshotTags are the tags of a new snapshot, most important first, cut to
// ECS's 20: the plugin's record of the source disk (needed to restore it
// elsewhere), Velero's backup and PV, the other tags Velero passes (the
// Backup's labels), then the disk's own user tags. System tags (acs:, aliyun)
// and tags ECS would refuse are dropped.
func (v *VolumeSnapshotter) snapshotTags(d *disk, region string, velero map[string]string, log logrus.FieldLogger) []tag {
	record := sourceMeta{region: region, zone: tea.StringValue(d.ZoneId), category: tea.StringValue(d.Category),
		performanceLevel: tea.StringValue(d.PerformanceLevel), sizeGiB: int64(tea.Int32Value(d.Size))}
	return mergeTags(createTagRule, [][]tag{
		record.recordTags(),
		{{tagVeleroBackup, velero[tagVeleroBackup]}, {tagVeleroPV, velero[tagVeleroPV]}},
		sortedTags(velero, tagVeleroBackup, tagVeleroPV),
		sortedTags(diskTags(d)),
	}, log)
}

type tag struct{ key, value string }

func sortedTags(m map[string]string, skip ...string) []tag {
	out := make([]tag, 0, len(m))
	for k, val := range m {
		if !slices.Contains(skip, k) {
			out = append(out, tag{k, val})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// mergeTags keeps the first tag of each key that valid accepts, in order, up
// to maxTags.
func mergeTags(valid tagRule, groups [][]tag, log logrus.FieldLogger) []tag {
	var out, dropped []tag
	seen := map[string]bool{}
	for gi, g := range groups {
		for _, t := range g {
			// The plugin's own keys come only from the first group, never
			// from a disk that was itself restored by the plugin.
			if seen[t.key] || t.value == "" || (gi > 0 && strings.HasPrefix(t.key, tagPrefix)) {
				continue
			}
			if !valid(t) {
				log.Debugf("ECS refuses tag %q=%q on this call; not setting it", t.key, t.value)
				continue
			}
			seen[t.key] = true
			if len(out) == maxTags {
				dropped = append(dropped, t)
				continue
			}
			out = append(out, t)
		}
	}
	if len(dropped) > 0 {
		keys := make([]string, len(dropped))
		for i, t := range dropped {
			keys[i] = t.key
		}
		log.Warnf("ECS allows %d tags per snapshot; not copying tags %s", maxTags, strings.Join(keys, ", "))
	}
	return out
}

// tagRule reports whether ECS accepts a tag on a call.
type tagRule func(tag) bool

// createTagRule is what CreateSnapshot and CreateDisk accept: no key
// starting with aliyun or acs: (system tags), no key or value containing
// http:// or https://, none longer than 128 characters.
func createTagRule(t tag) bool {
	if t.key == "" || isSystemTagPrefix(t.key) {
		return false
	}
	for _, s := range []string{t.key, t.value} {
		ls := strings.ToLower(s)
		if len(s) > maxTagLen || strings.Contains(ls, "http://") || strings.Contains(ls, "https://") {
			return false
		}
	}
	return true
}

// copyTagRule is what CopySnapshot accepts: it also refuses values that
// start with aliyun or acs: (InvalidTagValue.Malformed), such as the backup
// tag of a backup named aliyun-daily-20260101. The copy then lacks that tag;
// restores from it do not need it.
func copyTagRule(t tag) bool { return createTagRule(t) && !isSystemTagPrefix(t.value) }

func isSystemTagPrefix(s string) bool {
	s = strings.ToLower(s)
	return strings.HasPrefix(s, "aliyun") || strings.HasPrefix(s, "acs:")
}

func toCreateSnapshotTags(tags []tag) []*ecs.CreateSnapshotRequestTag {
	out := make([]*ecs.CreateSnapshotRequestTag, len(tags))
	for i, t := range tags {
		out[i] = &ecs.CreateSnapshotRequestTag{Key: tea.String(t.key), Value: tea.String(t.value)}
	}
	return out
}

// ecsName makes an ECS snapshot or disk name from s: 2 to 128 characters,
// starting with a letter (prefix does), letters, digits, '.', '_', '-' and
// ':' only, never containing http:// or https://.
func ecsName(prefix, s string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-', r == ':':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	// '/' is not kept, so the name cannot contain a URL scheme.
	return truncate(b.String(), maxNameLen)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
