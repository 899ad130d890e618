// The plugin binary of the restore-overhead benchmark's "without actions"
// runs: the product's main.go (built with `go build -overlay` in place of it)
// minus the item-action registrations, so the Velero server still has the
// ObjectStore its BackupStorageLocation needs but no bundle actions apply.
// Keep it in step with main.go.
package main

import (
	"os"
	"runtime/debug"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"

	objectstore "github.com/alibabacloud/velero-plugin-for-alibabacloud/object-store"
	volumesnapshotter "github.com/alibabacloud/velero-plugin-for-alibabacloud/volume-snapshotter"
)

const providerName = "velero.io/alibabacloud"

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	framework.NewServer().
		BindFlags(pflag.CommandLine).
		RegisterObjectStore(providerName, newObjectStore).
		RegisterVolumeSnapshotter(providerName, newVolumeSnapshotter).
		Serve()
}

func newObjectStore(log logrus.FieldLogger) (interface{}, error) {
	return objectstore.NewObjectStore(log), nil
}

func newVolumeSnapshotter(log logrus.FieldLogger) (interface{}, error) {
	return volumesnapshotter.NewVolumeSnapshotter(log), nil
}
