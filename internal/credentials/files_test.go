package credentials

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	testID     = "LTAI5tEXAMPLEID"
	testSecret = "s3cr3tVALUEnotForLogs"
	testToken  = "CAISsecurityTOKENvalue"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cloud")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{testSecret, testToken} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains a secret: %s", what, s)
		}
	}
}

func TestParseDotenv(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[string]string
		wantErr []string // substrings of the error, "" = success
	}{
		{
			name:    "upstream plugin format",
			content: "ALIBABA_CLOUD_ACCESS_KEY_ID=" + testID + "\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + testSecret + "\n",
			want:    map[string]string{envAccessKeyID: testID, envAccessKeySecret: testSecret},
		},
		{
			name: "comments, blanks, export, quotes, CRLF, inline comment",
			content: "\ufeff# velero credentials\r\n\r\nexport ALIBABA_CLOUD_ACCESS_KEY_ID=\"" + testID + "\"\r\n" +
				"ALIBABA_CLOUD_ACCESS_KEY_SECRET='" + testSecret + "'  # the secret\r\n" +
				"  ALIBABA_CLOUD_ACCESS_STS_TOKEN = " + testToken + " # sts\r\n",
			want: map[string]string{envAccessKeyID: testID, envAccessKeySecret: testSecret, envSTSToken: testToken},
		},
		{
			name:    "RAM role only",
			content: "ALIBABA_CLOUD_RAM_ROLE=KubernetesWorkerRole\n",
			want:    map[string]string{envRAMRole: "KubernetesWorkerRole"},
		},
		{
			name:    "empty value is allowed",
			content: "ALIBABA_CLOUD_ACCESS_KEY_ID=" + testID + "\nALIBABA_CLOUD_SECURITY_TOKEN=\n",
			want:    map[string]string{envAccessKeyID: testID, envSecurityToken: ""},
		},
		{
			name:    "unknown key names the key and the valid ones",
			content: "ALIBABA_CLOUD_ACCESS_KEY_ID=" + testID + "\n\nALIBABA_CLOUD_ACCESS_KEY=" + testSecret + "\n",
			wantErr: []string{"line 3", `unknown variable "ALIBABA_CLOUD_ACCESS_KEY"`, "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_RAM_ROLE"},
		},
		{
			name:    "line without =, e.g. a pasted secret",
			content: "ALIBABA_CLOUD_ACCESS_KEY_ID=" + testID + "\n" + testSecret + "\n",
			wantErr: []string{"line 2", "expected KEY=VALUE"},
		},
		{
			name:    "empty name",
			content: "# x\n=" + testSecret + "\n",
			wantErr: []string{"line 2", "empty variable name"},
		},
		{
			name:    "unterminated quote",
			content: "ALIBABA_CLOUD_ACCESS_KEY_SECRET=\"" + testSecret + "\n",
			wantErr: []string{"line 1", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "unterminated \" quote"},
		},
		{
			name:    "text after closing quote",
			content: "ALIBABA_CLOUD_ACCESS_KEY_SECRET='" + testSecret + "'x\n",
			wantErr: []string{"line 1", "after the closing ' quote"},
		},
		{
			name:    "duplicate key",
			content: "ALIBABA_CLOUD_ACCESS_KEY_ID=a\nALIBABA_CLOUD_ACCESS_KEY_ID=b\n",
			wantErr: []string{"line 2", "already set on line 1"},
		},
		{
			name:    "nothing set",
			content: "# only a comment\n\n",
			wantErr: []string{"sets no variables"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			got, err := parseDotenv(path, []byte(tt.content))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("want error, got %v", got)
				}
				for _, w := range append(tt.wantErr, path) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				assertNoSecret(t, "error", err.Error())
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d variables, want %d", len(got), len(tt.want))
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s: got %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestParseINI(t *testing.T) {
	tests := []struct {
		name    string
		content string
		profile string
		want    map[string]string // keys of the selected profile
		wantErr []string
	}{
		{
			name: "default access_key profile",
			content: "; Alibaba Cloud credentials\n[default]\nenable = true\ntype = access_key\naccess_key_id = " + testID +
				"\naccess_key_secret = \"" + testSecret + "\"\n\n[other]\ntype = ecs_ram_role\nrole_name = r\n",
			profile: "default",
			want:    map[string]string{"enable": "true", "type": "access_key", "access_key_id": testID, "access_key_secret": testSecret},
		},
		{
			name:    "named oidc profile",
			content: "[default]\ntype = ecs_ram_role\nrole_name = r\n[rrsa]\ntype = oidc_role_arn\nrole_arn = acs:ram::1:role/x\noidc_provider_arn = acs:ram::1:oidc-provider/ack\noidc_token_file_path = /var/run/token\n",
			profile: "rrsa",
			want:    map[string]string{"type": "oidc_role_arn", "role_arn": "acs:ram::1:role/x", "oidc_provider_arn": "acs:ram::1:oidc-provider/ack", "oidc_token_file_path": "/var/run/token"},
		},
		{
			name:    "sts with sts_token alias",
			content: "[default]\ntype = sts\naccess_key_id = " + testID + "\naccess_key_secret = " + testSecret + "\nsts_token = " + testToken + "\n",
			profile: "default",
			want:    map[string]string{"type": "sts", "access_key_id": testID, "access_key_secret": testSecret, "sts_token": testToken},
		},
		{
			name: "aws shared-credentials keys beside the Alibaba ones (kopia's S3 backend reads the same file)",
			content: "[default]\ntype = access_key\naccess_key_id = " + testID + "\naccess_key_secret = " + testSecret +
				"\naws_access_key_id = " + testID + "\naws_secret_access_key = " + testSecret + "\n",
			profile: "default",
			want: map[string]string{"type": "access_key", "access_key_id": testID, "access_key_secret": testSecret,
				"aws_access_key_id": testID, "aws_secret_access_key": testSecret},
		},
		{
			name:    "key outside a section",
			content: "# x\naccess_key_id = " + testID + "\n[default]\n",
			wantErr: []string{"line 2", `key "access_key_id" is outside any [profile] section`},
		},
		{
			name:    "unclosed section",
			content: "[default\ntype = access_key\n",
			wantErr: []string{"line 1", "missing its closing ']'"},
		},
		{
			name:    "line without =",
			content: "[default]\ntype = access_key\n" + testSecret + "\n",
			wantErr: []string{"line 3", "expected 'key = value'"},
		},
		{
			name:    "duplicate profile",
			content: "[default]\ntype = access_key\n[default]\n",
			wantErr: []string{"line 3", "already defined on line 1"},
		},
		{
			name:    "duplicate key",
			content: "[default]\ntype = access_key\ntype = sts\n",
			wantErr: []string{"line 3", `key "type" is already set on line 2`},
		},
		{
			name:    "unknown key for type",
			content: "[default]\ntype = access_key\naccess_key_id = a\naccess_key_secret = " + testSecret + "\nrole_name = r\n",
			profile: "default",
			wantErr: []string{"line 5", `unknown key "role_name" for type access_key`, "valid keys are: enable, type, access_key_id, access_key_secret"},
		},
		{
			name:    "unsupported type",
			content: "[default]\ntype = rsa_key_pair\n",
			profile: "default",
			wantErr: []string{"line 2", `unsupported type "rsa_key_pair"`, "oidc_role_arn"},
		},
		{
			name:    "missing type",
			content: "\n[default]\naccess_key_id = a\n",
			profile: "default",
			wantErr: []string{"line 2", "has no 'type'"},
		},
		{
			name:    "missing required key",
			content: "[default]\ntype = ram_role_arn\naccess_key_id = a\naccess_key_secret = " + testSecret + "\n",
			profile: "default",
			wantErr: []string{"line 1", "type ram_role_arn needs role_arn"},
		},
		{
			name:    "sts without token",
			content: "[default]\ntype = sts\naccess_key_id = a\naccess_key_secret = " + testSecret + "\n",
			profile: "default",
			wantErr: []string{"line 1", "needs security_token"},
		},
		{
			name:    "disabled profile",
			content: "[default]\nenable = false\ntype = access_key\naccess_key_id = a\naccess_key_secret = " + testSecret + "\n",
			profile: "default",
			wantErr: []string{"line 2", "is disabled"},
		},
		{
			name:    "bad enable",
			content: "[default]\nenable = yes\ntype = access_key\naccess_key_id = a\naccess_key_secret = " + testSecret + "\n",
			profile: "default",
			wantErr: []string{"line 2", "enable must be true or false"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			profiles, err := parseINI(path, []byte(tt.content))
			if err == nil && tt.profile != "" {
				p, ok := profiles[tt.profile]
				if !ok {
					t.Fatalf("no profile %q", tt.profile)
				}
				err = p.validate(path)
				if err == nil && tt.wantErr == nil {
					if len(p.keys) != len(tt.want) {
						t.Fatalf("got %d keys, want %d", len(p.keys), len(tt.want))
					}
					for k, v := range tt.want {
						if p.keys[k] != v {
							t.Errorf("%s: got %q, want %q", k, p.keys[k], v)
						}
					}
				}
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range append(tt.wantErr, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
}

func TestIsINI(t *testing.T) {
	for content, want := range map[string]bool{
		"# c\n\n[default]\n":              true,
		"; c\n  [x]":                      true,
		"ALIBABA_CLOUD_ACCESS_KEY_ID=a\n": false,
		"# [default]\nexport A=b\n":       false,
		"":                                false,
	} {
		if got := isINI([]byte(content)); got != want {
			t.Errorf("isINI(%q) = %v, want %v", content, got, want)
		}
	}
}
