package objectstore

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/retry"
)

// kmsActions are the KMS actions OSS needs of the caller for objects it
// encrypts with KMS (serverSideEncryption: KMS): a data key for each new
// object, its decryption on each read (and on multipart uploads). With a key
// named by kmsKeyId, uploads also need kmsKeyIDActions. Source: the
// "Permissions" section of OSS's server-side encryption guide
// (https://www.alibabacloud.com/help/en/oss/user-guide/server-side-encryption-8;
// AlibabaCloudDocs/oss "Developer Guide/Data security/Data encryption/
// Server-side encryption.md"): uploading with a specified CMK ID needs the
// KMS operations ListKeys, ListAliases, ListAliasesByKeyId, DescribeKey and
// GenerateDataKey (its example policy also grants Decrypt), a download
// Decrypt.
const (
	kmsActions      = "kms:GenerateDataKey and kms:Decrypt"
	kmsKeyIDActions = "kms:DescribeKey, kms:ListKeys, kms:ListAliases and kms:ListAliasesByKeyId"
)

// ramActions are the RAM policy actions the plugin needs on the bucket;
// oss:GetBucketInfo only for Init's check of the bucket's storage class.
const ramActions = "oss:PutObject, oss:GetObject, oss:ListObjects, oss:DeleteObject, oss:AbortMultipartUpload, oss:ListMultipartUploads, oss:GetBucketInfo"

// ossError is what the plugin returns for a failed OSS call: the operation,
// the bucket and key, the OSS error code and request ID, and a hint on what
// to fix. It never carries the raw response: OSS echoes the string to sign
// and the signature in SignatureDoesNotMatch bodies.
type ossError struct {
	op, bucket, key string
	status          int
	code, message   string
	requestID       string
	hint            string
	cause           error // sanitized; for errors.As / errors.Is
}

func (e *ossError) Error() string {
	target := fmt.Sprintf("bucket %q", e.bucket)
	switch {
	case e.op == "list" && e.key != "":
		target = fmt.Sprintf("prefix %q in bucket %q", e.key, e.bucket)
	case e.key != "":
		target = fmt.Sprintf("object %q in bucket %q", e.key, e.bucket)
	}
	msg := fmt.Sprintf("%s %s", e.op, target)
	switch {
	case e.code != "":
		msg += fmt.Sprintf(": OSS %s (HTTP %d", e.code, e.status)
		if e.requestID != "" {
			msg += ", request ID " + e.requestID
		}
		msg += ")"
		if m := strings.TrimSuffix(e.message, "."); m != "" {
			msg += ": " + m
		}
	case e.status != 0:
		msg += fmt.Sprintf(": HTTP %d", e.status)
		if e.requestID != "" {
			msg += " (request ID " + e.requestID + ")"
		}
	case e.cause != nil:
		msg += ": " + scrub(e.cause.Error())
	}
	if e.hint != "" {
		msg += "; " + e.hint
	}
	return msg
}

func (e *ossError) Unwrap() error { return e.cause }

// wrapError turns an SDK error into an ossError with a hint for the errors a
// user has to fix. It returns nil for nil.
func (o *ObjectStore) wrapError(op, bucket, key string, err error) error {
	if err == nil {
		return nil
	}
	var already *ossError
	if errors.As(err, &already) {
		return err
	}
	e := &ossError{op: op, bucket: bucket, key: key, cause: err}
	var se oss.ServiceError
	if errors.As(err, &se) {
		se.RawMessage = "" // holds StringToSign / SignatureProvided
		se.Message = scrub(se.Message)
		e.status, e.code, e.message, e.requestID = se.StatusCode, se.Code, se.Message, se.RequestID
		e.cause = se
		e.hint = o.hintFor(se, bucket)
		return e
	}
	e.hint = o.networkHint(err)
	return e
}

// networkHint explains failures before OSS answered: TLS trust and DNS.
func (o *ObjectStore) networkHint(err error) string {
	if retry.IsCertificateError(err) {
		return fmt.Sprintf("the TLS certificate of %s is not trusted: set %s to the PEM bundle of the CA that signed it", o.cfg.endpoint, keyCACert)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return fmt.Sprintf("cannot resolve %s: check %s and %s (the internal endpoint resolves only inside an Alibaba Cloud VPC; use %s: public elsewhere)", dnsErr.Name, keyRegion, keyEndpoint, keyNetwork)
	}
	return ""
}

func (o *ObjectStore) hintFor(se oss.ServiceError, bucket string) string {
	switch se.Code {
	case "NoSuchBucket":
		return fmt.Sprintf("bucket %q does not exist at endpoint %s: create it, or fix the BackupStorageLocation's bucket and %s/%s", bucket, o.cfg.endpoint, keyRegion, keyEndpoint)
	case "AccessDenied":
		hint := fmt.Sprintf("the credentials lack permission: grant the RAM user or role %s on acs:oss:*:*:%s and acs:oss:*:*:%s/*", ramActions, bucket, bucket)
		if o.cfg.sse == "KMS" {
			// OSS answers AccessDenied too when KMS refuses the key.
			key := "the region's default OSS key"
			if o.cfg.kmsKeyID != "" {
				key = fmt.Sprintf("key %s, plus %s for a key named by %s", o.cfg.kmsKeyID, kmsKeyIDActions, keyKMSKeyID)
			}
			hint += fmt.Sprintf(", and, for %s: KMS, %s on %s", keyServerSideEncryption, kmsActions, key)
		}
		return hint + fmt.Sprintf("; if the bucket is in another region than %s, set %s (or %s: public)", o.cfg.endpoint, keyRegion, keyNetwork)
	case "InvalidAccessKeyId":
		return "the access key ID is unknown or disabled: check the credentials file (ALIBABA_CLOUD_ACCESS_KEY_ID) or the RAM role"
	case "SignatureDoesNotMatch":
		return "the access key secret does not match the access key ID: check ALIBABA_CLOUD_ACCESS_KEY_SECRET in the credentials file"
	case "SecurityTokenExpired", "InvalidSecurityToken":
		return "the STS token is invalid or expired: refresh the credentials file or check the RAM role"
	case "RequestTimeTooSkewed":
		return "the clock of this node differs from OSS by more than 15 minutes: synchronise the node's time (NTP)"
	case "SecondLevelDomainForbidden", "AccessForbidden":
		return fmt.Sprintf("the endpoint %s does not serve this bucket: set %s to the bucket's region, or use %s: public when the bucket is in another region than this cluster", o.cfg.endpoint, keyRegion, keyNetwork)
	case "InvalidObjectState":
		return "the object is archived: restore it in the OSS console first, and keep Velero's storage class Standard or IA"
	case "KmsServiceNotEnabled", "KmsKeyNotFound", "NoSuchKmsKey", "InvalidEncryptionAlgorithmError":
		return fmt.Sprintf("check %s and %s: the KMS key must exist in the bucket's region and the credentials need %s", keyServerSideEncryption, keyKMSKeyID, kmsActions)
	}
	if se.StatusCode == 403 {
		return fmt.Sprintf("grant the RAM user or role %s on the bucket", ramActions)
	}
	return ""
}

// secretPatterns match values that must never reach a log or an error: V1
// and V4 signatures and STS tokens in URLs, headers or XML echoed by OSS.
var secretPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(?i)((?:signature|security-token|x-oss-signature|x-oss-security-token|securitytoken)=)[^&\s"'<]+`), "${1}REDACTED"},
	{regexp.MustCompile(`(?i)(authorization:?\s*"?OSS\s+[^:\s]+:)[^\s"'<]+`), "${1}REDACTED"},
	{regexp.MustCompile(`(?is)<(StringToSign|StringToSignBytes|SignatureProvided|CanonicalRequest)>.*?</(?:StringToSign|StringToSignBytes|SignatureProvided|CanonicalRequest)>`), "<${1}>REDACTED</${1}>"},
}

// scrub removes signatures and tokens from text that came from the SDK or
// the server (URLs in net/http errors, echoed requests).
func scrub(s string) string {
	for _, p := range secretPatterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	return s
}
