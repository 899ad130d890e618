package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	objectstore "github.com/alibabacloud/velero-plugin-for-alibabacloud/object-store"
	restoreactions "github.com/alibabacloud/velero-plugin-for-alibabacloud/restore-actions"
	volumesnapshotter "github.com/alibabacloud/velero-plugin-for-alibabacloud/volume-snapshotter"
)

// TestEveryConfigKeyIsDocumented keeps the README's tables in step with the
// keys the plugins accept: the keys are read from the plugins' own "unknown
// key" errors, which list every valid one.
func TestEveryConfigKeyIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	unknown := map[string]string{"no-such-key": "x"}
	plugins := map[string]error{
		"ObjectStore":       objectstore.NewObjectStore(log).Init(unknown),
		"VolumeSnapshotter": volumesnapshotter.NewVolumeSnapshotter(log).Init(unknown),
	}
	for name, err := range plugins {
		if err == nil {
			t.Fatalf("%s accepted an unknown config key", name)
		}
		_, list, ok := strings.Cut(err.Error(), "valid keys are: ")
		if !ok {
			t.Fatalf("%s: unknown-key error does not list the valid keys: %v", name, err)
		}
		for _, key := range strings.Split(list, ", ") {
			if !inTableRow(string(readme), key) {
				t.Errorf("%s config key %q has no row in README.md", name, key)
			}
		}
	}
	for _, key := range []string{restoreactions.KeyImageRegistryMapping, restoreactions.KeyDiskMinimumSize,
		restoreactions.KeyAdjustLoadBalancerServices, restoreactions.KeyStorageClassMapping, restoreactions.KeyFlexVolumeToCSI} {
		if !strings.Contains(string(readme), "`"+key+"`") {
			t.Errorf("restore action setting %q is not in README.md", key)
		}
	}
}

// inTableRow reports whether a Markdown table row of doc names key.
func inTableRow(doc, key string) bool {
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(line, "`"+key+"`") {
			return true
		}
	}
	return false
}
