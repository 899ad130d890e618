package credentials

import (
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestExampleSecret: every credentials file in examples/credentials-secret.yaml
// is one the plugin reads, in its own format, with valid profiles; the
// file-system-backup form also carries the AWS keys kopia reads.
func TestExampleSecret(t *testing.T) {
	raw, err := os.ReadFile("../../examples/credentials-secret.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var secret struct {
		StringData map[string]string `json:"stringData"`
	}
	if err := yaml.Unmarshal(raw, &secret); err != nil {
		t.Fatal(err)
	}
	if len(secret.StringData) < 3 {
		t.Fatalf("the example Secret has %d files, want the dotenv, INI and file-system-backup forms", len(secret.StringData))
	}
	for key, file := range secret.StringData {
		t.Run(key, func(t *testing.T) {
			data := []byte(file)
			if !isINI(data) {
				if _, err := parseDotenv(key, data); err != nil {
					t.Fatalf("dotenv: %v", err)
				}
				return
			}
			profiles, err := parseINI(key, data)
			if err != nil {
				t.Fatalf("INI: %v", err)
			}
			p := profiles["default"]
			if p == nil {
				t.Fatalf("INI has no [default] profile: %v", profiles)
			}
			if err := p.validate(key); err != nil {
				t.Fatalf("[default]: %v", err)
			}
		})
	}
	fs := secret.StringData["cloud-fs-backup"]
	for _, k := range []string{"aws_access_key_id", "aws_secret_access_key", "access_key_id", "access_key_secret"} {
		if !containsLine(fs, k) {
			t.Errorf("cloud-fs-backup lacks %s", k)
		}
	}
}

func containsLine(file, key string) bool {
	for _, l := range lines([]byte(file)) {
		if k, _, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == key {
			return true
		}
	}
	return false
}
