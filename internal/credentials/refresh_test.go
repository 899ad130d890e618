package credentials

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/credentials-go/credentials/providers"
	"github.com/sirupsen/logrus"
)

// scripted stands in for a credentials-go provider to drive the fallback
// logic with a fake clock (the real providers are exercised against the
// emulators in provider_test.go).
type scripted struct {
	calls int
	next  func() (*providers.Credentials, error)
}

func (s *scripted) GetCredentials() (*providers.Credentials, error) { s.calls++; return s.next() }
func (s *scripted) GetProviderName() string                         { return "scripted" }

func TestFallbackOnlyWhileValid(t *testing.T) {
	ok := func(id string) func() (*providers.Credentials, error) {
		return func() (*providers.Credentials, error) {
			return &providers.Credentials{AccessKeyId: id, AccessKeySecret: "sec-" + id, SecurityToken: "tok-" + id}, nil
		}
	}
	fail := func() (*providers.Credentials, error) {
		return nil, errors.New("refresh session token failed: {\"Code\":\"InternalError\"}")
	}
	tests := []struct {
		name     string
		lifetime time.Duration
		failAt   time.Duration // when the refresh fails, after the first fetch
		wantErr  bool
	}{
		{"known expiry, still valid: old credential", 15 * time.Minute, 13 * time.Minute, false},
		{"known expiry, expired: error", 15 * time.Minute, 16 * time.Minute, true},
		{"unknown expiry (ECS): error", 0, time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			inner := &scripted{next: ok("A")}
			l := logrus.New()
			l.SetOutput(io.Discard)
			p := &Provider{kind: "BackupStorageLocation", source: "test", inner: inner, lifetime: tt.lifetime, log: l,
				now: func() time.Time { return now }}
			first, err := p.Get()
			if err != nil || first.AccessKeyID != "A" {
				t.Fatal(first, err)
			}
			if tt.lifetime > 0 && !first.Expiration.Equal(now.Add(tt.lifetime)) {
				t.Errorf("expiration %v", first.Expiration)
			}
			now = now.Add(tt.failAt)
			inner.next = fail
			got, err := p.Get()
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "InternalError") || !strings.Contains(err.Error(), "BackupStorageLocation credentials from test") {
					t.Fatalf("want the refresh error, got %v, %v", got, err)
				}
				return
			}
			if err != nil || got.AccessKeyID != "A" {
				t.Fatalf("want the old credential, got %v, %v", got, err)
			}
			// No retry until retryInterval has passed, then one retry.
			calls := inner.calls
			now = now.Add(retryInterval / 2)
			_, _ = p.Get()
			if inner.calls != calls {
				t.Errorf("retried within %v", retryInterval)
			}
			now = now.Add(retryInterval)
			inner.next = ok("B")
			got, err = p.Get()
			if err != nil || got.AccessKeyID != "B" || inner.calls != calls+1 {
				t.Errorf("after the retry interval: %v, %v, calls %d", got, err, inner.calls-calls)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	const secret = "a/b+c=d e~f"
	secrets := []string{secret, "tok"}
	for _, form := range []string{
		secret,
		"a%2Fb%2Bc%3Dd+e~f",           // query-escaped
		"a%2Fb%2Bc%3Dd%20e~f",         // RPC percent-encoded
		"a%252Fb%252Bc%253Dd%2520e~f", // inside an RPC string to sign
	} {
		got := scrub("x "+form+" y", secrets)
		if got != "x "+redacted+" y" {
			t.Errorf("scrub(%q) = %q", form, got)
		}
	}
}
