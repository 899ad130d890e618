package sts

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/internal/emu"
)

// The signature example of the Alibaba Cloud RPC API documentation
// (ECS DescribeRegions, key testid/testsecret).
func TestKnownGoodSignatureVector(t *testing.T) {
	form := url.Values{
		"AccessKeyId": {"testid"}, "Action": {"DescribeRegions"}, "Format": {"XML"},
		"SignatureMethod": {"HMAC-SHA1"}, "SignatureNonce": {"3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
		"SignatureVersion": {"1.0"}, "Timestamp": {"2016-02-23T12:46:24Z"}, "Version": {"2014-05-26"},
	}
	const wantSTS = "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
	if got := StringToSign("GET", form); got != wantSTS {
		t.Fatalf("string to sign:\n got %s\nwant %s", got, wantSTS)
	}
	if got := Sign(wantSTS, "testsecret"); got != "OLeaidS1JvxuMvnyHOwuJ+uX5qY=" {
		t.Fatalf("signature %s", got)
	}
}

const (
	id     = "LTAI5tCALLER"
	secret = "callerSECRET"
	role   = "acs:ram::1234567890123456:role/velero"
)

// signed builds an AssumeRole request the way credentials-go sends it:
// signed parameters in the query, role parameters in the form body.
func signed(mod func(q, body url.Values), sec string) *http.Request {
	q := url.Values{"Version": {"2015-04-01"}, "Action": {"AssumeRole"}, "Format": {"JSON"},
		"Timestamp": {time.Now().UTC().Format("2006-01-02T15:04:05Z")}, "SignatureMethod": {"HMAC-SHA1"},
		"SignatureVersion": {"1.0"}, "SignatureNonce": {emu.Random(16, emu.Alnum)}, "AccessKeyId": {id}}
	body := url.Values{"RoleArn": {role}, "RoleSessionName": {"s"}, "DurationSeconds": {"3600"}}
	if mod != nil {
		mod(q, body)
	}
	all := url.Values{}
	for k, v := range q {
		all[k] = v
	}
	for k, v := range body {
		all[k] = v
	}
	q.Set("Signature", Sign(StringToSign("POST", all), sec))
	r := httptest.NewRequest("POST", "/?"+q.Encode(), strings.NewReader(body.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestAssumeRoleRequests(t *testing.T) {
	store := auth.NewStore(auth.Credential{AccessKeyID: id, AccessKeySecret: secret},
		auth.Credential{AccessKeyID: "STS.old", AccessKeySecret: secret, SecurityToken: "tok", Expiration: time.Now().Add(-time.Minute)})
	tests := []struct {
		name     string
		req      func() *http.Request
		status   int
		code     string
		lifetime time.Duration
	}{
		{"valid", func() *http.Request { return signed(nil, secret) }, 200, "", time.Hour},
		{"configured lifetime", func() *http.Request { return signed(nil, secret) }, 200, "", 0},
		{"wrong secret", func() *http.Request { return signed(nil, "nope") }, 400, "SignatureDoesNotMatch", 0},
		{"tampered role after signing", func() *http.Request {
			r := signed(nil, secret)
			r.Body = http.NoBody
			b := url.Values{"RoleArn": {"acs:ram::1234567890123456:role/admin"}, "RoleSessionName": {"s"}, "DurationSeconds": {"3600"}}
			r = httptest.NewRequest("POST", r.URL.String(), strings.NewReader(b.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 400, "SignatureDoesNotMatch", 0},
		{"unknown key", func() *http.Request {
			return signed(func(q, _ url.Values) { q.Set("AccessKeyId", "LTAI5tNOBODY") }, secret)
		}, 404, "InvalidAccessKeyId.NotFound", 0},
		{"skewed clock", func() *http.Request {
			return signed(func(q, _ url.Values) {
				q.Set("Timestamp", time.Now().Add(-20*time.Minute).UTC().Format("2006-01-02T15:04:05Z"))
			}, secret)
		}, 400, "InvalidTimeStamp.Expired", 0},
		{"expired STS caller", func() *http.Request {
			return signed(func(q, _ url.Values) { q.Set("AccessKeyId", "STS.old"); q.Set("SecurityToken", "tok") }, secret)
		}, 400, "InvalidSecurityToken.Expired", 0},
		{"STS caller without token", func() *http.Request {
			return signed(func(q, _ url.Values) { q.Set("AccessKeyId", "STS.old") }, secret)
		}, 400, "InvalidSecurityToken.Malformed", 0},
		{"unknown role", func() *http.Request {
			return signed(func(_, b url.Values) { b.Set("RoleArn", "acs:ram::1234567890123456:role/other") }, secret)
		}, 404, "EntityNotExist.Role", 0},
		{"short duration", func() *http.Request {
			return signed(func(_, b url.Values) { b.Set("DurationSeconds", "60") }, secret)
		}, 400, "InvalidParameter.DurationSeconds", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Config{Auth: store, Roles: []string{role}, Lifetime: 5 * time.Minute})
			if tt.name == "valid" {
				s.SetLifetime(0) // honour DurationSeconds
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, tt.req())
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("response is not JSON: %s", w.Body)
			}
			if w.Code != tt.status || (tt.code != "" && body["Code"] != tt.code) {
				t.Fatalf("got %d %v, want %d %s", w.Code, body["Code"], tt.status, tt.code)
			}
			if body["RequestId"] == "" {
				t.Error("no RequestId")
			}
			if s.Calls("AssumeRole") != 1 {
				t.Errorf("calls %d", s.Calls("AssumeRole"))
			}
			if tt.status != 200 {
				if len(s.Issued()) != 0 {
					t.Error("issued credentials for a refused request")
				}
				return
			}
			c := body["Credentials"].(map[string]any)
			exp, err := time.Parse("2006-01-02T15:04:05Z", c["Expiration"].(string))
			want := 5 * time.Minute
			if tt.name == "valid" {
				want = time.Hour
			}
			if err != nil || exp.Sub(time.Now()) > want || exp.Sub(time.Now()) < want-3*time.Second {
				t.Errorf("expiration %v, want about now+%v", c["Expiration"], want)
			}
			got, ok := store.Lookup(c["AccessKeyId"].(string))
			if !ok || got.SecurityToken != c["SecurityToken"] || got.AccessKeySecret != c["AccessKeySecret"] {
				t.Error("issued credential not registered in the auth store")
			}
		})
	}
}

func TestReplayedNonceRejected(t *testing.T) {
	s := New(Config{Auth: auth.NewStore(auth.Credential{AccessKeyID: id, AccessKeySecret: secret})})
	r := signed(nil, secret)
	raw := r.URL.String()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("first request: %d %s", w.Code, w.Body)
	}
	body := url.Values{"RoleArn": {role}, "RoleSessionName": {"s"}, "DurationSeconds": {"3600"}}
	r2 := httptest.NewRequest("POST", raw, strings.NewReader(body.Encode()))
	r2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r2)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "SignatureNonceUsed") {
		t.Fatalf("replay: %d %s", w.Code, w.Body)
	}
}

func TestAssumeRoleWithOIDCRequests(t *testing.T) {
	const provider = "acs:ram::1234567890123456:oidc-provider/ack"
	tests := []struct {
		name, provider, token string
		status                int
		code                  string
	}{
		{"valid", provider, "jwt", 200, ""},
		{"wrong token", provider, "other", 400, "AuthenticationFail.OIDCToken.Invalid"},
		{"unknown provider", "acs:ram::1:oidc-provider/x", "jwt", 404, "EntityNotExist.OIDCProvider"},
		{"no token", provider, "", 400, "MissingOIDCToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := auth.NewStore()
			s := New(Config{Auth: store, OIDCProviders: map[string]string{provider: "jwt"}})
			q := url.Values{"Version": {"2015-04-01"}, "Action": {"AssumeRoleWithOIDC"}, "Format": {"JSON"}}
			b := url.Values{"RoleArn": {role}, "OIDCProviderArn": {tt.provider}, "OIDCToken": {tt.token}, "RoleSessionName": {"s"}}
			r := httptest.NewRequest("POST", "/?"+q.Encode(), strings.NewReader(b.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.code) {
				t.Fatalf("got %d %s", w.Code, w.Body)
			}
			if tt.status == 200 {
				is := s.Issued()
				if len(is) != 1 {
					t.Fatal("nothing issued")
				}
				if _, ok := store.Lookup(is[0].Credential.AccessKeyID); !ok {
					t.Error("not registered")
				}
			}
		})
	}
}

func TestFaults(t *testing.T) {
	f := fault.New(fault.Config{Seed: 1})
	s := New(Config{Auth: auth.NewStore(auth.Credential{AccessKeyID: id, AccessKeySecret: secret}), Faults: f})
	f.Enqueue(fault.Decision{Kind: fault.ServerError}, fault.Decision{Kind: fault.Throttle})
	for _, want := range []string{"InternalError", "Throttling.User"} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, signed(nil, secret))
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("got %d %s, want %s", w.Code, w.Body, want)
		}
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, signed(nil, secret))
	if w.Code != 200 {
		t.Errorf("after the queued faults: %d %s", w.Code, w.Body)
	}
}
