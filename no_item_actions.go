//go:build noitemactions

package main

import "github.com/vmware-tanzu/velero/pkg/plugin/framework"

// registerItemActions, in a binary built with the noitemactions tag,
// registers no item action: the Velero server still gets the ObjectStore its
// BackupStorageLocation needs and the VolumeSnapshotter, but none of the
// bundle's restore or backup item actions. The restore-overhead benchmark
// (test/e2e) builds its "without actions" plugin this way
// (`go build -tags noitemactions`).
func registerItemActions(s framework.Server) framework.Server { return s }
