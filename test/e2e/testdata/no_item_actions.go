// Replaces the product's item_actions.go (go build -overlay) in the plugin
// binary of the restore-overhead benchmark's "without actions" runs: the
// Velero server still gets the ObjectStore its BackupStorageLocation needs,
// but no item action of the bundle.
package main

import "github.com/vmware-tanzu/velero/pkg/plugin/framework"

func registerItemActions(s framework.Server) framework.Server { return s }
