// Package credentials is the one credential provider behind both the OSS
// ObjectStore and the ECS VolumeSnapshotter.
//
// Sources, first match wins: the location's credentialsFile (Velero copies
// the BSL/VSL credential secret to a file), else ALIBABA_CLOUD_CREDENTIALS_FILE,
// else the ambient ALIBABA_CLOUD_* variables (access keys, AssumeRole, RRSA /
// OIDC, ECS RAM role). A file is either the upstream plugin's dotenv format or
// the INI profile format of Alibaba Cloud's credential tooling.
//
// Fetching, caching and refreshing temporary credentials is done by
// github.com/aliyun/credentials-go providers, which this package configures
// explicitly from what it read: nothing here reads or writes the process
// environment behind Options.Getenv, so two locations with different
// credentials work side by side in one plugin process.
package credentials

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	cred "github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/credentials-go/credentials/providers"
	"github.com/sirupsen/logrus"
)

// Options configures New.
type Options struct {
	Kind            string              // "BackupStorageLocation" or "VolumeSnapshotLocation", for messages
	CredentialsFile string              // config key credentialsFile (Velero sets it from the BSL/VSL credential secret)
	Getenv          func(string) string // nil = os.Getenv; never os.Setenv anything
	STSEndpoint     string              // optional override, host[:port] (tests point it at the emulator)
	Logger          logrus.FieldLogger

	// Profile selects the [section] of an INI credentials file; empty means
	// ALIBABA_CLOUD_PROFILE (through Getenv), else "default".
	Profile string
	// MetadataProxy, when set, is an http:// proxy URL through which ECS
	// instance-metadata requests (to 100.100.100.200) are sent. credentials-go
	// has no metadata host override; tests use this to reach the metadata
	// emulator, which serves requests addressed to 100.100.100.200.
	MetadataProxy string
}

// Credentials is one access key, with its STS security token when it is
// temporary. Expiration is zero for long-lived keys and for sources whose
// lifetime credentials-go does not report (ECS RAM role); for STS sources it
// is a conservative estimate (request time + requested DurationSeconds).
type Credentials struct {
	AccessKeyID, AccessKeySecret, SecurityToken string
	Expiration                                  time.Time
}

const redacted = "<redacted>"

// String redacts the secret and the token so that credentials printed by
// mistake (%v, %+v, %s, logrus fields) leak nothing.
func (c Credentials) String() string {
	exp := "none"
	if !c.Expiration.IsZero() {
		exp = c.Expiration.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("Credentials{AccessKeyID: %s, AccessKeySecret: %s, SecurityToken: %s, Expiration: %s}",
		c.AccessKeyID, mask(c.AccessKeySecret), mask(c.SecurityToken), exp)
}

// GoString redacts for %#v as well.
func (c Credentials) GoString() string { return c.String() }

// MarshalJSON redacts for JSON-formatted logs.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"AccessKeyID": c.AccessKeyID, "AccessKeySecret": mask(c.AccessKeySecret),
		"SecurityToken": mask(c.SecurityToken), "Expiration": c.Expiration,
	})
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// Provider hands out the credentials of one location. It is safe for
// concurrent use; callers share one fetch.
type Provider struct {
	kind     string
	source   string // where the credentials come from, secret-free
	typeName string // credentials-go type: access_key, sts, ram_role_arn, oidc_role_arn, ecs_ram_role
	inner    providers.CredentialsProvider
	lifetime time.Duration // of each fetched credential when known, else 0
	log      logrus.FieldLogger
	now      func() time.Time

	mu         sync.Mutex // serialises inner (credentials-go providers are not concurrency-safe)
	cur        Credentials
	have       bool
	retryAfter time.Time // after a failed refresh, serve cur without asking inner until then
	secrets    []string  // values scrubbed from errors and logs
}

// retryInterval bounds how often a failing refresh is retried while the
// current credentials are still valid.
const retryInterval = 10 * time.Second

// New resolves the credential source once (a malformed file or an incomplete
// environment fails here, at Init) and returns its provider. It makes no
// network call.
func New(o Options) (*Provider, error) {
	kind := o.Kind
	if kind == "" {
		kind = "location"
	}
	get := o.Getenv
	if get == nil {
		get = os.Getenv
	}
	// Init wraps New's errors as "<Kind> credentials: %w", so they carry no
	// prefix of their own; Get's errors surface in operations and do.
	pl, err := resolve(o, kind, get)
	if err != nil {
		return nil, err
	}
	p, err := fromPlan(kind, pl, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", pl.source, scrub(err.Error(), planSecrets(pl)))
	}
	p.log.WithField("credentialsSource", p.source).Info("using Alibaba Cloud credentials")
	return p, nil
}

func resolve(o Options, kind string, get func(string) string) (*plan, error) {
	path, origin := o.CredentialsFile, "credentialsFile"
	if path == "" {
		path, origin = get(envCredentialsFile), envCredentialsFile
	}
	if path == "" {
		pl, err := resolveVars(get, "environment", o.STSEndpoint)
		if err == nil && pl == nil {
			err = errors.New("none found: set credentialsFile in the " + kind + " config (Velero sets it from the location's " +
				"credential secret), or ALIBABA_CLOUD_CREDENTIALS_FILE, or ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, " +
				"or ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and ALIBABA_CLOUD_OIDC_TOKEN_FILE (RRSA), " +
				"or ALIBABA_CLOUD_ECS_METADATA (the node's RAM role name)")
		}
		return pl, err
	}
	data, err := readCredentialsFile(origin, path)
	origin = fmt.Sprintf("%s %q", origin, path)
	if err != nil {
		return nil, err
	}
	if isINI(data) {
		profiles, err := parseINI(path, data)
		if err != nil {
			return nil, err
		}
		name := o.Profile
		if name == "" {
			name = get(envProfile)
		}
		if name == "" {
			name = defaultProfileName
		}
		prof, ok := profiles[name]
		if !ok {
			return nil, &fileError{path: path, msg: fmt.Sprintf("has no profile [%s]; profiles: %s", name, strings.Join(sortedKeys(profiles), ", "))}
		}
		if err := prof.validate(path); err != nil {
			return nil, err
		}
		return resolveProfile(prof, origin, o.STSEndpoint)
	}
	if o.Profile != "" {
		return nil, &fileError{path: path, msg: fmt.Sprintf("profile %q was requested but the file is in dotenv (KEY=VALUE) format, not INI", o.Profile)}
	}
	vars, err := parseDotenv(path, data)
	if err != nil {
		return nil, err
	}
	pl, err := resolveVars(func(k string) string { return vars[k] }, origin, o.STSEndpoint)
	if err == nil && pl == nil {
		err = &fileError{path: path, msg: "names no credentials; set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or ALIBABA_CLOUD_RAM_ROLE"}
	}
	return pl, err
}

// fromPlan builds the credentials-go provider for pl. The builders read a few
// os variables only when a value is left empty, so every value is set here.
func fromPlan(kind string, pl *plan, o Options) (*Provider, error) {
	c := pl.cfg
	p := &Provider{kind: kind, source: pl.source, typeName: tea.StringValue(c.Type), log: o.Logger, now: time.Now,
		secrets: planSecrets(pl)}
	if p.log == nil {
		p.log = logrus.StandardLogger()
	}
	var err error
	switch p.typeName {
	case "access_key", "sts":
		p.inner, err = staticProvider(c)
	case "ecs_ram_role":
		p.inner, err = providers.NewECSRAMRoleCredentialsProviderBuilder().
			WithRoleName(tea.StringValue(c.RoleName)).
			WithHttpOptions(&providers.HttpOptions{Proxy: o.MetadataProxy}).
			Build()
	case "ram_role_arn":
		var prev providers.CredentialsProvider
		if prev, err = staticProvider(c); err != nil {
			return nil, err
		}
		p.inner, err = providers.NewRAMRoleARNCredentialsProviderBuilder().
			WithCredentialsProvider(prev).
			WithRoleArn(tea.StringValue(c.RoleArn)).
			WithRoleSessionName(tea.StringValue(c.RoleSessionName)).
			WithDurationSeconds(tea.IntValue(c.RoleSessionExpiration)).
			WithPolicy(tea.StringValue(c.Policy)).
			WithExternalId(tea.StringValue(c.ExternalId)).
			WithStsEndpoint(tea.StringValue(c.STSEndpoint)).
			Build()
		p.lifetime = time.Duration(tea.IntValue(c.RoleSessionExpiration)) * time.Second
	case "oidc_role_arn":
		p.inner, err = providers.NewOIDCCredentialsProviderBuilder().
			WithRoleArn(tea.StringValue(c.RoleArn)).
			WithOIDCProviderARN(tea.StringValue(c.OIDCProviderArn)).
			WithOIDCTokenFilePath(tea.StringValue(c.OIDCTokenFilePath)).
			WithRoleSessionName(tea.StringValue(c.RoleSessionName)).
			WithDurationSeconds(tea.IntValue(c.RoleSessionExpiration)).
			WithPolicy(tea.StringValue(c.Policy)).
			WithSTSEndpoint(tea.StringValue(c.STSEndpoint)).
			Build()
		p.lifetime = time.Duration(tea.IntValue(c.RoleSessionExpiration)) * time.Second
	default:
		err = fmt.Errorf("unsupported credential type %q", p.typeName)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

func staticProvider(c cred.Config) (providers.CredentialsProvider, error) {
	if tea.StringValue(c.SecurityToken) != "" {
		return providers.NewStaticSTSCredentialsProviderBuilder().
			WithAccessKeyId(tea.StringValue(c.AccessKeyId)).
			WithAccessKeySecret(tea.StringValue(c.AccessKeySecret)).
			WithSecurityToken(tea.StringValue(c.SecurityToken)).
			Build()
	}
	return providers.NewStaticAKCredentialsProviderBuilder().
		WithAccessKeyId(tea.StringValue(c.AccessKeyId)).
		WithAccessKeySecret(tea.StringValue(c.AccessKeySecret)).
		Build()
}

func planSecrets(pl *plan) []string {
	return []string{tea.StringValue(pl.cfg.AccessKeySecret), tea.StringValue(pl.cfg.SecurityToken)}
}

// StaticForTest returns a provider of fixed keys, for tests.
func StaticForTest(id, secret, token string) *Provider {
	c := cred.Config{Type: tea.String("access_key"), AccessKeyId: tea.String(id), AccessKeySecret: tea.String(secret)}
	if token != "" {
		c.Type, c.SecurityToken = tea.String("sts"), tea.String(token)
	}
	p, err := fromPlan("test", &plan{cfg: c, source: "StaticForTest"}, Options{})
	if err != nil {
		panic(fmt.Sprintf("credentials.StaticForTest: %v", err)) // only with an empty id or secret: a broken test
	}
	return p
}

// Type is the credentials-go type of the source: access_key, sts, ecs_ram_role,
// ram_role_arn or oidc_role_arn.
func (p *Provider) Type() string { return p.typeName }

// Get returns the current credentials. credentials-go caches temporary ones
// and fetches new ones only within 180 s of their expiry; concurrent callers
// wait for one fetch. When a refresh fails while the current credentials are
// still valid, Get logs a warning and returns them.
func (p *Provider) Get() (Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := p.now()
	if p.have && start.Before(p.retryAfter) {
		return p.cur, nil
	}
	c, err := p.inner.GetCredentials()
	if err != nil {
		err = fmt.Errorf("%s credentials from %s: %s", p.kind, p.source, p.scrub(err.Error()))
		if p.have && !p.cur.Expiration.IsZero() && start.Before(p.cur.Expiration) {
			p.retryAfter = minTime(start.Add(retryInterval), p.cur.Expiration)
			p.log.WithError(err).WithField("expiration", p.cur.Expiration.UTC().Format(time.RFC3339)).
				Warn("refreshing Alibaba Cloud credentials failed; using the current ones until they expire")
			return p.cur, nil
		}
		return Credentials{}, err
	}
	p.retryAfter = time.Time{}
	if !p.have || c.AccessKeyId != p.cur.AccessKeyID || c.AccessKeySecret != p.cur.AccessKeySecret || c.SecurityToken != p.cur.SecurityToken {
		p.cur = Credentials{AccessKeyID: c.AccessKeyId, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
		if p.lifetime > 0 {
			p.cur.Expiration = start.Add(p.lifetime)
		}
		p.secrets = append(p.secrets[:min(len(p.secrets), 2)], c.AccessKeySecret, c.SecurityToken)
		if p.have || p.lifetime > 0 || p.typeName == "ecs_ram_role" {
			p.log.WithFields(logrus.Fields{"credentialsSource": p.source, "accessKeyID": c.AccessKeyId}).
				Debug("obtained temporary Alibaba Cloud credentials")
		}
		p.have = true
	}
	return p.cur, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (p *Provider) scrub(s string) string { return scrub(s, p.secrets) }

// scrub replaces every secret, raw or URL-escaped (STS echoes its
// string-to-sign, which holds the caller's security token), with <redacted>.
func scrub(s string, secrets []string) string {
	var forms []string
	for _, v := range secrets {
		if len(v) < 4 {
			continue
		}
		once := url.QueryEscape(v)
		rpc := strings.ReplaceAll(once, "+", "%20") // RPC percent-encoding
		forms = append(forms, v, once, rpc, url.QueryEscape(once), url.QueryEscape(rpc))
	}
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	for _, f := range forms {
		s = strings.ReplaceAll(s, f, redacted)
	}
	return s
}

// OSS adapts p to the OSS SDK (oss.SetCredentialsProvider). The SDK calls
// GetCredentialsE before signing each request, so a failure surfaces as an
// error of that request.
func (p *Provider) OSS() oss.CredentialsProvider { return ossProvider{p} }

type ossProvider struct{ p *Provider }

type ossCredentials struct{ c Credentials }

func (c ossCredentials) GetAccessKeyID() string     { return c.c.AccessKeyID }
func (c ossCredentials) GetAccessKeySecret() string { return c.c.AccessKeySecret }
func (c ossCredentials) GetSecurityToken() string   { return c.c.SecurityToken }

// GetCredentialsE implements oss.CredentialsProviderE.
func (o ossProvider) GetCredentialsE() (oss.Credentials, error) {
	c, err := o.p.Get()
	if err != nil {
		return nil, err
	}
	return ossCredentials{c}, nil
}

// GetCredentials is used by SDK paths without an error return (signed URLs);
// on failure it logs and returns empty keys, which OSS then rejects.
func (o ossProvider) GetCredentials() oss.Credentials {
	c, err := o.p.Get()
	if err != nil {
		o.p.log.WithError(err).Error("getting Alibaba Cloud credentials for OSS failed")
	}
	return ossCredentials{c}
}

// OpenAPI adapts p to credentials-go's Credential interface, for
// darabonba-openapi's Config.Credential (the ECS client). darabonba calls
// GetCredential before each request.
func (p *Provider) OpenAPI() cred.Credential { return openAPICredential{p} }

type openAPICredential struct{ p *Provider }

func (o openAPICredential) GetCredential() (*cred.CredentialModel, error) {
	c, err := o.p.Get()
	if err != nil {
		return nil, err
	}
	typ := "access_key"
	if c.SecurityToken != "" {
		typ = "sts"
	}
	return &cred.CredentialModel{
		AccessKeyId: tea.String(c.AccessKeyID), AccessKeySecret: tea.String(c.AccessKeySecret),
		SecurityToken: tea.String(c.SecurityToken), Type: tea.String(typ),
		ProviderName: tea.String("velero-plugin-for-alibabacloud/" + o.p.typeName),
	}, nil
}

func (o openAPICredential) GetAccessKeyId() (*string, error) {
	c, err := o.p.Get()
	return tea.String(c.AccessKeyID), err
}

func (o openAPICredential) GetAccessKeySecret() (*string, error) {
	c, err := o.p.Get()
	return tea.String(c.AccessKeySecret), err
}

func (o openAPICredential) GetSecurityToken() (*string, error) {
	c, err := o.p.Get()
	return tea.String(c.SecurityToken), err
}

func (o openAPICredential) GetBearerToken() *string { return tea.String("") }

func (o openAPICredential) GetType() *string { return tea.String(o.p.typeName) }
