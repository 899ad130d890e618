package volumesnapshotter

import (
	"strconv"

	"github.com/alibabacloud-go/tea/tea"
)

// This file is the contract between backups and restores: what a snapshot
// made by the plugin (or by the upstream Alibaba plugin) records about its
// source disk, in its tags, so that a restore anywhere — another region, a
// copy, the source region down — can make the disk again.

// Tags Velero passes to CreateSnapshot.
const (
	tagVeleroBackup = "velero.io/backup"
	tagVeleroPV     = "velero.io/pv"
)

// Tags the plugin writes on snapshots and copies, so a restore — in another
// region, from a copy, with the source region down — knows the source disk.
const (
	tagPrefix           = "velero.alibabacloud.com/"
	tagSourceRegion     = tagPrefix + "source-region"
	tagSourceZone       = tagPrefix + "source-zone"
	tagSourceCategory   = tagPrefix + "source-category"
	tagSourcePL         = tagPrefix + "source-performance-level"
	tagSourceSize       = tagPrefix + "source-size-gib"
	tagSourceSnapshotID = tagPrefix + "source-snapshot-id" // on copies: the snapshot they were copied from
	tagRestoredFrom     = tagPrefix + "restored-from"      // on restored disks: the Velero snapshot ID
	// tagUpstreamZone is the zone tag of snapshots made by the upstream
	// Alibaba plugin (AliyunContainerService/velero-plugin,
	// velero-plugin-alibabacloud/volume_snapshotter.go, originalVolumeAZTagKey;
	// "orginal" is its spelling).
	tagUpstreamZone = "alibabacloud.velero-plugin/orginal-volume-az"
)

// sourceMeta is what is known of the disk a snapshot was taken of: the
// plugin's record tags, else the upstream plugin's zone tag and the
// snapshot's own fields.
type sourceMeta struct {
	region, zone, category, performanceLevel string
	sizeGiB                                  int64
	tags                                     map[string]string
}

// recordTags are the tags by which a snapshot (and its copies) records its
// source disk, read back by sourceMetaOf.
func (m sourceMeta) recordTags() []tag {
	return []tag{
		{tagSourceRegion, m.region},
		{tagSourceZone, m.zone},
		{tagSourceCategory, m.category},
		{tagSourcePL, m.performanceLevel},
		{tagSourceSize, strconv.FormatInt(m.sizeGiB, 10)},
	}
}

func sourceMetaOf(s *snapshot, region string) sourceMeta {
	t := snapshotTags(s)
	m := sourceMeta{
		region:           first(t[tagSourceRegion], tea.StringValue(s.SourceRegionId), region),
		zone:             first(t[tagSourceZone], t[tagUpstreamZone]),
		category:         t[tagSourceCategory],
		performanceLevel: t[tagSourcePL],
		tags:             t,
	}
	m.sizeGiB, _ = strconv.ParseInt(t[tagSourceSize], 10, 64)
	if n := sourceSizeGiB(s); n > m.sizeGiB {
		m.sizeGiB = n
	}
	return m
}
