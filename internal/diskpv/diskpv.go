// Package diskpv is the bundle's one reading of an ACK disk
// PersistentVolume: which PVs are Alibaba Cloud disks, the disk's ID, zone
// and region as the PV records them, how to move a PV to another zone, and
// the smallest disk ACK binds. Every plugin of the bundle asks it, so a PV
// means the same to the VolumeSnapshotter and to the item actions.
package diskpv

import (
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// The ACK disk drivers, and the topology keys the CSI disk plugin sets.
const (
	CSIDriver  = "diskplugin.csi.alibabacloud.com"
	FlexDriver = "alicloud/disk"
	ZoneKey    = "topology.diskplugin.csi.alibabacloud.com/zone"
	RegionKey  = "topology.diskplugin.csi.alibabacloud.com/region"
)

// MinSizeGiB is the smallest disk PV ACK provisions and binds (20 GiB: the
// ACK backup center's "disk minimum size"). Disks restored from snapshots are
// made at least this large, and the disk-minimum-size restore action raises
// claims and PVs to it by default, so that a PV never declares more than its
// disk holds.
const MinSizeGiB = 20

// ZoneKeys and RegionKeys are the label and node-affinity keys that name a
// disk's zone and region, in the order they are read.
var (
	ZoneKeys   = []string{corev1.LabelTopologyZone, corev1.LabelFailureDomainBetaZone, ZoneKey}
	RegionKeys = []string{corev1.LabelTopologyRegion, corev1.LabelFailureDomainBetaRegion, RegionKey}
)

// IsDiskDriver reports whether a CSI driver, FlexVolume driver or
// provisioner name is an Alibaba Cloud disk's.
func IsDiskDriver(name string) bool { return name == CSIDriver || name == FlexDriver }

// Driver is the CSI or FlexVolume driver of a PV, "" for other sources.
func Driver(pv *corev1.PersistentVolume) string {
	switch {
	case pv.Spec.CSI != nil:
		return pv.Spec.CSI.Driver
	case pv.Spec.FlexVolume != nil:
		return pv.Spec.FlexVolume.Driver
	}
	return ""
}

// IsDisk reports whether pv is an Alibaba Cloud disk PV.
func IsDisk(pv *corev1.PersistentVolume) bool { return IsDiskDriver(Driver(pv)) }

// ID is the ECS disk ID of a disk PV: the volumeHandle of a CSI volume, or
// the VolumeId option (volumeId in older manifests) of a FlexVolume. It is ""
// for every other PV.
func ID(pv *corev1.PersistentVolume) string {
	switch s := pv.Spec; {
	case s.CSI != nil && s.CSI.Driver == CSIDriver:
		return s.CSI.VolumeHandle
	case s.FlexVolume != nil && s.FlexVolume.Driver == FlexDriver:
		if id := s.FlexVolume.Options["VolumeId"]; id != "" {
			return id
		}
		return s.FlexVolume.Options["volumeId"]
	}
	return ""
}

// SetID points a disk PV at another disk; it reports false for a PV that is
// not a disk PV.
func SetID(pv *corev1.PersistentVolume, id string) bool {
	switch s := pv.Spec; {
	case s.CSI != nil && s.CSI.Driver == CSIDriver:
		s.CSI.VolumeHandle = id
	case s.FlexVolume != nil && s.FlexVolume.Driver == FlexDriver:
		opts := s.FlexVolume.Options
		if opts == nil {
			opts = map[string]string{}
			s.FlexVolume.Options = opts
		}
		if _, upper := opts["VolumeId"]; upper {
			opts["VolumeId"] = id
		}
		if _, lower := opts["volumeId"]; lower || opts["VolumeId"] == "" {
			opts["volumeId"] = id
		}
	default:
		return false
	}
	return true
}

// LabelZone is the zone node or PV labels name, "" for none.
func LabelZone(labels map[string]string) string { return first(labels, ZoneKeys) }

// Zone is the zone the PV records for its disk: its labels, else the single
// zone its node affinity requires ("" when none, or ambiguous).
func Zone(pv *corev1.PersistentVolume) string {
	if z := first(pv.Labels, ZoneKeys); z != "" {
		return z
	}
	return affinityValue(pv, ZoneKeys)
}

// Region is the region the PV records for its disk, read like Zone. It is
// never derived from a zone name.
func Region(pv *corev1.PersistentVolume) string {
	if r := first(pv.Labels, RegionKeys); r != "" {
		return r
	}
	return affinityValue(pv, RegionKeys)
}

func first(labels map[string]string, keys []string) string {
	for _, k := range keys {
		if v := labels[k]; v != "" {
			return v
		}
	}
	return ""
}

// affinityValue is the single value of the "In" requirements on keys, ""
// when there is none or they disagree.
func affinityValue(pv *corev1.PersistentVolume, keys []string) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	found := ""
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Operator != corev1.NodeSelectorOpIn || len(e.Values) != 1 || !slices.Contains(keys, e.Key) {
				continue
			}
			if found != "" && found != e.Values[0] {
				return ""
			}
			found = e.Values[0]
		}
	}
	return found
}

// ZoneAffinity pins a disk PV to zone with the CSI disk plugin's key.
func ZoneAffinity(zone string) *corev1.VolumeNodeAffinity {
	return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{
				Key: ZoneKey, Operator: corev1.NodeSelectorOpIn, Values: []string{zone},
			}},
		}},
	}}
}

// MoveToZone rewrites the PV's zone and region labels and node-affinity
// requirements to zone and region. A term without a zone requirement gets
// one (topology.kubernetes.io/zone, which every node carries): a disk
// attaches only in its zone.
func MoveToZone(pv *corev1.PersistentVolume, region, zone string) {
	for _, k := range ZoneKeys {
		if _, ok := pv.Labels[k]; ok {
			pv.Labels[k] = zone
		}
	}
	for _, k := range RegionKeys {
		if _, ok := pv.Labels[k]; ok {
			pv.Labels[k] = region
		}
	}
	if pv.Spec.NodeAffinity == nil {
		pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{}
	}
	if pv.Spec.NodeAffinity.Required == nil {
		pv.Spec.NodeAffinity.Required = &corev1.NodeSelector{}
	}
	req := pv.Spec.NodeAffinity.Required
	if len(req.NodeSelectorTerms) == 0 {
		req.NodeSelectorTerms = []corev1.NodeSelectorTerm{{}}
	}
	for i := range req.NodeSelectorTerms {
		term := &req.NodeSelectorTerms[i]
		hasZone := false
		for j := range term.MatchExpressions {
			e := &term.MatchExpressions[j]
			switch {
			case slices.Contains(ZoneKeys, e.Key):
				e.Operator, e.Values = corev1.NodeSelectorOpIn, []string{zone}
				hasZone = true
			case slices.Contains(RegionKeys, e.Key):
				e.Operator, e.Values = corev1.NodeSelectorOpIn, []string{region}
			}
		}
		if !hasZone {
			term.MatchExpressions = append(term.MatchExpressions, corev1.NodeSelectorRequirement{
				Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{zone},
			})
		}
	}
}

// NodeZones lists the zones of nodes, the zone with the most nodes first
// (ties by name), so that a disk placed in the first is where most pods can
// run.
func NodeZones(nodes []corev1.Node) []string {
	count := map[string]int{}
	for _, n := range nodes {
		if z := LabelZone(n.Labels); z != "" {
			count[z]++
		}
	}
	zones := make([]string, 0, len(count))
	for z := range count {
		zones = append(zones, z)
	}
	sort.Slice(zones, func(i, j int) bool {
		if count[zones[i]] != count[zones[j]] {
			return count[zones[i]] > count[zones[j]]
		}
		return zones[i] < zones[j]
	})
	return zones
}
