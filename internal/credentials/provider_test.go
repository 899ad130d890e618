package credentials_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/credentials"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/metadata"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/sts"
)

const (
	userID     = "LTAI5tUSERKEYID"
	userSecret = "userSECRETvalue0123456789"
	userToken  = "CAISuserSTStoken0123456789"
	roleARN    = "acs:ram::1234567890123456:role/velero-backup"
	oidcARN    = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1"
	oidcToken  = "eyJhbGciOiJSUzI1NiJ9.OIDCtokenBODY.sig"
)

type env map[string]string

func (e env) get(k string) string { return e[k] }

// stsFixture is an STS emulator over TLS that this process trusts.
type stsFixture struct {
	auth     *auth.Store
	sts      *sts.Server
	faults   *fault.Injector
	endpoint string
}

func startSTS(t *testing.T, lifetime time.Duration, creds ...auth.Credential) *stsFixture {
	t.Helper()
	f := &stsFixture{auth: auth.NewStore(creds...), faults: fault.New(fault.Config{Seed: 1})}
	f.sts = sts.New(sts.Config{Auth: f.auth, Roles: []string{roleARN}, OIDCProviders: map[string]string{oidcARN: oidcToken},
		Lifetime: lifetime, Faults: f.faults})
	srv, endpoint := sts.StartTLS(f.sts)
	t.Cleanup(srv.Close)
	sts.TrustInProcess(srv)
	f.endpoint = endpoint
	return f
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertNoSecrets fails when text holds any of secrets, raw or URL-escaped.
func assertNoSecrets(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range []string{s, url.QueryEscape(s), url.QueryEscape(url.QueryEscape(s))} {
			if strings.Contains(text, form) {
				t.Errorf("%s leaks a secret (%d chars): %s", what, len(s), text)
			}
		}
	}
}

func dotenvAssumeRole(id, secret string) string {
	return fmt.Sprintf("ALIBABA_CLOUD_ACCESS_KEY_ID=%s\nALIBABA_CLOUD_ACCESS_KEY_SECRET=%s\nALIBABA_CLOUD_ROLE_ARN=%s\n", id, secret, roleARN)
}

func TestAssumeRoleThroughSTSEmulator(t *testing.T) {
	f := startSTS(t, 0, auth.Credential{AccessKeyID: userID, AccessKeySecret: userSecret})
	tests := []struct {
		name string
		file string
	}{
		{"dotenv", dotenvAssumeRole(userID, userSecret) + "ALIBABA_CLOUD_ROLE_SESSION_NAME=velero-test\n"},
		{"ini", "[default]\ntype = ram_role_arn\naccess_key_id = " + userID + "\naccess_key_secret = " + userSecret +
			"\nrole_arn = " + roleARN + "\nrole_session_name = velero-test\nrole_session_expiration = 1800\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.sts.Issued())
			start := time.Now()
			p, err := credentials.New(credentials.Options{Kind: "BackupStorageLocation", Getenv: env{}.get,
				CredentialsFile: writeFile(t, "cloud", tt.file), STSEndpoint: f.endpoint})
			if err != nil {
				t.Fatal(err)
			}
			c, err := p.Get()
			if err != nil {
				t.Fatal(err)
			}
			issued := f.sts.Issued()
			if len(issued) != before+1 {
				t.Fatalf("STS issued %d credentials, want 1", len(issued)-before)
			}
			got := issued[len(issued)-1]
			if got.Caller != userID || got.RoleARN != roleARN || got.SessionName != "velero-test" || got.Action != "AssumeRole" {
				t.Errorf("STS saw %+v", got)
			}
			if c.AccessKeyID != got.Credential.AccessKeyID || c.AccessKeySecret != got.Credential.AccessKeySecret || c.SecurityToken != got.Credential.SecurityToken {
				t.Errorf("Get returned %v, STS issued %s", c, got.Credential.AccessKeyID)
			}
			if _, ok := f.auth.Lookup(c.AccessKeyID); !ok {
				t.Errorf("issued key not in the auth store")
			}
			// Expiration is the conservative estimate start + DurationSeconds;
			// it must not be later than what STS actually granted.
			if c.Expiration.Before(start) || c.Expiration.After(got.Credential.Expiration.Add(time.Second)) {
				t.Errorf("expiration %v, STS granted %v", c.Expiration, got.Credential.Expiration)
			}
			if p.Type() != "ram_role_arn" {
				t.Errorf("type %q", p.Type())
			}
		})
	}
}

func TestAssumeRoleWithOIDCThroughSTSEmulator(t *testing.T) {
	f := startSTS(t, 0)
	tokenFile := writeFile(t, "token", oidcToken)
	e := env{"ALIBABA_CLOUD_ROLE_ARN": roleARN, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": oidcARN, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": tokenFile}
	p, err := credentials.New(credentials.Options{Getenv: e.get, STSEndpoint: f.endpoint})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Get()
	if err != nil {
		t.Fatal(err)
	}
	if f.sts.Calls("AssumeRoleWithOIDC") != 1 || !strings.HasPrefix(c.AccessKeyID, "STS.") || c.SecurityToken == "" {
		t.Fatalf("calls %d, creds %v", f.sts.Calls("AssumeRoleWithOIDC"), c)
	}
	if got := f.sts.Issued()[0]; got.RoleARN != roleARN || got.Action != "AssumeRoleWithOIDC" {
		t.Errorf("STS saw %+v", got)
	}

	// A token the provider does not accept: a clear error, no token in it.
	bad := writeFile(t, "bad", "eyJ.wrongTOKENvalue.sig")
	e["ALIBABA_CLOUD_OIDC_TOKEN_FILE"] = bad
	p2, err := credentials.New(credentials.Options{Kind: "BackupStorageLocation", Getenv: e.get, STSEndpoint: f.endpoint})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p2.Get()
	if err == nil || !strings.Contains(err.Error(), "AuthenticationFail.OIDCToken.Invalid") || !strings.Contains(err.Error(), "RRSA") {
		t.Fatalf("want an OIDC error naming the source, got %v", err)
	}
}

func TestOneSTSFetchPerLifetimeUnderConcurrentGets(t *testing.T) {
	f := startSTS(t, 0, auth.Credential{AccessKeyID: userID, AccessKeySecret: userSecret})
	p, err := credentials.New(credentials.Options{Getenv: env{}.get, CredentialsFile: writeFile(t, "c", dotenvAssumeRole(userID, userSecret)), STSEndpoint: f.endpoint})
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, calls = 64, 200
	var wg sync.WaitGroup
	ids := make(chan string, goroutines*calls)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				c, err := p.Get()
				if err != nil {
					t.Error(err)
					return
				}
				ids <- c.AccessKeyID
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if n := f.sts.Calls("AssumeRole"); n != 1 || len(seen) != 1 {
		t.Fatalf("%d Get calls made %d STS calls and saw %d keys, want 1 and 1", goroutines*calls, n, len(seen))
	}
}

func TestRefreshBeforeExpiry(t *testing.T) {
	// credentials-go refreshes when a credential has 180 s or less left; a
	// 182 s lifetime reaches that margin about two seconds after issue.
	f := startSTS(t, 182*time.Second, auth.Credential{AccessKeyID: userID, AccessKeySecret: userSecret})
	p, err := credentials.New(credentials.Options{Getenv: env{}.get, CredentialsFile: writeFile(t, "c", dotenvAssumeRole(userID, userSecret)), STSEndpoint: f.endpoint})
	if err != nil {
		t.Fatal(err)
	}
	first, err := p.Get()
	if err != nil {
		t.Fatal(err)
	}
	f.sts.SetLifetime(time.Hour) // the refreshed credential is long-lived: no further fetches
	deadline := time.Now().Add(5 * time.Second)
	var second credentials.Credentials
	for time.Now().Before(deadline) {
		if second, err = p.Get(); err != nil {
			t.Fatal(err)
		}
		if second.AccessKeyID != first.AccessKeyID {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	refreshedAt := time.Now()
	if second.AccessKeyID == first.AccessKeyID {
		t.Fatal("credentials were not refreshed within 5 s of entering the refresh margin")
	}
	firstIssued := f.sts.Issued()[0].Credential
	if !refreshedAt.Before(firstIssued.Expiration) {
		t.Errorf("refreshed at %v, after the old credential expired at %v", refreshedAt, firstIssued.Expiration)
	}
	for range 1000 {
		if _, err := p.Get(); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.sts.Calls("AssumeRole"); n != 2 {
		t.Errorf("STS calls %d, want 2 (initial + one refresh)", n)
	}
}

func TestFailedRefreshKeepsValidCredentials(t *testing.T) {
	f := startSTS(t, 182*time.Second, auth.Credential{AccessKeyID: userID, AccessKeySecret: userSecret})
	buf := &testutil.Log{}
	log := buf.Logger()
	p, err := credentials.New(credentials.Options{Getenv: env{}.get, CredentialsFile: writeFile(t, "c", dotenvAssumeRole(userID, userSecret)),
		STSEndpoint: f.endpoint, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	first, err := p.Get()
	if err != nil {
		t.Fatal(err)
	}
	f.faults.Enqueue(fault.Decision{Kind: fault.ServerError}, fault.Decision{Kind: fault.ServerError})
	// Once inside the refresh margin every Get asks STS, which fails; Get must
	// keep returning the still-valid credential.
	deadline := time.Now().Add(5 * time.Second)
	for f.sts.Calls("AssumeRole") < 2 && time.Now().Before(deadline) {
		c, err := p.Get()
		if err != nil {
			t.Fatalf("Get failed although the old credential is valid: %v", err)
		}
		if c.AccessKeyID != first.AccessKeyID {
			t.Fatal("credential changed although the refresh failed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if f.sts.Calls("AssumeRole") != 2 {
		t.Fatal("no refresh was attempted")
	}
	// The failed refresh is not retried on every call.
	for range 100 {
		if c, err := p.Get(); err != nil || c.AccessKeyID != first.AccessKeyID {
			t.Fatalf("got %v, %v", c, err)
		}
	}
	if n := f.sts.Calls("AssumeRole"); n != 2 {
		t.Errorf("STS calls %d after the failure, want 2 (no retry storm)", n)
	}
	logs := buf.String()
	if !strings.Contains(logs, "refreshing Alibaba Cloud credentials failed") || !strings.Contains(logs, "InternalError") {
		t.Errorf("no warning about the failed refresh in logs:\n%s", logs)
	}
	assertNoSecrets(t, "logs", logs, userSecret, first.AccessKeySecret, first.SecurityToken)
}

func TestTwoProvidersWithDifferentKeysInOneProcess(t *testing.T) {
	const otherID, otherSecret = "LTAI5tOTHERKEYID", "otherSECRETvalue987654321"
	f := startSTS(t, 0, auth.Credential{AccessKeyID: userID, AccessKeySecret: userSecret},
		auth.Credential{AccessKeyID: otherID, AccessKeySecret: otherSecret})
	a, err := credentials.New(credentials.Options{Getenv: env{}.get, CredentialsFile: writeFile(t, "a", dotenvAssumeRole(userID, userSecret)), STSEndpoint: f.endpoint})
	if err != nil {
		t.Fatal(err)
	}
	b, err := credentials.New(credentials.Options{Getenv: env{}.get, STSEndpoint: f.endpoint,
		CredentialsFile: writeFile(t, "b", "[default]\ntype = ram_role_arn\naccess_key_id = "+otherID+"\naccess_key_secret = "+otherSecret+"\nrole_arn = "+roleARN+"\n")})
	if err != nil {
		t.Fatal(err)
	}
	static := credentials.StaticForTest("LTAI5tSTATIC", "staticSECRET", "")
	var wg sync.WaitGroup
	got := make([]credentials.Credentials, 3)
	for i, p := range []*credentials.Provider{a, b, static} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				c, err := p.Get()
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = c
			}
		}()
	}
	wg.Wait()
	callers := map[string]string{}
	for _, is := range f.sts.Issued() {
		callers[is.Caller] = is.Credential.AccessKeyID
	}
	if len(callers) != 2 || callers[userID] != got[0].AccessKeyID || callers[otherID] != got[1].AccessKeyID {
		t.Errorf("STS callers %v, providers got %s and %s", callers, got[0].AccessKeyID, got[1].AccessKeyID)
	}
	if got[2].AccessKeyID != "LTAI5tSTATIC" || got[2].AccessKeySecret != "staticSECRET" {
		t.Errorf("static provider got %v", got[2])
	}
}

func TestECSRAMRoleThroughMetadataEmulator(t *testing.T) {
	store := auth.NewStore()
	tests := []struct {
		name         string
		opts         func(proxy string) credentials.Options
		requireToken bool
	}{
		{"env ALIBABA_CLOUD_ECS_METADATA, IMDSv2 only", func(proxy string) credentials.Options {
			return credentials.Options{Getenv: env{"ALIBABA_CLOUD_ECS_METADATA": "KubernetesWorkerRole"}.get, MetadataProxy: proxy}
		}, true},
		{"dotenv ALIBABA_CLOUD_RAM_ROLE", func(proxy string) credentials.Options {
			return credentials.Options{Getenv: env{}.get, MetadataProxy: proxy,
				CredentialsFile: writeFile(t, "c", "ALIBABA_CLOUD_RAM_ROLE=KubernetesWorkerRole\n")}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := metadata.New(metadata.Config{Auth: store, RoleName: "KubernetesWorkerRole", RequireToken: tt.requireToken})
			srv := httptest.NewServer(md)
			defer srv.Close()
			p, err := credentials.New(tt.opts(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			var c credentials.Credentials
			for range 500 {
				if c, err = p.Get(); err != nil {
					t.Fatal(err)
				}
			}
			if n := md.Calls("credentials"); n != 1 {
				t.Errorf("500 Gets made %d metadata credential fetches, want 1", n)
			}
			if md.Calls("token") < 1 {
				t.Errorf("no IMDSv2 token was requested")
			}
			if is := md.Issued(); len(is) != 1 || is[0].AccessKeyID != c.AccessKeyID || c.SecurityToken != is[0].SecurityToken {
				t.Errorf("got %v, metadata issued %v", c, len(is))
			}
			if _, ok := store.Lookup(c.AccessKeyID); !ok {
				t.Error("issued key not in the auth store")
			}
		})
	}

	t.Run("role not attached", func(t *testing.T) {
		md := metadata.New(metadata.Config{Auth: store, RoleName: "OtherRole"})
		srv := httptest.NewServer(md)
		defer srv.Close()
		p, err := credentials.New(credentials.Options{Kind: "VolumeSnapshotLocation", Getenv: env{"ALIBABA_CLOUD_ECS_METADATA": "KubernetesWorkerRole"}.get, MetadataProxy: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Get()
		if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "ECS RAM role KubernetesWorkerRole") {
			t.Fatalf("want a 404 error naming the role, got %v", err)
		}
	})
}

func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	// The caller signs with an STS token and a wrong secret; STS answers
	// SignatureDoesNotMatch and echoes its string to sign, which contains
	// the caller's security token.
	f := startSTS(t, 0, auth.Credential{AccessKeyID: userID, AccessKeySecret: userSecret, SecurityToken: userToken})
	const wrongSecret = "wrongSECRETvalue000000000"
	buf := &testutil.Log{}
	log := buf.Logger()
	file := writeFile(t, "c", dotenvAssumeRole(userID, wrongSecret)+"ALIBABA_CLOUD_SECURITY_TOKEN="+userToken+"\n")
	p, err := credentials.New(credentials.Options{Kind: "BackupStorageLocation", Getenv: env{}.get, CredentialsFile: file, STSEndpoint: f.endpoint, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Get()
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") || !strings.Contains(err.Error(), "<redacted>") {
		t.Fatalf("want a redacted SignatureDoesNotMatch, got %v", err)
	}
	assertNoSecrets(t, "error", err.Error(), wrongSecret, userToken, userSecret)

	// Credentials printed by mistake are redacted.
	good := credentials.StaticForTest(userID, userSecret, userToken)
	c, _ := good.Get()
	js, _ := json.Marshal(c)
	log.WithField("creds", c).Infof("%v %+v %#v %s", c, c, c, js)
	log.WithError(err).Error("get failed")
	logs := buf.String()
	if !strings.Contains(logs, userID) {
		t.Errorf("logs should name the access key ID: %s", logs)
	}
	assertNoSecrets(t, "logs", logs, wrongSecret, userToken, userSecret)
}

func TestOSSAdapterSignsWithProviderCredentials(t *testing.T) {
	var mu sync.Mutex
	var authz, token []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		authz = append(authz, r.Header.Get("Authorization"))
		token = append(token, r.Header.Get("X-Oss-Security-Token"))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	p := credentials.StaticForTest(userID, userSecret, userToken)
	client, err := oss.New(srv.URL, "", "", oss.SetCredentialsProvider(p.OSS()), oss.ForcePathStyle(true))
	if err != nil {
		t.Fatal(err)
	}
	bucket, err := client.Bucket("velero-backups")
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.PutObject("k", strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	signed, err := bucket.SignURL("k", oss.HTTPGet, 60)
	if err != nil {
		t.Fatal(err)
	}
	if len(authz) != 1 || !strings.Contains(authz[0], userID) || token[0] != userToken {
		t.Errorf("OSS request carried Authorization %q, token %q", authz, token)
	}
	if !strings.Contains(signed, url.QueryEscape(userID)) && !strings.Contains(signed, userID) {
		t.Errorf("signed URL lacks the access key ID: %s", signed)
	}
	if _, ok := p.OSS().(oss.CredentialsProviderE); !ok {
		t.Error("OSS adapter does not implement CredentialsProviderE, so errors would be swallowed")
	}

	// A provider that cannot get credentials fails the request before it is sent.
	failing, err := credentials.New(credentials.Options{Getenv: env{"ALIBABA_CLOUD_ECS_METADATA": "R"}.get, MetadataProxy: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	client2, _ := oss.New(srv.URL, "", "", oss.SetCredentialsProvider(failing.OSS()), oss.ForcePathStyle(true))
	bucket2, _ := client2.Bucket("velero-backups")
	before := len(authz)
	if err := bucket2.PutObject("k", strings.NewReader("data")); err == nil || !strings.Contains(err.Error(), "ECS RAM role R") {
		t.Errorf("want the credentials error, got %v", err)
	}
	if len(authz) != before {
		t.Error("request was sent without credentials")
	}
}

func TestOpenAPIAdapterSignsRPCRequests(t *testing.T) {
	// darabonba-openapi (the ECS SDK's core) signs an RPC call with the
	// adapter's credentials; the STS emulator verifies the HMAC-SHA1
	// signature and the security token.
	store := auth.NewStore(auth.Credential{AccessKeyID: userID, AccessKeySecret: userSecret, SecurityToken: userToken})
	em := sts.New(sts.Config{Auth: store, Roles: []string{roleARN}})
	srv := httptest.NewServer(em)
	defer srv.Close()
	call := func(p *credentials.Provider) (map[string]any, error) {
		client, err := openapi.NewClient(&openapi.Config{Credential: p.OpenAPI(), Endpoint: dara.String(strings.TrimPrefix(srv.URL, "http://")),
			Protocol: dara.String("HTTP"), RegionId: dara.String("cn-hangzhou")})
		if err != nil {
			return nil, err
		}
		req := &openapiutil.OpenApiRequest{Body: map[string]any{"RoleArn": roleARN, "RoleSessionName": "openapi"}}
		return client.DoRPCRequest(dara.String("AssumeRole"), dara.String("2015-04-01"), dara.String("HTTP"), dara.String("POST"),
			dara.String("AK"), dara.String("json"), req, &dara.RuntimeOptions{Autoretry: dara.Bool(false)})
	}
	resp, err := call(credentials.StaticForTest(userID, userSecret, userToken))
	if err != nil {
		t.Fatal(err)
	}
	if is := em.Issued(); len(is) != 1 || is[0].Caller != userID {
		t.Fatalf("emulator issued %v; response %v", is, resp)
	}
	_, err = call(credentials.StaticForTest(userID, "wrongSECRETvalue000000000", userToken))
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("want SignatureDoesNotMatch for a wrong secret, got %v", err)
	}
	m, err := credentials.StaticForTest(userID, userSecret, "").OpenAPI().GetCredential()
	if err != nil || dara.StringValue(m.Type) != "access_key" || dara.StringValue(m.AccessKeySecret) != userSecret {
		t.Errorf("GetCredential = %v, %v", m, err)
	}
}
