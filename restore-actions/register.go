package restoreactions

import (
	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
	riav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/restoreitemaction/v2"
)

// Initializers maps each RestoreItemAction's name to its initializer.
func Initializers() map[string]common.HandlerInitializer {
	return map[string]common.HandlerInitializer{
		NameImageRegistryMapping: NewImageRegistryMappingAction,
		NameDiskMinimumSize:      NewDiskMinimumSizeAction,
		NameSLBListeners:         NewSLBListenersAction,
		NameStorageClassMapping:  NewStorageClassMappingAction,
		NameFlexVolumeToCSI:      NewFlexVolumeToCSIAction,
		NameCrossRegionVolumes:   NewCrossRegionVolumesAction,
		NameIngressMapping:       NewIngressMappingAction,
	}
}

var (
	_ riav2.RestoreItemAction = (*ImageRegistryMappingAction)(nil)
	_ riav2.RestoreItemAction = (*DiskMinimumSizeAction)(nil)
	_ riav2.RestoreItemAction = (*SLBListenersAction)(nil)
	_ riav2.RestoreItemAction = (*StorageClassMappingAction)(nil)
	_ riav2.RestoreItemAction = (*FlexVolumeToCSIAction)(nil)
	_ riav2.RestoreItemAction = (*CrossRegionVolumesAction)(nil)
	_ riav2.RestoreItemAction = (*IngressMappingAction)(nil)
)
