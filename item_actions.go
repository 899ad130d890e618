package main

import (
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"

	backupactions "github.com/alibabacloud/velero-plugin-for-alibabacloud/backup-actions"
	restoreactions "github.com/alibabacloud/velero-plugin-for-alibabacloud/restore-actions"
)

// registerItemActions registers the bundle's restore and backup item
// actions. It has a file of its own so that the restore-overhead benchmark
// (test/e2e) can build the plugin without them by replacing this file alone
// (test/e2e/testdata/no_item_actions.go).
func registerItemActions(s framework.Server) framework.Server {
	return s.RegisterRestoreItemActionsV2(restoreactions.Initializers()).
		RegisterBackupItemActionsV2(backupactions.Initializers())
}
