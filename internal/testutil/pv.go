package testutil

import (
	"maps"

	"github.com/vmware-tanzu/velero/pkg/builder"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
)

// PVOption configures the PersistentVolume DiskPV builds. Options may come
// in any order: DiskPV applies them all before it builds the PV.
type PVOption func(*pvSpec)

type pvSpec struct {
	driver      string
	flex        bool
	size        string
	fsType      string
	class       string
	accessModes []corev1.PersistentVolumeAccessMode
	labels      map[string]string
	attrs       map[string]string
	affinity    []corev1.NodeSelectorRequirement
}

// DiskPV is an ACK disk PersistentVolume named name for disk diskID: by
// default a CSI volume of diskpv.CSIDriver with volumeHandle diskID and
// nothing else set (no labels, capacity, fsType, access modes, class or
// node affinity); opts add those.
func DiskPV(name, diskID string, opts ...PVOption) *corev1.PersistentVolume {
	s := &pvSpec{}
	for _, o := range opts {
		o(s)
	}
	b := builder.ForPersistentVolume(name).StorageClass(s.class)
	if len(s.labels) > 0 {
		b = b.ObjectMeta(builder.WithLabelsMap(s.labels))
	}
	if len(s.affinity) > 0 {
		b = b.NodeAffinityRequired(builder.ForNodeSelector(corev1.NodeSelectorTerm{MatchExpressions: s.affinity}).Result())
	}
	if !s.flex {
		driver := s.driver
		if driver == "" {
			driver = diskpv.CSIDriver
		}
		b = b.CSI(driver, diskID)
	}
	pv := b.Result()
	if s.flex {
		driver := s.driver
		if driver == "" {
			driver = diskpv.FlexDriver
		}
		pv.Spec.FlexVolume = &corev1.FlexPersistentVolumeSource{Driver: driver, FSType: s.fsType,
			Options: map[string]string{"volumeId": diskID}}
	} else {
		pv.Spec.CSI.FSType = s.fsType
		pv.Spec.CSI.VolumeAttributes = s.attrs
	}
	if s.size != "" {
		pv.Spec.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(s.size)}
	}
	pv.Spec.AccessModes = s.accessModes
	return pv
}

// InZone pins the PV to zone the way the ACK CSI disk plugin does: a
// required node affinity on diskpv.ZoneKey, and the topology.kubernetes.io/zone
// label.
func InZone(zone string) PVOption {
	return func(s *pvSpec) {
		WithAffinity(diskpv.ZoneKey, zone)(s)
		WithLabels(map[string]string{corev1.LabelTopologyZone: zone})(s)
	}
}

// WithAffinity adds the requirement key In values to the PV's one required
// node selector term, after those added before.
func WithAffinity(key string, values ...string) PVOption {
	return func(s *pvSpec) {
		s.affinity = append(s.affinity, corev1.NodeSelectorRequirement{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values})
	}
}

// WithLabels adds labels to the PV's labels.
func WithLabels(labels map[string]string) PVOption {
	return func(s *pvSpec) {
		if len(labels) == 0 {
			return
		}
		if s.labels == nil {
			s.labels = map[string]string{}
		}
		maps.Copy(s.labels, labels)
	}
}

// WithSize sets the PV's storage capacity, a quantity such as "20Gi".
func WithSize(size string) PVOption { return func(s *pvSpec) { s.size = size } }

// WithFSType sets the fsType of the CSI or FlexVolume source.
func WithFSType(fsType string) PVOption { return func(s *pvSpec) { s.fsType = fsType } }

// WithStorageClass sets the PV's storageClassName.
func WithStorageClass(name string) PVOption { return func(s *pvSpec) { s.class = name } }

// WithAccessModes sets the PV's access modes.
func WithAccessModes(modes ...corev1.PersistentVolumeAccessMode) PVOption {
	return func(s *pvSpec) { s.accessModes = modes }
}

// WithVolumeAttributes sets the CSI source's volumeAttributes.
func WithVolumeAttributes(attrs map[string]string) PVOption {
	return func(s *pvSpec) { s.attrs = attrs }
}

// AsFlexVolume makes the PV an ACK FlexVolume disk PV: driver
// diskpv.FlexDriver with the disk ID in options.volumeId, and no CSI source.
func AsFlexVolume() PVOption { return func(s *pvSpec) { s.flex = true } }

// WithDriver replaces the disk driver (CSI, or FlexVolume with
// AsFlexVolume), for the PVs of other storage that tests tell apart from
// disks; the disk ID argument becomes the volumeHandle (or volumeId option).
func WithDriver(driver string) PVOption { return func(s *pvSpec) { s.driver = driver } }

// Unstructured converts a typed object (with TypeMeta set) to the
// unstructured form Velero hands to plugins. It panics if obj does not
// convert.
func Unstructured(obj runtime.Object) *unstructured.Unstructured {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		panic(err)
	}
	return &unstructured.Unstructured{Object: m}
}
