// Package auth holds the key pairs the local emulators accept. Both the OSS and
// the ECS emulator verify every request signature against a Store, so a test
// that configures a wrong secret, an unknown key or an expired STS token gets
// the same rejection it would get from Alibaba Cloud.
package auth

import (
	"sync"
	"time"
)

// Credential is one access key the emulators accept. A non-empty SecurityToken
// makes it an STS credential: requests signed with it must carry exactly this
// token. A non-zero Expiration makes the key invalid from that instant on.
type Credential struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	Expiration      time.Time
}

// Expired reports whether the credential has an expiration at or before now.
func (c Credential) Expired(now time.Time) bool {
	return !c.Expiration.IsZero() && !now.Before(c.Expiration)
}

// Store is a concurrency-safe set of credentials keyed by access key ID.
type Store struct {
	mu    sync.RWMutex
	creds map[string]Credential
}

// NewStore returns a Store holding creds.
func NewStore(creds ...Credential) *Store {
	s := &Store{creds: make(map[string]Credential, len(creds))}
	for _, c := range creds {
		s.Add(c)
	}
	return s
}

// Add adds c, replacing any credential with the same access key ID (tests use
// it to rotate a secret or to issue a fresh STS token).
func (s *Store) Add(c Credential) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.creds == nil {
		s.creds = make(map[string]Credential)
	}
	s.creds[c.AccessKeyID] = c
}

// Remove deletes the credential with access key ID id, if any.
func (s *Store) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.creds, id)
}

// Lookup returns the credential for access key ID id. It does not check
// expiry; callers compare Expiration with their own clock (see Expired).
// A nil Store knows no keys.
func (s *Store) Lookup(id string) (Credential, bool) {
	if s == nil {
		return Credential{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.creds[id]
	return c, ok
}
