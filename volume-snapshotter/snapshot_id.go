package volumesnapshotter

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/config"
)

// snapshotRef is a snapshot ID as Velero stores it. Velero keeps only the
// string CreateSnapshot returned (volumesnapshots.json.gz) and passes it back
// verbatim to CreateVolumeFromSnapshot and DeleteSnapshot, so the ID carries
// the snapshot's region: "cn-hangzhou/s-bp1abc". Backups made by the upstream
// Alibaba plugin hold a plain "s-bp1abc"; region is "" for those and the
// snapshot is looked up in the location's region, then in every other region.
type snapshotRef struct {
	region string
	id     string
}

var ecsSnapshotIDPattern = regexp.MustCompile(`^s-[a-zA-Z0-9]+$`)

func (r snapshotRef) String() string {
	if r.region == "" {
		return r.id
	}
	return r.region + "/" + r.id
}

func parseSnapshotID(s string) (snapshotRef, error) {
	s = strings.TrimSpace(s)
	region, id, hasRegion := strings.Cut(s, "/")
	if !hasRegion {
		region, id = "", s
	}
	if !ecsSnapshotIDPattern.MatchString(id) || (hasRegion && !config.RegionID.MatchString(region)) {
		return snapshotRef{}, fmt.Errorf("snapshot ID %q is not an ECS snapshot ID; want <region>/s-<id> (or s-<id> from the upstream plugin)", s)
	}
	return snapshotRef{region: region, id: id}, nil
}
