// Package sts emulates the Alibaba Cloud STS actions that credentials-go
// calls: AssumeRole (RPC style, HMAC-SHA1 signed with the caller's access key)
// and AssumeRoleWithOIDC (unsigned, authenticated by the OIDC token). Issued
// temporary credentials are added to the shared auth.Store, so the OSS and
// ECS emulators accept them until they expire.
//
// credentials-go always calls STS over https; serve the handler with
// httptest.NewTLSServer (see StartTLS) and trust its certificate.
package sts

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/internal/emu"
)

// Config configures the emulator.
type Config struct {
	// Auth verifies AssumeRole callers and receives the issued credentials.
	Auth *auth.Store
	// Roles are the role ARNs that exist; empty accepts any well-formed
	// acs:ram::<account>:role/<name>.
	Roles []string
	// OIDCProviders maps an OIDC provider ARN to the token it accepts.
	OIDCProviders map[string]string
	// Lifetime of issued credentials. Zero honours the request's
	// DurationSeconds like STS does; tests set a short one (credentials-go
	// refuses to ask for less than 900 s) to exercise refresh.
	Lifetime time.Duration
	// Faults injects 500/throttling/resets/delays.
	Faults *fault.Injector
	// Now is the emulator's clock; nil = time.Now.
	Now func() time.Time
}

// Issued is one credential the emulator handed out.
type Issued struct {
	Action      string
	RoleARN     string
	SessionName string
	Caller      string // access key ID of an AssumeRole caller; "" for OIDC
	Credential  auth.Credential
}

// Server is an http.Handler serving STS.
type Server struct {
	cfg Config

	mu     sync.Mutex
	calls  map[string]int // action -> requests (including failed ones)
	issued []Issued
	nonces map[string]bool
}

// New returns a Server.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Auth == nil {
		cfg.Auth = auth.NewStore()
	}
	return &Server{cfg: cfg, calls: map[string]int{}, nonces: map[string]bool{}}
}

// Calls returns how many requests for action (AssumeRole, AssumeRoleWithOIDC)
// the emulator received.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// Issued returns the credentials issued so far, oldest first.
func (s *Server) Issued() []Issued {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Issued(nil), s.issued...)
}

// SetLifetime changes the lifetime of credentials issued from now on.
func (s *Server) SetLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Lifetime = d
}

type stsError struct {
	status        int
	code, message string
}

var roleARNPattern = regexp.MustCompile(`^acs:ram::[0-9]+:role/[A-Za-z0-9._-]+$`)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil { // merges query and url-encoded body
		s.fail(w, &stsError{400, "InvalidParameter", "The request body is not a valid form."})
		return
	}
	action := r.Form.Get("Action")
	s.mu.Lock()
	s.calls[action]++
	s.mu.Unlock()

	switch d := s.cfg.Faults.Decide(); d.Kind {
	case fault.ServerError:
		s.fail(w, &stsError{500, "InternalError", "The request processing has failed due to some unknown error, exception or failure."})
		return
	case fault.Throttle:
		s.fail(w, &stsError{400, "Throttling.User", "Request was denied due to user flow control."})
		return
	case fault.Reset:
		if emu.DropConnection(w, false) {
			return
		}
		s.fail(w, &stsError{500, "InternalError", "connection reset"})
		return
	case fault.Delay:
		time.Sleep(d.Delay)
	}

	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		s.fail(w, &stsError{400, "UnsupportedHTTPMethod", "This http method is not supported."})
		return
	}
	if v := r.Form.Get("Version"); v != "2015-04-01" {
		s.fail(w, &stsError{400, "InvalidVersion", "Specified parameter Version is not valid."})
		return
	}
	var (
		resp map[string]any
		err  *stsError
	)
	switch action {
	case "AssumeRole":
		resp, err = s.assumeRole(r)
	case "AssumeRoleWithOIDC":
		resp, err = s.assumeRoleWithOIDC(r)
	case "":
		err = &stsError{400, "MissingParameter", "The input parameter \"Action\" that is mandatory for processing this request is not supplied."}
	default:
		err = &stsError{404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."}
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	resp["RequestId"] = emu.RequestID()
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_ = json.NewEncoder(w).Encode(resp)
}

func (s *Server) assumeRole(r *http.Request) (map[string]any, *stsError) {
	caller, e := s.verifySignature(r)
	if e != nil {
		return nil, e
	}
	role, session, duration, e := s.roleParams(r)
	if e != nil {
		return nil, e
	}
	c := s.issue("AssumeRole", role, session, caller.AccessKeyID, duration)
	return map[string]any{
		"AssumedRoleUser": assumedRoleUser(role, session),
		"Credentials":     credentialsJSON(c),
	}, nil
}

func (s *Server) assumeRoleWithOIDC(r *http.Request) (map[string]any, *stsError) {
	providerARN := r.Form.Get("OIDCProviderArn")
	token := r.Form.Get("OIDCToken")
	switch {
	case providerARN == "":
		return nil, &stsError{400, "MissingOIDCProviderArn", "OIDCProviderArn is mandatory for this action."}
	case token == "":
		return nil, &stsError{400, "MissingOIDCToken", "OIDCToken is mandatory for this action."}
	}
	want, ok := s.cfg.OIDCProviders[providerARN]
	if !ok {
		return nil, &stsError{404, "EntityNotExist.OIDCProvider", "The specified OIDC provider does not exist."}
	}
	if want != strings.TrimSpace(token) {
		return nil, &stsError{400, "AuthenticationFail.OIDCToken.Invalid", "The OIDC token is invalid."}
	}
	role, session, duration, e := s.roleParams(r)
	if e != nil {
		return nil, e
	}
	c := s.issue("AssumeRoleWithOIDC", role, session, "", duration)
	return map[string]any{
		"AssumedRoleUser": assumedRoleUser(role, session),
		"OIDCTokenInfo":   map[string]any{"Issuer": "https://oidc-ack.emulator", "Subject": "system:serviceaccount:velero:velero"},
		"Credentials":     credentialsJSON(c),
	}, nil
}

func (s *Server) roleParams(r *http.Request) (role, session string, duration time.Duration, e *stsError) {
	role = r.Form.Get("RoleArn")
	session = r.Form.Get("RoleSessionName")
	switch {
	case role == "":
		return "", "", 0, &stsError{400, "MissingRoleArn", "RoleArn is mandatory for this action."}
	case !roleARNPattern.MatchString(role):
		return "", "", 0, &stsError{400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed."}
	case !s.roleExists(role):
		return "", "", 0, &stsError{404, "EntityNotExist.Role", "The role not exists: " + role + "."}
	case session == "":
		return "", "", 0, &stsError{400, "MissingRoleSessionName", "RoleSessionName is mandatory for this action."}
	}
	secs := 3600
	if v := r.Form.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > 43200 {
			return "", "", 0, &stsError{400, "InvalidParameter.DurationSeconds", "The Min/Max value of DurationSeconds is 15min/12hr."}
		}
		secs = n
	}
	return role, session, time.Duration(secs) * time.Second, nil
}

func (s *Server) roleExists(arn string) bool {
	if len(s.cfg.Roles) == 0 {
		return true
	}
	for _, r := range s.cfg.Roles {
		if r == arn {
			return true
		}
	}
	return false
}

// verifySignature checks an RPC-style request the way STS does: all
// parameters but Signature, sorted, percent-encoded, signed with HMAC-SHA1
// under secret + "&".
func (s *Server) verifySignature(r *http.Request) (auth.Credential, *stsError) {
	f := r.Form
	id := f.Get("AccessKeyId")
	if id == "" {
		return auth.Credential{}, &stsError{400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action."}
	}
	if f.Get("SignatureMethod") != "HMAC-SHA1" {
		return auth.Credential{}, &stsError{400, "InvalidSignatureMethod", "Specified signature method is not valid."}
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", f.Get("Timestamp"))
	if err != nil {
		return auth.Credential{}, &stsError{400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."}
	}
	if d := s.cfg.Now().Sub(ts); d > 15*time.Minute || d < -15*time.Minute {
		return auth.Credential{}, &stsError{400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."}
	}
	c, ok := s.cfg.Auth.Lookup(id)
	if !ok {
		return auth.Credential{}, &stsError{404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."}
	}
	if c.SecurityToken != "" || f.Get("SecurityToken") != "" {
		switch {
		case f.Get("SecurityToken") == "":
			return auth.Credential{}, &stsError{400, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed."}
		case f.Get("SecurityToken") != c.SecurityToken:
			return auth.Credential{}, &stsError{400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey."}
		}
	}
	if c.Expired(s.cfg.Now()) {
		return auth.Credential{}, &stsError{400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired."}
	}
	stringToSign := StringToSign(r.Method, f)
	if !hmac.Equal([]byte(f.Get("Signature")), []byte(Sign(stringToSign, c.AccessKeySecret))) {
		// Like STS, echo the server's string to sign: it holds the caller's
		// parameters, including any SecurityToken, which clients must not log.
		return auth.Credential{}, &stsError{400, "SignatureDoesNotMatch",
			"Specified signature is not matched with our calculation. server string to sign is:" + stringToSign}
	}
	nonce := f.Get("SignatureNonce")
	s.mu.Lock()
	used := s.nonces[nonce]
	s.nonces[nonce] = true
	s.mu.Unlock()
	if nonce == "" || used {
		return auth.Credential{}, &stsError{400, "SignatureNonceUsed", "Specified signature nonce was used already."}
	}
	return c, nil
}

// StringToSign is the RPC string to sign for the parameters in form.
func StringToSign(method string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, percentEncode(k)+"="+percentEncode(form.Get(k)))
	}
	return method + "&" + percentEncode("/") + "&" + percentEncode(strings.Join(parts, "&"))
}

// Sign is base64(HMAC-SHA1(secret + "&", stringToSign)).
func Sign(stringToSign, secret string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func percentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

func (s *Server) issue(action, role, session, caller string, requested time.Duration) auth.Credential {
	s.mu.Lock()
	defer s.mu.Unlock()
	lifetime := requested
	if s.cfg.Lifetime > 0 {
		lifetime = s.cfg.Lifetime
	}
	// STS reports whole seconds; truncating keeps the store and the client in step.
	c := emu.STSCredential(s.cfg.Now().Add(lifetime).UTC().Truncate(time.Second))
	s.cfg.Auth.Add(c)
	s.issued = append(s.issued, Issued{Action: action, RoleARN: role, SessionName: session, Caller: caller, Credential: c})
	return c
}

func assumedRoleUser(role, session string) map[string]any {
	return map[string]any{"Arn": role + "/" + session, "AssumedRoleId": "3" + emu.Random(8, emu.Alnum) + ":" + session}
}

func credentialsJSON(c auth.Credential) map[string]any {
	return map[string]any{
		"AccessKeyId": c.AccessKeyID, "AccessKeySecret": c.AccessKeySecret,
		"SecurityToken": c.SecurityToken, "Expiration": c.Expiration.Format("2006-01-02T15:04:05Z"),
	}
}

func (s *Server) fail(w http.ResponseWriter, e *stsError) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"RequestId": emu.RequestID(), "HostId": "sts.aliyuncs.com", "Code": e.code, "Message": e.message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + e.code + "&product=Sts",
	})
}
