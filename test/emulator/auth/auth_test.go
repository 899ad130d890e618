package auth

import (
	"testing"
	"time"
)

func TestStore(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewStore(Credential{AccessKeyID: "a", AccessKeySecret: "1"})
	s.Add(Credential{AccessKeyID: "sts", AccessKeySecret: "2", SecurityToken: "t", Expiration: now})
	cases := []struct {
		id          string
		found       bool
		secret      string
		expiredAt   time.Time
		wantExpired bool
	}{
		{"a", true, "1", now.Add(100 * 365 * 24 * time.Hour), false},
		{"sts", true, "2", now.Add(-time.Second), false},
		{"sts", true, "2", now, true},
		{"missing", false, "", now, false},
	}
	for _, c := range cases {
		got, ok := s.Lookup(c.id)
		if ok != c.found || got.AccessKeySecret != c.secret {
			t.Errorf("Lookup(%q) = %+v, %v", c.id, got, ok)
		}
		if ok && got.Expired(c.expiredAt) != c.wantExpired {
			t.Errorf("%q Expired(%v) = %v", c.id, c.expiredAt, !c.wantExpired)
		}
	}
	s.Add(Credential{AccessKeyID: "a", AccessKeySecret: "rotated"})
	if c, _ := s.Lookup("a"); c.AccessKeySecret != "rotated" {
		t.Errorf("Add did not replace: %+v", c)
	}
	s.Remove("a")
	if _, ok := s.Lookup("a"); ok {
		t.Error("Remove did not remove")
	}
	var nilStore *Store
	if _, ok := nilStore.Lookup("a"); ok {
		t.Error("nil store found a key")
	}
}
