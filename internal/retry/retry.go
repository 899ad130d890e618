// Package retry is the one retry policy of the plugins: capped exponential
// backoff with full jitter, the same numbers, attempt numbering and log line
// for OSS and ECS. Each plugin keeps its own table of the service codes worth
// retrying and passes it as Call.Retryable; IsTransportError is the shared
// reading of failures before the service answered.
package retry

import (
	"math/rand/v2"
	"time"

	"github.com/sirupsen/logrus"
)

// Policy is capped exponential backoff with full jitter: the wait after
// failed attempt n (1-based) is uniform in [0, min(Base*2^(n-1), Max)].
type Policy struct {
	Attempts int           // total tries, >= 1
	Base     time.Duration // cap of the first wait
	Max      time.Duration // cap of every wait
}

// Default is the policy of both plugins. 8 attempts with waits capped at
// 0.5, 1, 2, 4, 8, 16 and 20 s sleep at most 51.5 s (about 26 s on
// average): long enough to ride out a throttling burst or an endpoint that
// restarts within about a minute, short enough that one backup item does
// not hang for minutes while Velero waits for it. For comparison the
// Alibaba Cloud OSS SDK v2 default is 3 attempts, 200 ms base and a 20 s
// cap with full jitter, which gives up within a second or so, before a
// throttled API or a restarting endpoint recovers; Terraform's alicloud
// provider retries throttled calls every few seconds until the resource's
// timeout (minutes), which suits an interactive apply, not a backup of many
// items. Full jitter (rather than equal jitter) spreads the retries of the
// plugin's concurrent workers, which fail together, the most.
var Default = Policy{Attempts: 8, Base: 500 * time.Millisecond, Max: 20 * time.Second}

// Delay returns the wait after failed attempt n (1-based): a random duration
// in [0, min(Base*2^(n-1), Max)].
func (p Policy) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	ceil := p.Max
	// Base<<(n-1) unless that overflows or passes Max.
	if d := p.Base << (n - 1); n <= 63 && d > 0 && d>>(n-1) == p.Base && d < p.Max {
		ceil = d
	}
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil + 1)
}

// Call describes one retried operation for Do.
type Call struct {
	// Service names the service in the log line ("OSS", "ECS").
	Service string
	// Op is the operation, logged as "operation".
	Op string
	// Log carries the caller's own fields (bucket and key, region, ...).
	Log logrus.FieldLogger
	// Retryable reports whether a failure may succeed when sent again.
	Retryable func(error) bool
	// Code returns the service's error code of a failure, logged as "code"
	// when not empty. Optional.
	Code func(error) string
	// Describe returns the text of a failure that may be logged (without
	// signatures or tokens). Optional: nil logs err.Error().
	Describe func(error) string
}

// Do calls fn until it returns nil, a failure c.Retryable rejects, or
// p.Attempts calls have been made, and returns fn's last error. Before each
// retry it logs at Info, with c.Log's fields and operation, attempt (the
// 1-based number of the attempt that failed), backoff and code, and sleeps
// Delay(attempt).
func (p Policy) Do(c Call, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt >= p.Attempts || !c.Retryable(err) {
			return err
		}
		wait := p.Delay(attempt)
		fields := logrus.Fields{"operation": c.Op, "attempt": attempt, "backoff": wait.Round(time.Millisecond).String()}
		if c.Code != nil {
			if code := c.Code(err); code != "" {
				fields["code"] = code
			}
		}
		msg := err.Error()
		if c.Describe != nil {
			msg = c.Describe(err)
		}
		c.Log.WithFields(fields).WithField("error", msg).Infof("transient %s error, retrying", c.Service)
		time.Sleep(wait)
	}
}
