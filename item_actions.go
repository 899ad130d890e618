//go:build !noitemactions

package main

import (
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"

	backupactions "github.com/alibabacloud/velero-plugin-for-alibabacloud/backup-actions"
	restoreactions "github.com/alibabacloud/velero-plugin-for-alibabacloud/restore-actions"
)

// registerItemActions registers the bundle's restore and backup item
// actions. Built with the noitemactions tag, no_item_actions.go replaces it
// with one that registers none; the restore-overhead benchmark (test/e2e)
// builds its "without actions" plugin that way.
func registerItemActions(s framework.Server) framework.Server {
	return s.RegisterRestoreItemActionsV2(restoreactions.Initializers()).
		RegisterBackupItemActionsV2(backupactions.Initializers())
}
