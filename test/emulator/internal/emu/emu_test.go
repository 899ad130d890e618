package emu

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"
)

func TestIDFormats(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := STSCredential(exp)
	cases := []struct {
		name, got string
		want      *regexp.Regexp
	}{
		{"Random", Random(18, "0123456789abcdefghijklmnopqrstuvwxyz"), regexp.MustCompile(`^[0-9a-z]{18}$`)},
		{"Hex", Hex(12), regexp.MustCompile(`^[0-9A-F]{24}$`)},
		{"RequestID", RequestID(), regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)},
		{"AccessKeyID", c.AccessKeyID, regexp.MustCompile(`^STS\.[0-9A-Za-z]{12}$`)},
		{"AccessKeySecret", c.AccessKeySecret, regexp.MustCompile(`^[0-9A-Za-z]{20}$`)},
		{"SecurityToken", c.SecurityToken, regexp.MustCompile(`^CAIS[0-9A-Za-z]{40}$`)},
	}
	for _, tc := range cases {
		if !tc.want.MatchString(tc.got) {
			t.Errorf("%s = %q, want %s", tc.name, tc.got, tc.want)
		}
	}
	if !c.Expiration.Equal(exp) {
		t.Errorf("Expiration = %v, want %v", c.Expiration, exp)
	}
	if a, b := RequestID(), RequestID(); a == b {
		t.Errorf("two RequestIDs are both %q", a)
	}
}

func TestDropConnection(t *testing.T) {
	for _, abortive := range []bool{false, true} {
		dropped := make(chan bool, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			dropped <- DropConnection(w, abortive)
		}))
		resp, err := srv.Client().Get(srv.URL)
		if err == nil {
			resp.Body.Close()
			t.Errorf("abortive=%v: got a %s response, want the connection dropped", abortive, resp.Status)
		}
		if !<-dropped {
			t.Errorf("abortive=%v: DropConnection reported false on a hijackable connection", abortive)
		}
		srv.Close()
	}
	if DropConnection(httptest.NewRecorder(), true) {
		t.Errorf("DropConnection reported true on a writer that cannot be hijacked")
	}
}
