// Package policy loads the bundle's RAM policy, examples/ram-policy.json,
// for the emulators; its test proves the policy grants exactly the actions
// the plugin code calls.
//
// The policy names its bucket with the placeholder Bucket
// ("velero-backups"); Load substitutes the bucket a test uses, so the
// end-to-end stack (bucket "velero-e2e") runs under the very file users
// attach, with only the bucket name changed.
package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ram"
)

// File is the policy's path from the repository root.
const File = "examples/ram-policy.json"

// Bucket is the placeholder bucket name in File.
const Bucket = "velero-backups"

// Load reads File under repoRoot, replaces the placeholder bucket in its OSS
// resources (acs:oss:*:*:velero-backups[/*]) with bucket, and parses it.
func Load(repoRoot, bucket string) (*ram.Policy, error) {
	data, err := os.ReadFile(filepath.Join(repoRoot, File))
	if err != nil {
		return nil, err
	}
	doc := string(data)
	placeholder := "acs:oss:*:*:" + Bucket
	if !strings.Contains(doc, placeholder) {
		return nil, fmt.Errorf("%s: no OSS resource %q to substitute the bucket into", File, placeholder)
	}
	doc = strings.ReplaceAll(doc, placeholder, "acs:oss:*:*:"+bucket)
	p, err := ram.Parse([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", File, err)
	}
	return p, nil
}
