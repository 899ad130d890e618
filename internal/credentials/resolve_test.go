package credentials

import (
	"reflect"
	"strings"
	"testing"

	cred "github.com/aliyun/credentials-go/credentials"
)

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// fields renders the set fields of a credentials-go Config for comparison.
func fields(c cred.Config) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(c)
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() == reflect.Pointer && !f.IsNil() {
			out[v.Type().Field(i).Name] = f.Elem().Interface()
		}
	}
	return out
}

func TestResolveBuildsCredentialsGoConfig(t *testing.T) {
	const role = "acs:ram::1234567890:role/velero"
	const oidcARN = "acs:ram::1234567890:oidc-provider/ack-rrsa-c1"
	dotenvAK := "ALIBABA_CLOUD_ACCESS_KEY_ID=" + testID + "\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + testSecret + "\n"
	tests := []struct {
		name       string
		env        map[string]string
		file       string // content of credentialsFile
		envFile    string // content of ALIBABA_CLOUD_CREDENTIALS_FILE
		profile    string
		sts        string
		want       map[string]any
		wantSource string
	}{
		{
			name: "env access key",
			env:  map[string]string{envAccessKeyID: testID, envAccessKeySecret: testSecret},
			want: map[string]any{"Type": "access_key", "AccessKeyId": testID, "AccessKeySecret": testSecret},
		},
		{
			name: "env STS token",
			env:  map[string]string{envAccessKeyID: testID, envAccessKeySecret: testSecret, envSecurityToken: testToken},
			want: map[string]any{"Type": "sts", "AccessKeyId": testID, "AccessKeySecret": testSecret, "SecurityToken": testToken},
		},
		{
			name: "env AssumeRole with regional VPC STS",
			env: map[string]string{envAccessKeyID: testID, envAccessKeySecret: testSecret, envRoleARN: role,
				envRoleSessionName: "backup", envSTSRegion: "cn-beijing", envVPCEndpoint: "true"},
			want: map[string]any{"Type": "ram_role_arn", "AccessKeyId": testID, "AccessKeySecret": testSecret, "RoleArn": role,
				"RoleSessionName": "backup", "RoleSessionExpiration": 3600, "STSEndpoint": "sts-vpc.cn-beijing.aliyuncs.com"},
			wantSource: "AssumeRole " + role,
		},
		{
			name: "env RRSA",
			env:  map[string]string{envRoleARN: role, envOIDCProviderARN: oidcARN, envOIDCTokenFile: "/var/run/secrets/ack.alibabacloud.com/rrsa-tokens/token"},
			want: map[string]any{"Type": "oidc_role_arn", "RoleArn": role, "OIDCProviderArn": oidcARN,
				"OIDCTokenFilePath": "/var/run/secrets/ack.alibabacloud.com/rrsa-tokens/token", "RoleSessionName": defaultSessionName,
				"RoleSessionExpiration": 3600, "STSEndpoint": "sts.aliyuncs.com"},
			wantSource: "RRSA",
		},
		{
			name:       "env ECS RAM role",
			env:        map[string]string{envECSMetadata: "KubernetesWorkerRole"},
			want:       map[string]any{"Type": "ecs_ram_role", "RoleName": "KubernetesWorkerRole"},
			wantSource: "environment (ECS RAM role KubernetesWorkerRole",
		},
		{
			name: "STSEndpoint option overrides region",
			env:  map[string]string{envRoleARN: role, envOIDCProviderARN: oidcARN, envOIDCTokenFile: "/t", envSTSRegion: "cn-beijing"},
			sts:  "https://127.0.0.1:8443/",
			want: map[string]any{"Type": "oidc_role_arn", "RoleArn": role, "OIDCProviderArn": oidcARN, "OIDCTokenFilePath": "/t",
				"RoleSessionName": defaultSessionName, "RoleSessionExpiration": 3600, "STSEndpoint": "127.0.0.1:8443"},
		},
		{
			name:       "credentialsFile wins over env",
			env:        map[string]string{envAccessKeyID: "ENVID", envAccessKeySecret: "envsecret"},
			file:       dotenvAK,
			want:       map[string]any{"Type": "access_key", "AccessKeyId": testID, "AccessKeySecret": testSecret},
			wantSource: "credentialsFile",
		},
		{
			name:       "ALIBABA_CLOUD_CREDENTIALS_FILE wins over env keys",
			env:        map[string]string{envAccessKeyID: "ENVID", envAccessKeySecret: "envsecret"},
			envFile:    dotenvAK,
			want:       map[string]any{"Type": "access_key", "AccessKeyId": testID, "AccessKeySecret": testSecret},
			wantSource: envCredentialsFile,
		},
		{
			name: "dotenv upstream STS token and RAM role names",
			file: dotenvAK + "ALIBABA_CLOUD_ACCESS_STS_TOKEN=" + testToken + "\n",
			want: map[string]any{"Type": "sts", "AccessKeyId": testID, "AccessKeySecret": testSecret, "SecurityToken": testToken},
		},
		{
			name: "dotenv RAM role",
			file: "ALIBABA_CLOUD_RAM_ROLE=VeleroRole\n",
			want: map[string]any{"Type": "ecs_ram_role", "RoleName": "VeleroRole"},
		},
		{
			name: "INI default ram_role_arn",
			file: "[default]\ntype = ram_role_arn\naccess_key_id = " + testID + "\naccess_key_secret = " + testSecret +
				"\nrole_arn = " + role + "\nrole_session_name = s\nrole_session_expiration = 1800\nsts_region = cn-hangzhou\nexternal_id = ext\n",
			want: map[string]any{"Type": "ram_role_arn", "AccessKeyId": testID, "AccessKeySecret": testSecret, "RoleArn": role,
				"RoleSessionName": "s", "RoleSessionExpiration": 1800, "STSEndpoint": "sts.cn-hangzhou.aliyuncs.com", "ExternalId": "ext"},
			wantSource: "profile [default]",
		},
		{
			name:    "INI profile from ALIBABA_CLOUD_PROFILE",
			env:     map[string]string{envProfile: "node"},
			file:    "[default]\ntype = access_key\naccess_key_id = a\naccess_key_secret = b\n[node]\ntype = ecs_ram_role\nrole_name = R\n",
			want:    map[string]any{"Type": "ecs_ram_role", "RoleName": "R"},
			profile: "",
		},
		{
			name:    "INI profile option",
			file:    "[default]\ntype = access_key\naccess_key_id = a\naccess_key_secret = b\n[p2]\ntype = sts\naccess_key_id = " + testID + "\naccess_key_secret = " + testSecret + "\nsecurity_token = " + testToken + "\n",
			profile: "p2",
			want:    map[string]any{"Type": "sts", "AccessKeyId": testID, "AccessKeySecret": testSecret, "SecurityToken": testToken},
		},
		{
			name: "INI oidc",
			file: "[default]\ntype = oidc_role_arn\nrole_arn = " + role + "\noidc_provider_arn = " + oidcARN + "\noidc_token_file_path = /tok\n",
			want: map[string]any{"Type": "oidc_role_arn", "RoleArn": role, "OIDCProviderArn": oidcARN, "OIDCTokenFilePath": "/tok",
				"RoleSessionName": defaultSessionName, "RoleSessionExpiration": 3600, "STSEndpoint": "sts.aliyuncs.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = v
			}
			o := Options{Getenv: envFrom(env), STSEndpoint: tt.sts, Profile: tt.profile}
			if tt.file != "" {
				o.CredentialsFile = writeFile(t, tt.file)
			}
			if tt.envFile != "" {
				env[envCredentialsFile] = writeFile(t, tt.envFile)
			}
			pl, err := resolve(o, "BackupStorageLocation", o.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			if got := fields(pl.cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config:\n got %v\nwant %v", got, tt.want)
			}
			if !strings.Contains(pl.source, tt.wantSource) {
				t.Errorf("source %q does not mention %q", pl.source, tt.wantSource)
			}
			assertNoSecret(t, "source", pl.source)
			// The provider builds from the plan without touching the network.
			if _, err := fromPlan("BackupStorageLocation", pl, o); err != nil {
				t.Fatalf("fromPlan: %v", err)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		file    string
		profile string
		sts     string
		wantErr []string
	}{
		{"nothing configured", nil, "", "", "", []string{"none found", "credentialsFile in the VolumeSnapshotLocation config", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_ECS_METADATA"}},
		{"id without secret", map[string]string{envAccessKeyID: testID}, "", "", "", []string{"ALIBABA_CLOUD_ACCESS_KEY_SECRET is missing"}},
		{"secret without id", map[string]string{envAccessKeySecret: testSecret}, "", "", "", []string{"ALIBABA_CLOUD_ACCESS_KEY_ID is missing"}},
		{"token alone", map[string]string{envSecurityToken: testToken}, "", "", "", []string{"security token is set without"}},
		{"incomplete RRSA", map[string]string{envRoleARN: "acs:ram::1:role/x", envOIDCTokenFile: "/t"}, "", "", "", []string{"ALIBABA_CLOUD_OIDC_PROVIDER_ARN is missing"}},
		{"keys and RAM role", nil, "ALIBABA_CLOUD_ACCESS_KEY_ID=a\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + testSecret + "\nALIBABA_CLOUD_RAM_ROLE=r\n", "", "", []string{"both access keys and an ECS RAM role"}},
		{"keys and RRSA", map[string]string{envAccessKeyID: testID, envAccessKeySecret: testSecret, envOIDCTokenFile: "/t"}, "", "", "", []string{"both access keys and RRSA"}},
		{"role ARN alone", map[string]string{envRoleARN: "acs:ram::1:role/x"}, "", "", "", []string{"ALIBABA_CLOUD_ROLE_ARN needs either"}},
		{"http STS endpoint", map[string]string{envRoleARN: "acs:ram::1:role/x", envOIDCProviderARN: "p", envOIDCTokenFile: "/t"}, "", "", "http://127.0.0.1:1", []string{"only calls STS over https"}},
		{"VPC STS without region", map[string]string{envRoleARN: "acs:ram::1:role/x", envOIDCProviderARN: "p", envOIDCTokenFile: "/t", envVPCEndpoint: "true"}, "", "", "", []string{"needs ALIBABA_CLOUD_STS_REGION"}},
		{"two tokens in file", nil, "ALIBABA_CLOUD_ACCESS_KEY_ID=a\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + testSecret + "\nALIBABA_CLOUD_SECURITY_TOKEN=" + testToken + "\nALIBABA_CLOUD_ACCESS_STS_TOKEN=other\n", "", "", []string{"not both"}},
		{"file without credentials", nil, "ALIBABA_CLOUD_STS_REGION=cn-hangzhou\n", "", "", []string{"names no credentials"}},
		{"missing profile", nil, "[default]\ntype = access_key\naccess_key_id = a\naccess_key_secret = b\n", "prod", "", []string{"has no profile [prod]", "profiles: default"}},
		{"profile on dotenv", nil, "ALIBABA_CLOUD_ACCESS_KEY_ID=a\n", "prod", "", []string{"dotenv"}},
		{"short session", nil, "[default]\ntype = ram_role_arn\naccess_key_id = a\naccess_key_secret = " + testSecret + "\nrole_arn = acs:ram::1:role/x\nrole_session_expiration = 60\n", "", "", []string{"line 6", "at least 900"}},
		{"missing file", nil, "", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Kind: "VolumeSnapshotLocation", Getenv: envFrom(tt.env), Profile: tt.profile, STSEndpoint: tt.sts}
			if tt.file != "" {
				o.CredentialsFile = writeFile(t, tt.file)
			}
			if tt.name == "missing file" {
				o.CredentialsFile = "/nonexistent/velero/credentials"
				tt.wantErr = []string{`credentialsFile`, "/nonexistent/velero/credentials", "no such file"}
			}
			_, err := New(o)
			if err == nil {
				t.Fatal("want an error")
			}
			if strings.Contains(err.Error(), "VolumeSnapshotLocation credentials") {
				t.Errorf("New's error carries the prefix its caller adds: %v", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
}

func TestResolveReadsOnlyGetenv(t *testing.T) {
	// The process environment holds keys, the Getenv of this location none:
	// New must not fall back to os env behind Getenv's back.
	t.Setenv(envAccessKeyID, "OSENVID")
	t.Setenv(envAccessKeySecret, "osenvsecret")
	if _, err := New(Options{Getenv: envFrom(nil)}); err == nil || !strings.Contains(err.Error(), "none found") {
		t.Fatalf("want 'none found', got %v", err)
	}
	p, err := New(Options{Getenv: envFrom(map[string]string{envAccessKeyID: testID, envAccessKeySecret: testSecret})})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Get()
	if err != nil || c.AccessKeyID != testID || c.AccessKeySecret != testSecret {
		t.Fatalf("got %v, %v", c, err)
	}
}
