package backupactions

import (
	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
)

// Initializers maps each BackupItemAction's name to its initializer.
func Initializers() map[string]common.HandlerInitializer {
	return map[string]common.HandlerInitializer{
		NameDiskTopology: NewDiskTopologyAction,
		NameVolumeRegion: NewVolumeRegionAction,
	}
}
