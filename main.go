// Command velero-plugin-for-alibabacloud is a Velero plugin bundle for
// Alibaba Cloud: backups in OSS, ECS disk snapshots that restore in another
// region, and restore actions that adapt an application to its target
// cluster.
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

// providerName is the upstream Alibaba plugin's name, kept so that existing
// BackupStorageLocations and VolumeSnapshotLocations with
// `provider: alibabacloud` work when a user swaps the image.
const providerName = "velero.io/alibabacloud"

func main() {
	// Uploads cycle part-sized buffers through Velero's gRPC stream; a lower
	// GC target keeps the process's peak memory near what it holds (measured
	// by make bench). GOGC, when set, still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	registerItemActions(framework.NewServer().
		BindFlags(pflag.CommandLine).
		RegisterObjectStore(providerName, newObjectStore).
		RegisterVolumeSnapshotter(providerName, newVolumeSnapshotter)).
		Serve()
}

func newObjectStore(log logrus.FieldLogger) (interface{}, error) {
	return objectstore.NewObjectStore(log), nil
}

func newVolumeSnapshotter(log logrus.FieldLogger) (interface{}, error) {
	return volumesnapshotter.NewVolumeSnapshotter(log), nil
}
