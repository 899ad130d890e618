package ecs

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
)

// maxSkew is how far a request's timestamp may be from the server's clock.
const maxSkew = 15 * time.Minute

const acs3 = "ACS3-HMAC-SHA256"

// signedRequest is what the signature check extracts from a request.
type signedRequest struct {
	accessKeyID string
	token       string
	nonce       string
	timestamp   string
}

// authenticate verifies the request the way the POP gateway does. Two forms
// are accepted: ACS3-HMAC-SHA256 in the Authorization header (what
// darabonba-openapi v2 sends by default) and the legacy RPC form with an
// HMAC-SHA1 Signature query parameter (SignatureAlgorithm "v2").
func (s *Server) authenticate(r *http.Request, body []byte, req *request) *apiError {
	var (
		sr   signedRequest
		cred auth.Credential
		err  *apiError
	)
	if req.style == styleACS3 {
		sr, cred, err = s.verifyACS3(r, body)
	} else {
		sr, cred, err = s.verifyRPC(req)
	}
	if err != nil {
		return err
	}
	_ = cred
	if err := checkTimestamp(sr.timestamp); err != nil {
		return err
	}
	if sr.nonce == "" {
		return errMissingParam("SignatureNonce")
	}
	if !s.useNonce(sr.accessKeyID, sr.nonce) {
		return errNonceUsed
	}
	return nil
}

// lookupKey resolves the access key and checks the STS token and expiry.
func (s *Server) lookupKey(id, token string) (auth.Credential, *apiError) {
	if id == "" {
		return auth.Credential{}, errMissingParam("AccessKeyId")
	}
	cred, ok := s.cfg.Auth.Lookup(id)
	if !ok {
		return cred, errAccessKeyNotFound
	}
	switch {
	case cred.SecurityToken == "" && token != "":
		return cred, errTokenMismatch
	case cred.SecurityToken != "" && token == "":
		return cred, errTokenMissing
	case cred.SecurityToken != "" && token != cred.SecurityToken:
		return cred, errTokenMismatch
	}
	if cred.Expired(s.now()) {
		if cred.SecurityToken != "" {
			return cred, errTokenExpired
		}
		return cred, errAccessKeyInactive
	}
	return cred, nil
}

func (s *Server) verifyACS3(r *http.Request, body []byte) (signedRequest, auth.Credential, *apiError) {
	var sr signedRequest
	algo, fields, ok := parseAuthorization(r.Header.Get("Authorization"))
	if !ok || algo != acs3 || fields["Credential"] == "" || fields["Signature"] == "" || fields["SignedHeaders"] == "" {
		return sr, auth.Credential{}, errIncompleteSignature
	}
	sr.accessKeyID = fields["Credential"]
	sr.token = r.Header.Get("x-acs-security-token")
	sr.nonce = r.Header.Get("x-acs-signature-nonce")
	sr.timestamp = r.Header.Get("x-acs-date")
	cred, err := s.lookupKey(sr.accessKeyID, sr.token)
	if err != nil {
		return sr, cred, err
	}
	payloadHash := r.Header.Get("x-acs-content-sha256")
	sum := sha256.Sum256(body)
	if payloadHash != hex.EncodeToString(sum[:]) {
		return sr, cred, errPayloadHash
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	// Every x-acs-* header and host must be covered, or an attacker could
	// change them without breaking the signature.
	have := map[string]bool{}
	for _, h := range signed {
		have[h] = true
	}
	if !have["host"] {
		return sr, cred, errIncompleteSignature
	}
	for name := range r.Header {
		l := strings.ToLower(name)
		if strings.HasPrefix(l, "x-acs-") && !have[l] {
			return sr, cred, errSignatureMismatch
		}
	}
	canonical := r.Method + "\n" + canonicalURI(r.URL.EscapedPath()) + "\n" +
		canonicalQuery(r.URL.Query()) + "\n" + canonicalHeaders(r, signed) + "\n" +
		strings.Join(signed, ";") + "\n" + payloadHash
	h := sha256.Sum256([]byte(canonical))
	stringToSign := acs3 + "\n" + hex.EncodeToString(h[:])
	mac := hmac.New(sha256.New, []byte(cred.AccessKeySecret))
	mac.Write([]byte(stringToSign))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return sr, cred, errSignatureMismatch
	}
	return sr, cred, nil
}

// parseAuthorization splits "ALGO Credential=..,SignedHeaders=..,Signature=..".
func parseAuthorization(v string) (string, map[string]string, bool) {
	algo, rest, ok := strings.Cut(v, " ")
	if !ok {
		return "", nil, false
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", nil, false
		}
		fields[k] = val
	}
	return algo, fields, true
}

func canonicalURI(p string) string {
	if p == "" {
		p = "/"
	}
	p = strings.ReplaceAll(p, "+", "%20")
	p = strings.ReplaceAll(p, "*", "%2A")
	return strings.ReplaceAll(p, "%7E", "~")
}

// canonicalQuery mirrors darabonba-openapi's getCanonicalQueryString: keys
// sorted, values query-escaped with RFC 3986 fix-ups, keys left as they are.
func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := q.Get(k)
		parts = append(parts, k+"="+url.QueryEscape(v))
	}
	s := strings.Join(parts, "&")
	s = strings.ReplaceAll(s, "+", "%20")
	s = strings.ReplaceAll(s, "*", "%2A")
	return strings.ReplaceAll(s, "%7E", "~")
}

func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, h := range signed {
		var vals []string
		if h == "host" {
			vals = []string{r.Host}
		} else {
			for _, v := range r.Header.Values(h) {
				vals = append(vals, strings.TrimSpace(v))
			}
		}
		sort.Strings(vals)
		b.WriteString(h + ":" + strings.Join(vals, ",") + "\n")
	}
	return b.String()
}

func (s *Server) verifyRPC(req *request) (signedRequest, auth.Credential, *apiError) {
	p := req.params
	sr := signedRequest{
		accessKeyID: p.Get("AccessKeyId"),
		token:       p.Get("SecurityToken"),
		nonce:       p.Get("SignatureNonce"),
		timestamp:   p.Get("Timestamp"),
	}
	sig := p.Get("Signature")
	if sig == "" || sr.accessKeyID == "" {
		return sr, auth.Credential{}, errIncompleteSignature
	}
	if p.Get("SignatureMethod") != "HMAC-SHA1" || p.Get("SignatureVersion") != "1.0" {
		return sr, auth.Credential{}, errIncompleteSignature
	}
	cred, err := s.lookupKey(sr.accessKeyID, sr.token)
	if err != nil {
		return sr, cred, err
	}
	signed := url.Values{}
	for k, vs := range p {
		if k != "Signature" {
			signed[k] = vs
		}
	}
	// darabonba-openapi's buildRpcStringToSign.
	enc := signed.Encode()
	enc = strings.ReplaceAll(enc, "+", "%20")
	enc = strings.ReplaceAll(enc, "*", "%2A")
	enc = strings.ReplaceAll(enc, "%7E", "~")
	stringToSign := req.method + "&%2F&" + url.QueryEscape(enc)
	mac := hmac.New(sha1.New, []byte(cred.AccessKeySecret+"&"))
	mac.Write([]byte(stringToSign))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return sr, cred, errSignatureMismatch
	}
	return sr, cred, nil
}

// checkTimestamp compares against the wall clock, not Config.Now: the SDK
// stamps requests with the real time, while Config.Now may be a test clock
// that jumps ahead to finish async work.
func checkTimestamp(ts string) *apiError {
	if ts == "" {
		return errMissingParam("Timestamp")
	}
	t, err := time.Parse("2006-01-02T15:04:05Z", ts)
	if err != nil {
		return errTimestampFormat
	}
	if d := time.Since(t); d > maxSkew || d < -maxSkew {
		return errTimestampExpired
	}
	return nil
}

// useNonce records a nonce; false means it was seen within the skew window.
func (s *Server) useNonce(keyID, nonce string) bool {
	s.nonceMu.Lock()
	defer s.nonceMu.Unlock()
	now := time.Now()
	if len(s.nonces) > 10000 {
		for k, exp := range s.nonces {
			if now.After(exp) {
				delete(s.nonces, k)
			}
		}
	}
	k := keyID + "\x00" + nonce
	if exp, ok := s.nonces[k]; ok && now.Before(exp) {
		return false
	}
	s.nonces[k] = now.Add(2 * maxSkew)
	return true
}
