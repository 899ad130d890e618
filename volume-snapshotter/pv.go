package volumesnapshotter

import (
	"fmt"

	"github.com/alibabacloud-go/tea/tea"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
)

// GetVolumeID returns the disk ID of an ACK disk PV — the volumeHandle of a
// diskplugin.csi.alibabacloud.com CSI volume, the VolumeId (or volumeId)
// option of an alicloud/disk FlexVolume — and "" for every other PV.
func (v *VolumeSnapshotter) GetVolumeID(u runtime.Unstructured) (string, error) {
	pv, err := toPV(u)
	if err != nil {
		return "", err
	}
	return diskpv.ID(pv), nil
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
	if !diskpv.SetID(pv, volumeID) {
		return nil, fmt.Errorf("persistent volume %s is not an Alibaba Cloud disk PV (CSI driver %s or FlexVolume %s); only disk type PVs support cross-region restore in current version", pv.Name, diskpv.CSIDriver, diskpv.FlexDriver)
	}
	info, err := v.restoredDisk(volumeID)
	if err != nil {
		return nil, fmt.Errorf("setting disk %s on persistent volume %s: %w", volumeID, pv.Name, err)
	}
	diskpv.MoveToZone(pv, v.cfg.region, info.zone)
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

func toPV(u runtime.Unstructured) (*corev1.PersistentVolume, error) {
	pv := new(corev1.PersistentVolume)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), pv); err != nil {
		return nil, fmt.Errorf("reading persistent volume: %w", err)
	}
	return pv, nil
}
