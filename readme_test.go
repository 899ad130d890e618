package main

import (
	"os"
	"strings"
	"testing"

	objectstore "github.com/alibabacloud/velero-plugin-for-alibabacloud/object-store"
	restoreactions "github.com/alibabacloud/velero-plugin-for-alibabacloud/restore-actions"
	volumesnapshotter "github.com/alibabacloud/velero-plugin-for-alibabacloud/volume-snapshotter"
)

// TestEveryConfigKeyIsDocumented keeps the README's tables in step with the
// keys the plugins accept, as their config readers know them.
func TestEveryConfigKeyIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	plugins := map[string][]string{
		"ObjectStore":       objectstore.ConfigKeys(),
		"VolumeSnapshotter": volumesnapshotter.ConfigKeys(),
	}
	for name, keys := range plugins {
		if len(keys) == 0 {
			t.Fatalf("%s reports no config keys", name)
		}
		for _, key := range keys {
			if !inTableRow(string(readme), key) {
				t.Errorf("%s config key %q has no row in README.md", name, key)
			}
		}
	}
	for _, key := range restoreactions.ConfigKeys() {
		if !inTableRow(string(readme), key) {
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
