package objectstore

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// The OSS Go SDK (v3.0.2) does not retry: Config.RetryTimes is never read.
// retryPolicy retries transient failures with capped exponential backoff and
// jitter; permanent failures return at once.
type retryPolicy struct {
	attempts int           // total tries, >= 1
	base     time.Duration // first backoff
	max      time.Duration // backoff cap
}

var defaultRetry = retryPolicy{attempts: 6, base: 200 * time.Millisecond, max: 10 * time.Second}

// backoff returns the wait before retry number n (1-based): a random
// duration in [d/2, d] with d = min(base*2^(n-1), max).
func (p retryPolicy) backoff(n int) time.Duration {
	d := p.base << (n - 1)
	if d > p.max || d <= 0 {
		d = p.max
	}
	return d/2 + rand.N(d/2+1)
}

// withRetry runs fn until it succeeds, fails permanently or runs out of
// attempts, and returns the last error wrapped (wrapError) with op, bucket
// and key, which also name the retries in the log.
func (o *ObjectStore) withRetry(op, bucket, key string, fn func() error) error {
	var err error
	for n := 1; ; n++ {
		err = fn()
		if err == nil || !isTransient(err) || n >= o.policy.attempts {
			return o.wrapError(op, bucket, key, err)
		}
		wait := o.policy.backoff(n)
		o.log.WithFields(map[string]any{
			"operation": op, "bucket": bucket, "key": key, "attempt": n, "backoff": wait.String(),
		}).WithError(errors.New(scrub(err.Error()))).Info("transient OSS error, retrying")
		time.Sleep(wait)
	}
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
	if isCertificateError(err) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ETIMEDOUT) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return true
	}
	// The SDK reports a 5xx whose body is not OSS XML as a plain error.
	msg := err.Error()
	return strings.Contains(msg, "invalid response body, status = 5") ||
		strings.Contains(msg, "unknown response body, status = 5") ||
		strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe")
}
