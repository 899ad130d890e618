// Package restoreactions holds the RestoreItemActions (Velero v2 interface)
// that adapt restored applications to the target cluster: image registries,
// StorageClasses, disk sizes, FlexVolume disks, reused load balancers and
// NodePorts, Ingress classes and annotations, and refuse NAS and OSS volumes of another region and warn about
// shared disks.
//
// Each action reads its settings from two ConfigMaps in the Velero namespace:
// a cluster-wide one labelled velero.io/plugin-config and
// alibabacloud.com/<action>: RestoreItemAction (Velero's convention), and an
// optional per-restore one named by the Restore's label
// alibabacloud.com/restore-config. A key set in the per-restore ConfigMap
// replaces the same key of the cluster-wide one.
package restoreactions

import "sort"

// Plugin names, as registered with Velero.
const (
	NameImageRegistryMapping = "alibabacloud.com/image-registry-mapping"
	NameDiskMinimumSize      = "alibabacloud.com/disk-minimum-size"
	NameSLBListeners         = "alibabacloud.com/slb-listeners"
	NameStorageClassMapping  = "alibabacloud.com/storage-class-mapping"
	NameFlexVolumeToCSI      = "alibabacloud.com/flexvolume-to-csi"
	NameCrossRegionVolumes   = "alibabacloud.com/cross-region-volumes"
	NameIngressMapping       = "alibabacloud.com/ingress-mapping"
)

// Setting keys. Each key belongs to one action; only that action's
// cluster-wide ConfigMap may set it, while the per-restore ConfigMap may set
// any of them.
const (
	KeyImageRegistryMapping       = "imageRegistryMapping"
	KeyDiskMinimumSize            = "diskMinimumSize"
	KeyAdjustLoadBalancerServices = "adjustLoadBalancerServices"
	KeyStorageClassMapping        = "storageClassMapping"
	KeyFlexVolumeToCSI            = "flexVolumeToCSI"
	KeyAllowCrossRegionVolumes    = "allowCrossRegionVolumes"
	KeyFailOnSharedDisk           = "failOnSharedDisk"
	KeyPreserveNodePorts          = "preserveNodePorts"
	KeyIngressClassMapping        = "ingressClassMapping"
	KeyIngressAnnotationMapping   = "ingressAnnotationMapping"
	KeyForceOverrideListeners     = "forceOverrideListeners"
	KeyLoadBalancerIDMapping      = "loadBalancerIDMapping"
)

// keyOwner maps each setting key to the action whose cluster-wide ConfigMap
// provides its default.
var keyOwner = map[string]string{
	KeyImageRegistryMapping:       NameImageRegistryMapping,
	KeyDiskMinimumSize:            NameDiskMinimumSize,
	KeyAdjustLoadBalancerServices: NameSLBListeners,
	KeyStorageClassMapping:        NameStorageClassMapping,
	KeyFlexVolumeToCSI:            NameFlexVolumeToCSI,
	KeyAllowCrossRegionVolumes:    NameCrossRegionVolumes,
	KeyFailOnSharedDisk:           NameCrossRegionVolumes,
	KeyPreserveNodePorts:          NameSLBListeners,
	KeyIngressClassMapping:        NameIngressMapping,
	KeyIngressAnnotationMapping:   NameIngressMapping,
	KeyForceOverrideListeners:     NameSLBListeners,
	KeyLoadBalancerIDMapping:      NameSLBListeners,
}

// ConfigKeys returns every setting key the restore item actions accept, in
// sorted order (README.md documents each).
func ConfigKeys() []string {
	keys := allKeys()
	sort.Strings(keys)
	return keys
}

// Labels and well-known names.
const (
	// LabelRestoreConfig on a Restore names its per-restore ConfigMap.
	LabelRestoreConfig = "alibabacloud.com/restore-config"
	labelPluginConfig  = "velero.io/plugin-config"
	pluginKindRIA      = "RestoreItemAction"

	NASCSIDriver = "nasplugin.csi.alibabacloud.com"

	annBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	annStorageProvisioner     = "volume.kubernetes.io/storage-provisioner"
	annDefaultStorageClass    = "storageclass.kubernetes.io/is-default-class"
	annBetaDefaultClass       = "storageclass.beta.kubernetes.io/is-default-class"
)
