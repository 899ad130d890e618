package volumesnapshotter

import (
	"fmt"
	"slices"

	"github.com/alibabacloud-go/tea/tea"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/kube"
)

// Zone and region keys of PV labels and node affinity.
var (
	zoneKeys = []string{
		kube.DiskZoneKey,
		"topology.kubernetes.io/zone",
		"failure-domain.beta.kubernetes.io/zone",
	}
	regionKeys = []string{
		"topology.diskplugin.csi.alibabacloud.com/region",
		"topology.kubernetes.io/region",
		"failure-domain.beta.kubernetes.io/region",
	}
)

// defaultZoneKey is added to a PV that has no zone affinity: every node
// carries it, and an ECS disk attaches only in its zone.
const defaultZoneKey = "topology.kubernetes.io/zone"

// GetVolumeID returns the disk ID of an ACK disk PV — the volumeHandle of a
// diskplugin.csi.alibabacloud.com CSI volume, the VolumeId (or volumeId)
// option of an alicloud/disk FlexVolume — and "" for every other PV.
func (v *VolumeSnapshotter) GetVolumeID(u runtime.Unstructured) (string, error) {
	pv, err := toPV(u)
	if err != nil {
		return "", err
	}
	return kube.DiskID(pv), nil
}

// SetVolumeID points the PV at the restored disk and moves it to the disk's
// zone and region (labels and node affinity) and size (capacity).
func (v *VolumeSnapshotter) SetVolumeID(u runtime.Unstructured, volumeID string) (runtime.Unstructured, error) {
	if err := v.initialized(); err != nil {
		return nil, err
	}
	pv, err := toPV(u)
	if err != nil {
		return nil, err
	}
	switch {
	case pv.Spec.CSI != nil && pv.Spec.CSI.Driver == kube.DiskCSIDriver:
		pv.Spec.CSI.VolumeHandle = volumeID
	case pv.Spec.FlexVolume != nil && pv.Spec.FlexVolume.Driver == kube.DiskFlexDriver:
		opts := pv.Spec.FlexVolume.Options
		if opts == nil {
			opts = map[string]string{}
			pv.Spec.FlexVolume.Options = opts
		}
		if _, upper := opts["VolumeId"]; upper {
			opts["VolumeId"] = volumeID
		}
		if _, lower := opts["volumeId"]; lower || opts["VolumeId"] == "" {
			opts["volumeId"] = volumeID
		}
	default:
		return nil, fmt.Errorf("persistent volume %s is not an Alibaba Cloud disk PV (CSI driver %s or FlexVolume %s); only disk type PVs support cross-region restore in current version", pv.Name, kube.DiskCSIDriver, kube.DiskFlexDriver)
	}
	info, err := v.restoredDisk(volumeID)
	if err != nil {
		return nil, fmt.Errorf("setting disk %s on persistent volume %s: %w", volumeID, pv.Name, err)
	}
	moveToZone(pv, v.cfg.region, info.zone)
	if info.sizeGiB > 0 {
		if pv.Spec.Capacity == nil {
			pv.Spec.Capacity = corev1.ResourceList{}
		}
		pv.Spec.Capacity[corev1.ResourceStorage] = *resource.NewQuantity(info.sizeGiB<<30, resource.BinarySI)
	}
	out, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pv)
	if err != nil {
		return nil, fmt.Errorf("converting persistent volume %s: %w", pv.Name, err)
	}
	return &unstructured.Unstructured{Object: out}, nil
}

// restoredDisk is the zone and size of a disk CreateVolumeFromSnapshot made,
// from memory or, in another process, from ECS.
func (v *VolumeSnapshotter) restoredDisk(id string) (diskInfo, error) {
	v.mu.Lock()
	info, ok := v.restored[id]
	delete(v.restored, id)
	v.mu.Unlock()
	if ok {
		return info, nil
	}
	d, err := v.describeDisk(v.cfg.region, id)
	if err != nil {
		return diskInfo{}, err
	}
	return diskInfo{zone: tea.StringValue(d.ZoneId), sizeGiB: int64(tea.Int32Value(d.Size)), category: tea.StringValue(d.Category)}, nil
}

// moveToZone rewrites the PV's zone and region labels and node-affinity
// terms. A PV without zone affinity gets one: the disk attaches only there.
func moveToZone(pv *corev1.PersistentVolume, region, zone string) {
	for _, k := range zoneKeys {
		if _, ok := pv.Labels[k]; ok {
			pv.Labels[k] = zone
		}
	}
	for _, k := range regionKeys {
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
			case slices.Contains(zoneKeys, e.Key):
				e.Operator, e.Values = corev1.NodeSelectorOpIn, []string{zone}
				hasZone = true
			case slices.Contains(regionKeys, e.Key):
				e.Operator, e.Values = corev1.NodeSelectorOpIn, []string{region}
			}
		}
		if !hasZone {
			term.MatchExpressions = append(term.MatchExpressions, corev1.NodeSelectorRequirement{
				Key: defaultZoneKey, Operator: corev1.NodeSelectorOpIn, Values: []string{zone},
			})
		}
	}
}

func toPV(u runtime.Unstructured) (*corev1.PersistentVolume, error) {
	pv := new(corev1.PersistentVolume)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), pv); err != nil {
		return nil, fmt.Errorf("reading persistent volume: %w", err)
	}
	return pv, nil
}
