package credentials

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
)

// The variables a dotenv credentials file may set. They are the names the
// upstream velero-plugin-for-alibabacloud reads (ALIBABA_CLOUD_ACCESS_STS_TOKEN,
// ALIBABA_CLOUD_RAM_ROLE) plus the credentials-go environment variables, so a
// file and the pod environment describe credentials the same way.
const (
	envAccessKeyID      = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	envAccessKeySecret  = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	envSecurityToken    = "ALIBABA_CLOUD_SECURITY_TOKEN"
	envSTSToken         = "ALIBABA_CLOUD_ACCESS_STS_TOKEN" // upstream plugin's name for the security token
	envRAMRole          = "ALIBABA_CLOUD_RAM_ROLE"         // upstream plugin's name for the ECS RAM role
	envECSMetadata      = "ALIBABA_CLOUD_ECS_METADATA"
	envRoleARN          = "ALIBABA_CLOUD_ROLE_ARN"
	envRoleSessionName  = "ALIBABA_CLOUD_ROLE_SESSION_NAME"
	envOIDCProviderARN  = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"
	envOIDCTokenFile    = "ALIBABA_CLOUD_OIDC_TOKEN_FILE"
	envSTSRegion        = "ALIBABA_CLOUD_STS_REGION"
	envVPCEndpoint      = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED"
	envCredentialsFile  = "ALIBABA_CLOUD_CREDENTIALS_FILE"
	envProfile          = "ALIBABA_CLOUD_PROFILE"
	defaultProfileName  = "default"
	maxCredentialsBytes = 1 << 20
)

var dotenvKeys = []string{
	envAccessKeyID, envAccessKeySecret, envSecurityToken, envSTSToken, envRAMRole,
	envECSMetadata, envRoleARN, envRoleSessionName, envOIDCProviderARN, envOIDCTokenFile,
	envSTSRegion, envVPCEndpoint,
}

// fileError is a malformed credentials file. It names the file, the line and
// the problem, never the offending text (it may hold a secret).
type fileError struct {
	path string
	line int // 0 = whole file
	msg  string
}

func (e *fileError) Error() string {
	if e.line == 0 {
		return fmt.Sprintf("credentials file %q: %s", e.path, e.msg)
	}
	return fmt.Sprintf("credentials file %q line %d: %s", e.path, e.line, e.msg)
}

// readCredentialsFile reads path; origin names the setting that named it
// (credentialsFile or ALIBABA_CLOUD_CREDENTIALS_FILE).
func readCredentialsFile(origin, path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: credentials file %q cannot be read: %w", origin, path, err)
	}
	if fi.IsDir() {
		return nil, &fileError{path: path, msg: "is a directory, want a file"}
	}
	if fi.Size() > maxCredentialsBytes {
		return nil, &fileError{path: path, msg: fmt.Sprintf("is %d bytes, a credentials file is at most 1 MiB", fi.Size())}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: credentials file %q cannot be read: %w", origin, path, err)
	}
	return data, nil
}

// isINI reports whether the first meaningful line of data opens an INI section.
func isINI(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), maxCredentialsBytes)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		return line[0] == '['
	}
	return false
}

// lines splits data into lines, accepting CRLF and a UTF-8 BOM.
func lines(data []byte) []string {
	s := strings.TrimPrefix(string(data), "\ufeff")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Split(s, "\n")
}

// parseDotenv parses the upstream plugin's KEY=VALUE format: blank lines and
// '#' comments are skipped, an "export " prefix is allowed, values may be
// single- or double-quoted; an unquoted value ends at " #".
func parseDotenv(path string, data []byte) (map[string]string, error) {
	valid := make(map[string]bool, len(dotenvKeys))
	for _, k := range dotenvKeys {
		valid[k] = true
	}
	vars := map[string]string{}
	seen := map[string]int{}
	for i, raw := range lines(data) {
		n := i + 1
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export "); ok {
			line = strings.TrimSpace(rest)
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, &fileError{path, n, "expected KEY=VALUE (no '=' found)"}
		}
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, &fileError{path, n, "empty variable name before '='"}
		}
		if !valid[key] {
			if strings.ContainsAny(key, " \t\"'") {
				return nil, &fileError{path, n, "malformed variable name before '='"}
			}
			return nil, &fileError{path, n, fmt.Sprintf("unknown variable %q; valid variables are: %s",
				key, strings.Join(sortedCopy(dotenvKeys), ", "))}
		}
		if prev, dup := seen[key]; dup {
			return nil, &fileError{path, n, fmt.Sprintf("%s is already set on line %d", key, prev)}
		}
		v, err := unquote(strings.TrimSpace(value))
		if err != nil {
			return nil, &fileError{path, n, fmt.Sprintf("value of %s: %v", key, err)}
		}
		seen[key] = n
		vars[key] = v
	}
	if len(vars) == 0 {
		return nil, &fileError{path: path, msg: "sets no variables; want ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or ALIBABA_CLOUD_RAM_ROLE)"}
	}
	return vars, nil
}

// unquote strips matching quotes. Errors describe the problem without the value.
func unquote(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	switch q := v[0]; q {
	case '"', '\'':
		end := strings.LastIndexByte(v, q)
		if end == 0 {
			return "", fmt.Errorf("unterminated %c quote", q)
		}
		if rest := strings.TrimSpace(v[end+1:]); rest != "" && !strings.HasPrefix(rest, "#") {
			return "", fmt.Errorf("unexpected text after the closing %c quote", q)
		}
		inner := v[1:end]
		if q == '"' {
			inner = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\n`, "\n").Replace(inner)
		}
		return inner, nil
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	if strings.ContainsAny(v, `"'`) {
		return "", fmt.Errorf("stray quote in an unquoted value (quote the whole value)")
	}
	return v, nil
}

// iniProfile is one [section] of an INI credentials file.
type iniProfile struct {
	name string
	line int
	keys map[string]string
	at   map[string]int // key -> line
}

// iniKeys lists the keys valid for each profile type; "type" and "enable" are
// valid everywhere. The names are those of Alibaba Cloud's credentials file
// (~/.alibabacloud/credentials.ini) as credentials-go reads it.
var iniKeys = map[string][]string{
	"access_key":    {"access_key_id", "access_key_secret"},
	"sts":           {"access_key_id", "access_key_secret", "security_token", "sts_token"},
	"ecs_ram_role":  {"role_name"},
	"ram_role_arn":  {"access_key_id", "access_key_secret", "security_token", "sts_token", "role_arn", "role_session_name", "role_session_expiration", "policy", "external_id", "sts_endpoint", "sts_region"},
	"oidc_role_arn": {"role_arn", "oidc_provider_arn", "oidc_token_file_path", "role_session_name", "role_session_expiration", "policy", "sts_endpoint", "sts_region"},
}

// parseINI parses an INI credentials file into its profiles.
func parseINI(path string, data []byte) (map[string]*iniProfile, error) {
	profiles := map[string]*iniProfile{}
	var cur *iniProfile
	for i, raw := range lines(data) {
		n := i + 1
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return nil, &fileError{path, n, "section header is missing its closing ']'"}
			}
			if rest := strings.TrimSpace(line[end+1:]); rest != "" && rest[0] != '#' && rest[0] != ';' {
				return nil, &fileError{path, n, "unexpected text after the section header"}
			}
			name := strings.TrimSpace(line[1:end])
			if name == "" {
				return nil, &fileError{path, n, "empty section name"}
			}
			if prev, dup := profiles[name]; dup {
				return nil, &fileError{path, n, fmt.Sprintf("profile [%s] is already defined on line %d", name, prev.line)}
			}
			cur = &iniProfile{name: name, line: n, keys: map[string]string{}, at: map[string]int{}}
			profiles[name] = cur
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, &fileError{path, n, "expected 'key = value' or '[profile]' (no '=' found)"}
		}
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, &fileError{path, n, "empty key before '='"}
		}
		if cur == nil {
			return nil, &fileError{path, n, fmt.Sprintf("key %q is outside any [profile] section", key)}
		}
		if prev, dup := cur.at[key]; dup {
			return nil, &fileError{path, n, fmt.Sprintf("key %q is already set on line %d", key, prev)}
		}
		v, err := unquote(strings.TrimSpace(value))
		if err != nil {
			return nil, &fileError{path, n, fmt.Sprintf("value of %s: %v", key, err)}
		}
		cur.keys[key] = v
		cur.at[key] = n
	}
	if len(profiles) == 0 {
		return nil, &fileError{path: path, msg: "has no [profile] section"}
	}
	return profiles, nil
}

// awsSharedKeys may stand beside the Alibaba keys of a profile and are
// ignored here: with s3Url in a location's config, Velero's kopia repository
// reads the same credential file as an AWS shared-credentials file, so one
// file can serve both the plugin and kopia's S3 backend on OSS.
var awsSharedKeys = []string{"aws_access_key_id", "aws_secret_access_key", "aws_session_token"}

// validate checks the profile's type, keys and required values.
func (p *iniProfile) validate(path string) error {
	typ, ok := p.keys["type"]
	if !ok {
		return &fileError{path, p.line, fmt.Sprintf("profile [%s] has no 'type'; set one of %s", p.name, strings.Join(iniTypes(), ", "))}
	}
	valid, ok := iniKeys[typ]
	if !ok {
		return &fileError{path, p.at["type"], fmt.Sprintf("profile [%s]: unsupported type %q; valid types are: %s", p.name, typ, strings.Join(iniTypes(), ", "))}
	}
	allowed := map[string]bool{"type": true, "enable": true}
	for _, k := range awsSharedKeys {
		allowed[k] = true
	}
	for _, k := range valid {
		allowed[k] = true
	}
	for _, k := range sortedKeys(p.keys) {
		if !allowed[k] {
			return &fileError{path, p.at[k], fmt.Sprintf("profile [%s]: unknown key %q for type %s; valid keys are: %s",
				p.name, k, typ, strings.Join(append([]string{"enable", "type"}, valid...), ", "))}
		}
	}
	if e, ok := p.keys["enable"]; ok && e != "true" && e != "false" {
		return &fileError{path, p.at["enable"], fmt.Sprintf("profile [%s]: enable must be true or false", p.name)}
	}
	if p.keys["enable"] == "false" {
		return &fileError{path, p.at["enable"], fmt.Sprintf("profile [%s] is disabled (enable = false)", p.name)}
	}
	required := map[string][]string{
		"access_key":    {"access_key_id", "access_key_secret"},
		"sts":           {"access_key_id", "access_key_secret"},
		"ram_role_arn":  {"access_key_id", "access_key_secret", "role_arn"},
		"oidc_role_arn": {"role_arn", "oidc_provider_arn", "oidc_token_file_path"},
	}[typ]
	for _, k := range required {
		if p.keys[k] == "" {
			return &fileError{path, p.line, fmt.Sprintf("profile [%s]: type %s needs %s", p.name, typ, k)}
		}
	}
	if typ == "sts" && p.token() == "" {
		return &fileError{path, p.line, fmt.Sprintf("profile [%s]: type sts needs security_token (or sts_token)", p.name)}
	}
	if p.keys["security_token"] != "" && p.keys["sts_token"] != "" {
		return &fileError{path, p.at["sts_token"], fmt.Sprintf("profile [%s]: set security_token or sts_token, not both", p.name)}
	}
	return nil
}

func (p *iniProfile) token() string {
	if t := p.keys["security_token"]; t != "" {
		return t
	}
	return p.keys["sts_token"]
}

func iniTypes() []string { return sortedKeys(iniKeys) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
