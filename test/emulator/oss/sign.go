package oss

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
)

// maxSkew is how far a signed request's date may be from the server clock
// before OSS answers RequestTimeTooSkewed.
const maxSkew = 15 * time.Minute

const (
	v4Algorithm     = "OSS4-HMAC-SHA256"
	v4DateFormat    = "20060102T150405Z"
	v4DayFormat     = "20060102"
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// v1SubResources are the query parameters that take part in a V1 signature
// (every other parameter, e.g. prefix or max-keys, is not signed in V1).
var v1SubResources = map[string]bool{}

func init() {
	for _, k := range []string{"acl", "uploads", "location", "cors",
		"logging", "website", "referer", "lifecycle",
		"delete", "append", "tagging", "objectMeta",
		"uploadId", "partNumber", "security-token",
		"position", "img", "style", "styleName",
		"replication", "replicationProgress",
		"replicationLocation", "cname", "bucketInfo",
		"comp", "qos", "live", "status", "vod",
		"startTime", "endTime", "symlink",
		"x-oss-process", "response-content-type", "x-oss-traffic-limit",
		"response-content-language", "response-expires",
		"response-cache-control", "response-content-disposition",
		"response-content-encoding", "udf", "udfName", "udfImage",
		"udfId", "udfImageDesc", "udfApplication",
		"udfApplicationLog", "restore", "callback", "callback-var", "qosInfo",
		"policy", "stat", "encryption", "versions", "versioning", "versionId", "requestPayment",
		"x-oss-request-payer", "sequential",
		"inventory", "inventoryId", "continuation-token", "asyncFetch",
		"worm", "wormId", "wormExtend", "withHashContext",
		"x-oss-enable-md5", "x-oss-enable-sha1", "x-oss-enable-sha256",
		"x-oss-hash-ctx", "x-oss-md5-ctx", "transferAcceleration",
		"regionList", "cloudboxes", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id", "x-oss-ac-forward-allow",
		"metaQuery", "resourceGroup", "rtc", "x-oss-async-process", "responseHeader"} {
		v1SubResources[k] = true
	}
}

// target is what a request addresses, after host/path parsing.
type target struct {
	bucket, key string
}

// authenticate verifies the request's signature (header or presigned URL,
// V1 or V4) against the credential store and the server clock.
func (s *Server) authenticate(r *http.Request, t target) *apiError {
	q := r.URL.Query()
	authz := r.Header.Get("Authorization")
	switch {
	case isS3Request(r):
		return s.verifyS3(r)
	case strings.HasPrefix(authz, v4Algorithm+" "):
		return s.verifyV4(r, t, q, false)
	case strings.HasPrefix(authz, "OSS "):
		return s.verifyV1(r, t, q, false)
	case authz != "":
		return invalidArgument("The emulator supports the OSS, OSS4-HMAC-SHA256 and AWS4-HMAC-SHA256 Authorization schemes only.", "Authorization", strings.SplitN(authz, " ", 2)[0])
	case q.Get("x-oss-signature-version") == v4Algorithm:
		return s.verifyV4(r, t, q, true)
	case q.Has("x-oss-signature-version"):
		return invalidArgument("Unsupported signature version.", "x-oss-signature-version", q.Get("x-oss-signature-version"))
	case q.Has("OSSAccessKeyId") || q.Has("Signature"):
		return s.verifyV1(r, t, q, true)
	}
	return errAccessDenied
}

// credential finds the key and checks its STS token and expiry.
func (s *Server) credential(id, token string, now time.Time) (auth.Credential, *apiError) {
	c, ok := s.cfg.Auth.Lookup(id)
	if !ok || id == "" {
		return c, errInvalidAccessKeyID.with("OSSAccessKeyId", id)
	}
	switch {
	case c.SecurityToken != "" && token == "":
		return c, errInvalidAccessKeyID.with("OSSAccessKeyId", id)
	case c.SecurityToken != token:
		return c, errInvalidToken
	}
	if c.Expired(now) {
		if c.SecurityToken != "" {
			return c, errTokenExpired
		}
		return c, errInvalidAccessKeyID.with("OSSAccessKeyId", id)
	}
	return c, nil
}

func (s *Server) checkSkew(reqTime, now time.Time) *apiError {
	d := now.Sub(reqTime)
	if d > maxSkew || d < -maxSkew {
		return errTimeTooSkewed.
			with("RequestTime", reqTime.UTC().Format(http.TimeFormat)).
			with("ServerTime", now.UTC().Format(http.TimeFormat))
	}
	return nil
}

// verifyV1 checks "Authorization: OSS id:signature" or a V1 presigned URL
// (OSSAccessKeyId, Expires, Signature query parameters).
func (s *Server) verifyV1(r *http.Request, t target, q url.Values, presigned bool) *apiError {
	now := s.now()
	var id, sig, token, date string
	if presigned {
		id, sig, token, date = q.Get("OSSAccessKeyId"), q.Get("Signature"), q.Get("security-token"), q.Get("Expires")
		exp, err := strconv.ParseInt(date, 10, 64)
		if err != nil {
			return invalidArgument("Expires must be a Unix time in seconds.", "Expires", date)
		}
		if now.Unix() > exp {
			return errRequestExpired.with("Expires", time.Unix(exp, 0).UTC().Format(time.RFC3339)).with("ServerTime", now.UTC().Format(time.RFC3339))
		}
	} else {
		cred := strings.TrimPrefix(r.Header.Get("Authorization"), "OSS ")
		i := strings.LastIndex(cred, ":")
		if i < 0 {
			return invalidArgument("Authorization header is invalid.", "Authorization", "OSS")
		}
		id, sig, token, date = cred[:i], cred[i+1:], r.Header.Get("x-oss-security-token"), r.Header.Get("Date")
	}
	c, aerr := s.credential(id, token, now)
	if aerr != nil {
		return aerr
	}
	if !presigned {
		tm, err := http.ParseTime(date)
		if err != nil {
			return newErr(403, "AccessDenied", "OSS authentication requires a valid Date.")
		}
		if e := s.checkSkew(tm, now); e != nil {
			return e
		}
	}
	sts := v1StringToSign(r, t, q, date)
	mac := hmac.New(sha1.New, []byte(c.AccessKeySecret))
	mac.Write([]byte(sts))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return errSignatureMismatch.with("StringToSign", sts).with("SignatureProvided", sig).with("OSSAccessKeyId", id)
	}
	return nil
}

// v1StringToSign rebuilds the V1 string to sign: verb, Content-MD5,
// Content-Type, date (or Expires), the x-oss-* headers and the resource with
// its signed sub-resources.
func v1StringToSign(r *http.Request, t target, q url.Values, date string) string {
	hdrs := pairs{}
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-oss-") {
			hdrs.add(lk, v[0])
		}
	}
	res := "/"
	if t.bucket != "" {
		res = "/" + t.bucket + "/" + t.key
	}
	subs := pairs{}
	for k, v := range q {
		if v1SubResources[k] {
			subs.add(k, v[0])
		}
	}
	if len(subs) > 0 {
		res += "?" + subs.query()
	}
	return r.Method + "\n" + r.Header.Get("Content-MD5") + "\n" + r.Header.Get("Content-Type") + "\n" +
		date + "\n" + hdrs.headers() + res
}

// verifyV4 checks an "OSS4-HMAC-SHA256 Credential=...,Signature=..." header or
// a V4 presigned URL (x-oss-signature-version, x-oss-credential, x-oss-date,
// x-oss-expires, x-oss-signature query parameters).
func (s *Server) verifyV4(r *http.Request, t target, q url.Values, presigned bool) *apiError {
	now := s.now()
	var credStr, sig, token, signDate, additional string
	var signTime time.Time
	if presigned {
		credStr, sig, token = q.Get("x-oss-credential"), q.Get("x-oss-signature"), q.Get("x-oss-security-token")
		signDate, additional = q.Get("x-oss-date"), q.Get("x-oss-additional-headers")
		var e *apiError
		if signTime, e = ossV4.presignedTime(signDate, q.Get("x-oss-expires"), now); e != nil {
			return e
		}
	} else {
		fields := authFields(r, v4Algorithm)
		credStr, sig, additional = fields["Credential"], fields["Signature"], fields["AdditionalHeaders"]
		token = r.Header.Get("x-oss-security-token")
		var err error
		if signDate = r.Header.Get("x-oss-date"); signDate != "" {
			signTime, err = time.Parse(v4DateFormat, signDate)
		} else {
			signDate = r.Header.Get("Date")
			signTime, err = http.ParseTime(signDate)
		}
		if err != nil {
			return newErr(403, "AccessDenied", "OSS V4 authentication requires a valid x-oss-date or Date header.")
		}
	}
	c, _, day, region, aerr := s.v4Scope(ossV4, credStr, token, signTime, now, presigned)
	if aerr != nil {
		return aerr
	}
	if s.cfg.Region != "" && region != s.cfg.Region {
		return invalidArgument("Invalid signing region in Authorization header; this endpoint serves region "+s.cfg.Region+".", "Credential", region)
	}
	canon := v4CanonicalRequest(r, t, q, additional, presigned)
	sum := sha256.Sum256([]byte(canon))
	sts := v4Algorithm + "\n" + signDate + "\n" + day + "/" + region + "/oss/aliyun_v4_request\n" + hex.EncodeToString(sum[:])
	want := v4Signature(c.AccessKeySecret, day, region, sts)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return errSignatureMismatch.with("CanonicalRequest", canon).with("StringToSign", sts).with("SignatureProvided", sig)
	}
	return nil
}

// v4Scheme is what differs between OSS's V4 signatures and S3's SigV4 in the
// checks they share: the service and terminator of the credential scope, and
// the error each service answers a failed check with.
type v4Scheme struct {
	service, terminator string
	badScope            func(cred string) *apiError
	badDay              func(day string) *apiError
	badDate             func(date string) *apiError
	badExpires          func(expires string) *apiError
	expired             func(expires int64, until, now time.Time) *apiError
}

var ossV4 = v4Scheme{
	service: "oss", terminator: "aliyun_v4_request",
	badScope: func(cred string) *apiError {
		return invalidArgument("Credential is malformed; expected AccessKeyId/yyyymmdd/region/oss/aliyun_v4_request.", "Credential", redactID(cred))
	},
	badDay: func(day string) *apiError {
		return invalidArgument("Invalid signing date in Authorization header.", "Credential", day)
	},
	badDate: func(date string) *apiError {
		return invalidArgument("x-oss-date must be in the form 20060102T150405Z.", "x-oss-date", date)
	},
	badExpires: func(expires string) *apiError {
		return invalidArgument("x-oss-expires must be between 1 and 604800 seconds.", "x-oss-expires", expires)
	},
	expired: func(_ int64, _, now time.Time) *apiError {
		return errRequestExpired.with("ServerTime", now.UTC().Format(time.RFC3339))
	},
}

// presignedTime checks a presigned URL's signing time (yyyymmddThhmmssZ) and
// lifetime (1 s to a week): not expired, not signed in the future.
func (sch v4Scheme) presignedTime(date, expires string, now time.Time) (time.Time, *apiError) {
	signTime, err := time.Parse(v4DateFormat, date)
	if err != nil {
		return time.Time{}, sch.badDate(date)
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || exp <= 0 || exp > 7*24*3600 {
		return time.Time{}, sch.badExpires(expires)
	}
	if until := signTime.Add(time.Duration(exp) * time.Second); now.After(until) {
		return time.Time{}, sch.expired(exp, until, now)
	}
	if signTime.Sub(now) > maxSkew {
		return time.Time{}, errTimeTooSkewed.with("RequestTime", date).with("ServerTime", now.UTC().Format(v4DateFormat))
	}
	return signTime, nil
}

// v4Scope checks a credential scope (AccessKeyId/day/region/service/
// terminator), finds its key and checks the signing time against the clock
// (a presigned URL's was checked with its lifetime) and the scope's day.
func (s *Server) v4Scope(sch v4Scheme, cred, token string, signTime, now time.Time, presigned bool) (c auth.Credential, id, day, region string, e *apiError) {
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[3] != sch.service || scope[4] != sch.terminator {
		return c, "", "", "", sch.badScope(cred)
	}
	id, day, region = scope[0], scope[1], scope[2]
	if c, e = s.credential(id, token, now); e != nil {
		return c, "", "", "", e
	}
	if !presigned {
		if e := s.checkSkew(signTime, now); e != nil {
			return c, "", "", "", e
		}
	}
	if day != signTime.UTC().Format(v4DayFormat) {
		return c, "", "", "", sch.badDay(day)
	}
	return c, id, day, region, nil
}

// authFields splits the Authorization header "<algorithm> k=v, k=v" of the
// V4 schemes (OSS4-HMAC-SHA256 and S3's AWS4-HMAC-SHA256) into its fields.
func authFields(r *http.Request, algorithm string) map[string]string {
	fields := map[string]string{}
	for _, f := range strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), algorithm+" "), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(f), "="); ok {
			fields[k] = v
		}
	}
	return fields
}

// redactID keeps an error from echoing anything but the key ID part.
func redactID(cred string) string {
	id, _, _ := strings.Cut(cred, "/")
	return id
}

// v4Signature derives the V4 signing key from the secret and signs sts.
func v4Signature(secret, day, region, sts string) string {
	return hex.EncodeToString(hmacSHA256(v4SigningKey("aliyun_v4", secret, day, region, "oss", "aliyun_v4_request"), sts))
}

// v4SigningKey derives a V4 signing key by chained HMAC-SHA256. OSS V4
// ("aliyun_v4", "oss", "aliyun_v4_request") and AWS SigV4 on the S3 protocol
// ("AWS4", "s3", "aws4_request") differ only in these names.
func v4SigningKey(prefix, secret, day, region, service, terminator string) []byte {
	k := hmacSHA256([]byte(prefix+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// v4Escape encodes like the SDK: query escaping with %20 for spaces.
func v4Escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// v4CanonicalRequest rebuilds the V4 canonical request: verb, URI
// (/bucket/key with "/" kept), every query parameter (except the signature
// itself), the signed headers, the additional-header list and the payload hash.
func v4CanonicalRequest(r *http.Request, t target, q url.Values, additional string, presigned bool) string {
	uri := "/"
	if t.bucket != "" {
		uri = "/" + t.bucket + "/" + strings.ReplaceAll(v4Escape(t.key), "%2F", "/")
	}
	params := pairs{}
	for k, v := range q {
		if !(presigned && k == "x-oss-signature") {
			params.add(url.QueryEscape(k), v4Escape(v[0]))
		}
	}

	extra := map[string]bool{}
	var addList []string
	if additional != "" {
		for _, h := range strings.Split(additional, ";") {
			h = strings.ToLower(strings.TrimSpace(h))
			extra[h] = true
			addList = append(addList, h)
		}
	}
	hdrs := pairs{}
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if lk == "content-md5" || lk == "content-type" || strings.HasPrefix(lk, "x-oss-") || extra[lk] {
			hdrs.add(lk, strings.Trim(v[0], " "))
		}
	}
	if extra["host"] {
		hdrs.add("host", r.Host)
	}
	payload := r.Header.Get("x-oss-content-sha256")
	if payload == "" {
		payload = unsignedPayload
	}
	return r.Method + "\n" + uri + "\n" + params.query() + "\n" + hdrs.headers() + "\n" +
		strings.Join(addList, ";") + "\n" + payload
}

// pairs is a key/value list rendered in key order, the way the SDK sorts
// (by key alone, so "a" sorts before "a-b" whatever the values).
type pairs map[string]string

func (p pairs) add(k, v string) { p[k] = v }

func (p pairs) keys() []string {
	ks := make([]string, 0, len(p))
	for k := range p {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// query renders k=v&k2 (a key alone when its value is empty).
func (p pairs) query() string {
	var b strings.Builder
	for i, k := range p.keys() {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		if p[k] != "" {
			b.WriteString("=" + p[k])
		}
	}
	return b.String()
}

// headers renders one "k:v\n" line per header.
func (p pairs) headers() string {
	var b strings.Builder
	for _, k := range p.keys() {
		b.WriteString(k + ":" + p[k] + "\n")
	}
	return b.String()
}
