package credentials

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/alibabacloud-go/tea/tea"
	cred "github.com/aliyun/credentials-go/credentials"
)

const (
	defaultSessionName     = "velero-alibabacloud"
	defaultSessionDuration = 3600 // seconds, the STS default
	minSessionDuration     = 900  // STS minimum
)

// plan is a resolved credential source: the credentials-go Config that
// describes it and a secret-free description for messages and logs.
type plan struct {
	cfg    cred.Config
	source string
}

// resolveVars builds a plan from ALIBABA_CLOUD_* variables (the process
// environment or a dotenv file). It returns nil, nil when get yields none of
// the variables that select a source. The order follows credentials-go's
// default chain: access keys (with ALIBABA_CLOUD_ROLE_ARN: AssumeRole), then
// RRSA/OIDC, then the ECS RAM role.
func resolveVars(get func(string) string, origin, stsEndpoint string) (*plan, error) {
	id, secret := get(envAccessKeyID), get(envAccessKeySecret)
	token := get(envSecurityToken)
	if t := get(envSTSToken); t != "" {
		if token != "" && token != t {
			return nil, fmt.Errorf("%s: set %s or %s, not both", origin, envSecurityToken, envSTSToken)
		}
		token = t
	}
	roleARN := get(envRoleARN)
	oidcProvider, oidcFile := get(envOIDCProviderARN), get(envOIDCTokenFile)
	ramRole := get(envECSMetadata)
	if r := get(envRAMRole); r != "" {
		if ramRole != "" && ramRole != r {
			return nil, fmt.Errorf("%s: %s and %s name different roles; set one", origin, envECSMetadata, envRAMRole)
		}
		ramRole = r
	}
	endpoint, err := stsEndpointFor(stsEndpoint, get(envSTSRegion), get(envVPCEndpoint))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", origin, err)
	}
	session := get(envRoleSessionName)
	if session == "" {
		session = defaultSessionName
	}

	hasKeys := id != "" || secret != ""
	switch {
	case hasKeys && ramRole != "":
		return nil, fmt.Errorf("%s: both access keys and an ECS RAM role (%s/%s) are set; set one source", origin, envRAMRole, envECSMetadata)
	case hasKeys && (oidcProvider != "" || oidcFile != ""):
		return nil, fmt.Errorf("%s: both access keys and RRSA variables (%s, %s) are set; set one source", origin, envOIDCProviderARN, envOIDCTokenFile)
	case hasKeys:
		if id == "" {
			return nil, fmt.Errorf("%s: %s is set but %s is missing", origin, envAccessKeySecret, envAccessKeyID)
		}
		if secret == "" {
			return nil, fmt.Errorf("%s: %s is set but %s is missing", origin, envAccessKeyID, envAccessKeySecret)
		}
		if roleARN != "" {
			c := cred.Config{Type: tea.String("ram_role_arn"), AccessKeyId: tea.String(id), AccessKeySecret: tea.String(secret),
				RoleArn: tea.String(roleARN), RoleSessionName: tea.String(session),
				RoleSessionExpiration: tea.Int(defaultSessionDuration), STSEndpoint: tea.String(endpoint)}
			if token != "" {
				c.SecurityToken = tea.String(token)
			}
			return newPlan(origin, c), nil
		}
		if token != "" {
			return newPlan(origin, cred.Config{Type: tea.String("sts"), AccessKeyId: tea.String(id), AccessKeySecret: tea.String(secret),
				SecurityToken: tea.String(token)}), nil
		}
		return newPlan(origin, cred.Config{Type: tea.String("access_key"), AccessKeyId: tea.String(id), AccessKeySecret: tea.String(secret)}), nil
	case token != "":
		return nil, fmt.Errorf("%s: a security token is set without %s and %s", origin, envAccessKeyID, envAccessKeySecret)
	case oidcProvider != "" || oidcFile != "":
		for _, v := range []struct{ name, value string }{{envRoleARN, roleARN}, {envOIDCProviderARN, oidcProvider}, {envOIDCTokenFile, oidcFile}} {
			if v.value == "" {
				return nil, fmt.Errorf("%s: RRSA (OIDC) needs %s, %s and %s; %s is missing",
					origin, envRoleARN, envOIDCProviderARN, envOIDCTokenFile, v.name)
			}
		}
		return newPlan(origin, cred.Config{Type: tea.String("oidc_role_arn"), RoleArn: tea.String(roleARN),
			OIDCProviderArn: tea.String(oidcProvider), OIDCTokenFilePath: tea.String(oidcFile),
			RoleSessionName: tea.String(session), RoleSessionExpiration: tea.Int(defaultSessionDuration),
			STSEndpoint: tea.String(endpoint)}), nil
	case roleARN != "":
		return nil, fmt.Errorf("%s: %s needs either %s and %s (AssumeRole) or %s and %s (RRSA)",
			origin, envRoleARN, envAccessKeyID, envAccessKeySecret, envOIDCProviderARN, envOIDCTokenFile)
	case ramRole != "":
		return newPlan(origin, cred.Config{Type: tea.String("ecs_ram_role"), RoleName: tea.String(ramRole)}), nil
	}
	return nil, nil
}

// resolveProfile builds a plan from a validated INI profile.
func resolveProfile(p *iniProfile, origin, stsEndpoint string) (*plan, error) {
	k := p.keys
	typ := k["type"]
	origin = fmt.Sprintf("%s profile [%s]", origin, p.name)
	fail := func(key, msg string) error {
		return fmt.Errorf("%s line %d: %s", origin, p.at[key], msg)
	}
	endpoint := stsEndpoint
	if endpoint == "" && k["sts_endpoint"] != "" {
		endpoint = k["sts_endpoint"]
	}
	endpoint, err := stsEndpointFor(endpoint, k["sts_region"], "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", origin, err)
	}
	duration := defaultSessionDuration
	if v, ok := k["role_session_expiration"]; ok {
		d, err := strconv.Atoi(v)
		if err != nil || d < minSessionDuration {
			return nil, fail("role_session_expiration", fmt.Sprintf("role_session_expiration must be a number of seconds, at least %d", minSessionDuration))
		}
		duration = d
	}
	session := k["role_session_name"]
	if session == "" {
		session = defaultSessionName
	}
	c := cred.Config{Type: tea.String(typ)}
	switch typ {
	case "access_key":
		c.AccessKeyId, c.AccessKeySecret = tea.String(k["access_key_id"]), tea.String(k["access_key_secret"])
		return newPlan(origin, c), nil
	case "sts":
		c.AccessKeyId, c.AccessKeySecret = tea.String(k["access_key_id"]), tea.String(k["access_key_secret"])
		c.SecurityToken = tea.String(p.token())
		return newPlan(origin, c), nil
	case "ecs_ram_role":
		if k["role_name"] == "" {
			return nil, fmt.Errorf("%s: type ecs_ram_role needs role_name (the RAM role attached to the node)", origin)
		}
		c.RoleName = tea.String(k["role_name"])
		return newPlan(origin, c), nil
	case "ram_role_arn":
		c.AccessKeyId, c.AccessKeySecret = tea.String(k["access_key_id"]), tea.String(k["access_key_secret"])
		if t := p.token(); t != "" {
			c.SecurityToken = tea.String(t)
		}
		c.RoleArn, c.RoleSessionName, c.RoleSessionExpiration = tea.String(k["role_arn"]), tea.String(session), tea.Int(duration)
		c.STSEndpoint = tea.String(endpoint)
		setOptional(&c.Policy, k["policy"])
		setOptional(&c.ExternalId, k["external_id"])
		return newPlan(origin, c), nil
	case "oidc_role_arn":
		c.RoleArn, c.OIDCProviderArn = tea.String(k["role_arn"]), tea.String(k["oidc_provider_arn"])
		c.OIDCTokenFilePath = tea.String(k["oidc_token_file_path"])
		c.RoleSessionName, c.RoleSessionExpiration = tea.String(session), tea.Int(duration)
		c.STSEndpoint = tea.String(endpoint)
		setOptional(&c.Policy, k["policy"])
		return newPlan(origin, c), nil
	}
	return nil, fmt.Errorf("%s: unsupported type %q", origin, typ) // validate() already refused it
}

// newPlan is the plan for c, whose source names origin and, without
// secrets, the credentials.
func newPlan(origin string, c cred.Config) *plan {
	id := tea.StringValue(c.AccessKeyId)
	var source string
	switch tea.StringValue(c.Type) {
	case "access_key":
		source = fmt.Sprintf("%s (access key %s)", origin, id)
	case "sts":
		source = fmt.Sprintf("%s (STS token, access key %s)", origin, id)
	case "ecs_ram_role":
		source = fmt.Sprintf("%s (ECS RAM role %s from instance metadata)", origin, tea.StringValue(c.RoleName))
	case "ram_role_arn":
		source = fmt.Sprintf("%s (AssumeRole %s with access key %s)", origin, tea.StringValue(c.RoleArn), id)
	case "oidc_role_arn":
		source = fmt.Sprintf("%s (RRSA: AssumeRoleWithOIDC %s)", origin, tea.StringValue(c.RoleArn))
	}
	return &plan{c, source}
}

func setOptional(dst **string, v string) {
	if v != "" {
		*dst = tea.String(v)
	}
}

// stsEndpointFor returns the STS host credentials-go should call. credentials-go
// always speaks HTTPS, so an explicit endpoint is a host[:port], optionally
// with an https:// prefix.
func stsEndpointFor(explicit, region, vpc string) (string, error) {
	if explicit != "" {
		if strings.HasPrefix(explicit, "http://") {
			return "", fmt.Errorf("STS endpoint %q: credentials-go only calls STS over https; use host[:port] or https://host[:port]", explicit)
		}
		host := strings.TrimSuffix(strings.TrimPrefix(explicit, "https://"), "/")
		if host == "" || strings.ContainsAny(host, "/?# ") {
			return "", fmt.Errorf("STS endpoint %q: want host[:port], e.g. sts-vpc.cn-hangzhou.aliyuncs.com", explicit)
		}
		return host, nil
	}
	prefix := "sts"
	if strings.EqualFold(vpc, "true") {
		prefix = "sts-vpc"
	}
	if region != "" {
		return fmt.Sprintf("%s.%s.aliyuncs.com", prefix, region), nil
	}
	if prefix == "sts-vpc" {
		return "", fmt.Errorf("%s=true needs %s (the VPC STS endpoint is regional)", envVPCEndpoint, envSTSRegion)
	}
	return "sts.aliyuncs.com", nil
}
