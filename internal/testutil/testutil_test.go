package testutil

import (
	"os"
	"strings"
	"sync"
	"testing"
)

func TestLogConcurrentWriters(t *testing.T) {
	l := &Log{}
	log := l.Logger()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				log.Debug("line")
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(l.String(), "level=debug msg=line\n"); n != 400 {
		t.Errorf("%d whole debug lines logged, want 400:\n%s", n, l.String())
	}
}

func TestCredentialsFile(t *testing.T) {
	for _, tc := range []struct{ token, want string }{
		{"", "ALIBABA_CLOUD_ACCESS_KEY_ID=id\nALIBABA_CLOUD_ACCESS_KEY_SECRET=secret\n"},
		{"tok", "ALIBABA_CLOUD_ACCESS_KEY_ID=id\nALIBABA_CLOUD_ACCESS_KEY_SECRET=secret\nALIBABA_CLOUD_SECURITY_TOKEN=tok\n"},
	} {
		p := CredentialsFile(t, "id", "secret", tc.token)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("token %q: file %q, want %q", tc.token, b, tc.want)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("token %q: mode %v, want 0600", tc.token, fi.Mode().Perm())
		}
	}
}
