package main

import (
	"io"
	"os"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/sirupsen/logrus"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
	objectstore "github.com/alibabacloud/velero-plugin-for-alibabacloud/object-store"
	volumesnapshotter "github.com/alibabacloud/velero-plugin-for-alibabacloud/volume-snapshotter"
)

// helmChartKeys are the key paths of the vmware-tanzu/velero chart's
// values.yaml (chart 12.1.0, Velero 1.18.1; vmware-tanzu/helm-charts
// charts/velero/values.yaml at 73466ca) that examples/helm-values.yaml may
// use. "[]" stands for a list item; the locations' config maps are the
// plugins' own and are checked by the plugins instead.
var helmChartKeys = map[string]bool{
	"initContainers": true, "initContainers[].name": true, "initContainers[].image": true,
	"initContainers[].imagePullPolicy": true, "initContainers[].volumeMounts": true,
	"initContainers[].volumeMounts[].mountPath": true, "initContainers[].volumeMounts[].name": true,
	"configuration": true, "configuration.backupStorageLocation": true,
	"configuration.backupStorageLocation[].name": true, "configuration.backupStorageLocation[].provider": true,
	"configuration.backupStorageLocation[].bucket": true, "configuration.backupStorageLocation[].caCert": true,
	"configuration.backupStorageLocation[].prefix": true, "configuration.backupStorageLocation[].default": true,
	"configuration.backupStorageLocation[].accessMode": true, "configuration.backupStorageLocation[].credential": true,
	"configuration.backupStorageLocation[].credential.name": true, "configuration.backupStorageLocation[].credential.key": true,
	"configuration.backupStorageLocation[].config": true,
	"configuration.volumeSnapshotLocation":         true, "configuration.volumeSnapshotLocation[].name": true,
	"configuration.volumeSnapshotLocation[].provider": true, "configuration.volumeSnapshotLocation[].credential": true,
	"configuration.volumeSnapshotLocation[].credential.name": true, "configuration.volumeSnapshotLocation[].credential.key": true,
	"configuration.volumeSnapshotLocation[].config": true,
	"credentials": true, "credentials.useSecret": true, "credentials.name": true, "credentials.existingSecret": true,
	"credentials.secretContents": true, "credentials.secretContents.cloud": true,
	"snapshotsEnabled": true, "backupsEnabled": true,
}

// TestHelmValues: every key of examples/helm-values.yaml is one the chart
// has, the location configs pass the plugins' own validation, and the
// plugin init container mounts the chart's plugins volume at /target.
func TestHelmValues(t *testing.T) {
	raw, err := os.ReadFile("examples/helm-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.UnmarshalStrict(raw, &values); err != nil {
		t.Fatal(err)
	}
	var unknown []string
	walkKeys("", values, func(path string) {
		if !helmChartKeys[path] {
			unknown = append(unknown, path)
		}
	})
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("keys the chart does not have: %s", strings.Join(unknown, ", "))
	}

	var v struct {
		InitContainers []struct {
			VolumeMounts []struct{ MountPath, Name string } `json:"volumeMounts"`
		} `json:"initContainers"`
		Configuration struct {
			BSL []struct {
				Provider string            `json:"provider"`
				Config   map[string]string `json:"config"`
			} `json:"backupStorageLocation"`
			VSL []struct {
				Provider string            `json:"provider"`
				Config   map[string]string `json:"config"`
			} `json:"volumeSnapshotLocation"`
		} `json:"configuration"`
	}
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.InitContainers) != 1 || len(v.InitContainers[0].VolumeMounts) != 1 ||
		v.InitContainers[0].VolumeMounts[0] != (struct{ MountPath, Name string }{"/target", "plugins"}) {
		t.Errorf("init container %+v; want one mounting the chart's plugins volume at /target", v.InitContainers)
	}
	// Velero hands each plugin's Init the location's config with the
	// credential file it made from the Secret.
	creds := testutil.CredentialsFile(t, "LTAI5tHelmExample", "helm-example-secret", "")
	log := logrus.New()
	log.SetOutput(io.Discard)
	for _, l := range v.Configuration.BSL {
		l.Config["credentialsFile"] = creds
		if err := objectstore.NewObjectStore(log).Init(l.Config); l.Provider != "alibabacloud" || err != nil {
			t.Errorf("backupStorageLocation provider %q config %v: %v", l.Provider, l.Config, err)
		}
	}
	for _, l := range v.Configuration.VSL {
		l.Config["credentialsFile"] = creds
		if err := volumesnapshotter.NewVolumeSnapshotter(log).Init(l.Config); l.Provider != "alibabacloud" || err != nil {
			t.Errorf("volumeSnapshotLocation provider %q config %v: %v", l.Provider, l.Config, err)
		}
	}
}

// walkKeys calls f with the path of every key below v; the entries of the
// locations' config maps are not walked.
func walkKeys(prefix string, v any, f func(string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			path := strings.TrimPrefix(prefix+"."+k, ".")
			f(path)
			if k != "config" {
				walkKeys(path, child, f)
			}
		}
	case []any:
		for _, item := range v {
			walkKeys(prefix+"[]", item, f)
		}
	}
}
