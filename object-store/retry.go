package objectstore

import (
	"errors"
	"strings"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/retry"
)

// The OSS Go SDK (v3.0.2) does not retry: Config.RetryTimes is never read.
// withRetry runs fn under the plugins' shared retry policy (o.policy,
// retry.Default outside tests) until it succeeds, fails permanently
// (isTransient) or runs out of attempts, and returns the last error wrapped
// (wrapError) with op, bucket and key, which also name the retries in the
// log.
func (o *ObjectStore) withRetry(op, bucket, key string, fn func() error) error {
	return o.wrapError(op, bucket, key, o.policy.Do(retry.Call{
		Service:   "OSS",
		Op:        op,
		Log:       o.log.WithFields(map[string]any{"bucket": bucket, "key": key}),
		Retryable: isTransient,
		Code:      ossCode,
		Describe:  func(err error) string { return scrub(err.Error()) },
	}, fn))
}

// ossCode is the OSS error code of err, or "".
func ossCode(err error) string {
	var se oss.ServiceError
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

// isTransient reports whether err is worth retrying: server errors,
// throttling, resets, timeouts and corrupted transfers. Authentication,
// permission, missing-bucket and bad-request errors are permanent.
func isTransient(err error) bool {
	var se oss.ServiceError
	if errors.As(err, &se) {
		// OSS answers overload and its QPS and bandwidth limits with 5xx
		// (ServiceUnavailable, TotalQpsLimitExceeded, ...), and a request
		// body that arrived too slowly with 400 RequestTimeout; the Alibaba
		// SDK v2 retryer also retries 429.
		return se.Code == "RequestTimeout" || se.StatusCode >= 500 || se.StatusCode == 429
	}
	var crc *crcError
	if errors.As(err, &crc) {
		return crc.transient
	}
	var crcSDK oss.CRCCheckError
	if errors.As(err, &crcSDK) {
		return true
	}
	if retry.IsTransportError(err) {
		return true
	}
	// The SDK reports a 5xx whose body is not OSS XML as a plain error.
	msg := err.Error()
	return strings.Contains(msg, "invalid response body, status = 5") ||
		strings.Contains(msg, "unknown response body, status = 5")
}
