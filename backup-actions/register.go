package backupactions

import (
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"
)

// Initializers maps each BackupItemAction's name to its initializer.
func Initializers() map[string]common.HandlerInitializer {
	return map[string]common.HandlerInitializer{
		NameDiskTopology: NewDiskTopologyAction,
	}
}

// Register registers every BackupItemAction (v2) with the plugin server.
func Register(s framework.Server) framework.Server {
	return s.RegisterBackupItemActionsV2(Initializers())
}
