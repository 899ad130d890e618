package volumesnapshotter

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/sirupsen/logrus"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
)

// Disk categories.
const (
	categoryESSD      = "cloud_essd"
	categoryAuto      = "cloud_auto"
	categoryESSDEntry = "cloud_essd_entry"
	categorySSD       = "cloud_ssd"
	categoryEff       = "cloud_efficiency"
	categoryBasic     = "cloud"
)

// categoryFallback is the order tried when a zone lacks the backed-up disk's
// category: ESSD first, then the closest in performance.
var categoryFallback = []string{categoryESSD, categoryAuto, categoryESSDEntry, categorySSD, categoryEff}

// CreateVolumeFromSnapshot makes a disk from the snapshot in the location's
// region and returns its ID once it is Available. A snapshot from another
// region is copied here first (or an existing copy reused). volumeType and
// iops are what GetVolumeInfo returned at backup time; volumeAZ is the PV's
// zone then.
func (v *VolumeSnapshotter) CreateVolumeFromSnapshot(snapshotID, volumeType, volumeAZ string, iops *int64) (string, error) {
	if err := v.initialized(); err != nil {
		return "", err
	}
	ref, err := parseSnapshotID(snapshotID)
	if err != nil {
		return "", err
	}
	log := v.log.WithField("snapshotID", snapshotID)
	snap, err := v.localSnapshot(ref, log)
	if err != nil {
		return "", fmt.Errorf("restoring from snapshot %s: %w", snapshotID, err)
	}
	meta := sourceMetaOf(snap, ref.region)
	zones, err := v.zones(v.cfg.region, log)
	if err != nil {
		return "", fmt.Errorf("restoring from snapshot %s: %w", snapshotID, err)
	}
	zone, err := v.chooseZone(volumeAZ, meta.zone, zones, log)
	if err != nil {
		return "", fmt.Errorf("restoring from snapshot %s: %w", snapshotID, err)
	}
	wanted := first(volumeType, meta.category, categoryESSD)
	id, info, err := v.createDisk(snap, meta, zone, categoryOrder(wanted, zones[zone]), iops, ref, log)
	if err != nil {
		return "", fmt.Errorf("restoring from snapshot %s: %w", snapshotID, err)
	}
	if info.category != wanted {
		log.Warnf("zone %s has no %s disks; restored as %s", zone, wanted, info.category)
	}
	v.mu.Lock()
	v.restored[id] = info
	v.mu.Unlock()
	log.WithFields(map[string]any{"volumeID": id, "zone": zone, "sizeGiB": info.sizeGiB, "category": info.category}).Info("restored disk from snapshot")
	return id, nil
}

// zones maps each zone of region to the disk categories it can make now:
// those DescribeAvailableResource reports Available (in stock). DescribeZones
// lists the zones, but its categories are what a zone offers in general,
// sold out or not; they are used only when DescribeAvailableResource fails
// (a RAM policy without ecs:DescribeAvailableResource, say). A nil list means
// ECS did not say, taken as "any"; an empty one means none.
func (v *VolumeSnapshotter) zones(region string, log logrus.FieldLogger) (map[string][]string, error) {
	resp, err := call(v, region, "DescribeZones", func(c ecsAPI) (*ecs.DescribeZonesResponse, error) {
		return c.DescribeZones(&ecs.DescribeZonesRequest{RegionId: tea.String(region)})
	})
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	if resp.Body != nil && resp.Body.Zones != nil {
		for _, z := range resp.Body.Zones.Zone {
			var cats []string
			if z.AvailableDiskCategories != nil {
				cats = tea.StringSliceValue(z.AvailableDiskCategories.DiskCategories)
			}
			out[tea.StringValue(z.ZoneId)] = cats
		}
	}
	inStock, err := v.diskCategoriesInStock(region)
	if err != nil {
		log.WithError(err).Warn("could not ask ECS which disk categories are in stock; choosing from the categories the zones offer")
		return out, nil
	}
	for z := range out {
		out[z] = append([]string{}, inStock[z]...)
	}
	return out, nil
}

// diskCategoriesInStock asks DescribeAvailableResource, as the Alibaba Cloud
// CSI disk driver does, which data-disk categories each zone of region can
// make now.
func (v *VolumeSnapshotter) diskCategoriesInStock(region string) (map[string][]string, error) {
	resp, err := call(v, region, "DescribeAvailableResource", func(c ecsAPI) (*ecs.DescribeAvailableResourceResponse, error) {
		return c.DescribeAvailableResource(&ecs.DescribeAvailableResourceRequest{
			RegionId:            tea.String(region),
			DestinationResource: tea.String("DataDisk"),
			ResourceType:        tea.String("disk"),
		})
	})
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	if resp.Body == nil || resp.Body.AvailableZones == nil {
		return out, nil
	}
	for _, z := range resp.Body.AvailableZones.AvailableZone {
		if z.AvailableResources == nil {
			continue
		}
		zone := tea.StringValue(z.ZoneId)
		for _, r := range z.AvailableResources.AvailableResource {
			if tea.StringValue(r.Type) != "DataDisk" || r.SupportedResources == nil {
				continue
			}
			for _, sr := range r.SupportedResources.SupportedResource {
				if strings.EqualFold(tea.StringValue(sr.Status), "Available") {
					out[zone] = append(out[zone], tea.StringValue(sr.Value))
				}
			}
		}
	}
	return out, nil
}

// chooseZone picks the new disk's zone in the location's region: the PV's
// zone at backup time when the region has it (same-region restore), else the
// recorded zone of the source disk, else the zone config key, else the zone
// most of the cluster's nodes are in.
func (v *VolumeSnapshotter) chooseZone(volumeAZ, recorded string, zones map[string][]string, log logrus.FieldLogger) (string, error) {
	for _, z := range []string{volumeAZ, recorded} {
		if _, ok := zones[z]; ok && z != "" {
			return z, nil
		}
	}
	names := make([]string, 0, len(zones))
	for z := range zones {
		names = append(names, z)
	}
	sort.Strings(names)
	if z := v.cfg.zone; z != "" {
		if _, ok := zones[z]; ok {
			return z, nil
		}
		return "", fmt.Errorf("the %s config key %s names zone %q, which region %s does not have; use one of: %s", kind, keyZone, z, v.cfg.region, strings.Join(names, ", "))
	}
	k, err := v.kube()
	var nodeZones []string
	if err == nil {
		nodeZones, err = k.nodeZones()
	}
	if err != nil {
		log.WithError(err).Warn("could not read the zones of the cluster's nodes")
	}
	for _, z := range nodeZones {
		if _, ok := zones[z]; ok {
			log.Infof("the snapshot's zone %q is not in region %s; using zone %s of the cluster's nodes", first(volumeAZ, recorded), v.cfg.region, z)
			return z, nil
		}
	}
	return "", fmt.Errorf("no zone for the new disk: the backed-up disk's zone %q is not in region %s and no node of this cluster has a topology.kubernetes.io/zone label of that region; set the %s config key %s to one of: %s",
		first(volumeAZ, recorded), v.cfg.region, kind, keyZone, strings.Join(names, ", "))
}

// categoryOrder is the categories to try: the wanted one when the zone offers
// it (or does not say: offered is nil), then the fallbacks the zone offers.
func categoryOrder(wanted string, offered []string) []string {
	var out []string
	for _, c := range append([]string{wanted}, categoryFallback...) {
		if (offered == nil || slices.Contains(offered, c)) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// createDisk calls CreateDisk with the first category the zone accepts and
// waits until the disk is Available.
func (v *VolumeSnapshotter) createDisk(snap *snapshot, meta sourceMeta, zone string, categories []string, iops *int64, ref snapshotRef, log logrus.FieldLogger) (string, diskInfo, error) {
	if len(categories) == 0 {
		return "", diskInfo{}, fmt.Errorf("zone %s offers none of the disk categories %s", zone, strings.Join(categoryFallback, ", "))
	}
	region := v.cfg.region
	pvName := meta.tags[tagVeleroPV]
	var lastErr error
	for _, category := range categories {
		pl := performanceLevel(category, meta, iops)
		// At least what ACK binds, which the disk-minimum-size restore
		// action raises the PV to: the PV must not declare more than the
		// disk holds.
		size := max(meta.sizeGiB, minSizeGiB(category, pl), diskpv.MinSizeGiB)
		req := &ecs.CreateDiskRequest{
			RegionId:     tea.String(region),
			ZoneId:       tea.String(zone),
			SnapshotId:   snap.SnapshotId,
			DiskCategory: tea.String(category),
			Size:         tea.Int32(int32(size)),
			DiskName:     tea.String(ecsName("velero-", first(pvName, ref.id))),
			Description:  tea.String(truncate(fmt.Sprintf("Restored by Velero from snapshot %s (backup %s)", ref, meta.tags[tagVeleroBackup]), maxDescription)),
			ClientToken:  tea.String(randomToken()),
		}
		if pl != "" {
			req.PerformanceLevel = tea.String(pl)
		}
		if v.cfg.kmsKeyID != "" {
			req.Encrypted, req.KMSKeyId = tea.Bool(true), tea.String(v.cfg.kmsKeyID)
		}
		for _, t := range mergeTags(createTagRule, [][]tag{{{tagRestoredFrom, ref.String()}}, {{tagVeleroBackup, meta.tags[tagVeleroBackup]}, {tagVeleroPV, pvName}}}, log) {
			req.Tag = append(req.Tag, &ecs.CreateDiskRequestTag{Key: tea.String(t.key), Value: tea.String(t.value)})
		}
		resp, err := call(v, region, "CreateDisk", func(c ecsAPI) (*ecs.CreateDiskResponse, error) {
			return c.CreateDisk(req)
		})
		if hasCode(err, categoryRefusedCodes) {
			log.WithError(err).Infof("zone %s refuses %s disks; trying the next category", zone, category)
			lastErr = err
			continue
		}
		if err != nil {
			return "", diskInfo{}, err
		}
		id := tea.StringValue(resp.Body.DiskId)
		d, err := v.waitDisk(region, id, log)
		if err != nil {
			return "", diskInfo{}, err
		}
		return id, diskInfo{zone: zone, sizeGiB: int64(first32(d.Size, int32(size))), category: category}, nil
	}
	return "", diskInfo{}, lastErr
}

// waitDisk waits until the new disk is Available (diskTimeout).
func (v *VolumeSnapshotter) waitDisk(region, id string, log logrus.FieldLogger) (*disk, error) {
	var d *disk
	_, err := v.wait(v.cfg.diskTimeout, func() (bool, string, error) {
		var err error
		if d, err = v.describeDisk(region, id); err != nil {
			// A new disk can take a moment to be listed.
			if isNotFound(err) {
				return false, "", nil
			}
			return false, "", err
		}
		return tea.StringValue(d.Status) == diskAvailable, tea.StringValue(d.Status), nil
	})
	if errors.Is(err, errTimeout) {
		return nil, fmt.Errorf("disk %s in region %s was not Available after %s; raise %s, and delete the disk if it is not used", id, region, v.cfg.diskTimeout, keyDiskTimeout)
	}
	return d, err
}

// performanceLevel of an ESSD: the recorded one, else from the IOPS Velero
// recorded (PL1 serves up to 50,000, PL2 up to 100,000), else PL1.
func performanceLevel(category string, meta sourceMeta, iops *int64) string {
	if category != categoryESSD {
		return ""
	}
	if meta.performanceLevel != "" && (meta.category == "" || meta.category == categoryESSD) {
		return meta.performanceLevel
	}
	switch {
	case iops != nil && *iops > 100000:
		return "PL3"
	case iops != nil && *iops > 50000:
		return "PL2"
	}
	return "PL1"
}

// minSizeGiB is the smallest disk ECS creates of a category.
func minSizeGiB(category, pl string) int64 {
	switch category {
	case categoryESSD:
		switch pl {
		case "PL0":
			return 1
		case "PL2":
			return 461
		case "PL3":
			return 1261
		}
		return 20
	case categoryAuto:
		return 1
	case categoryESSDEntry:
		return 10
	case categoryBasic:
		return 5
	}
	return 20
}

func first(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func first32(p *int32, def int32) int32 {
	if p != nil && *p > 0 {
		return *p
	}
	return def
}
