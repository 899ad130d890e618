package oss

import (
	"testing"
	"time"
)

// TestPresignedTime runs the presigned-URL time checks both V4 schemes share,
// with each scheme's own answer to a failure.
func TestPresignedTime(t *testing.T) {
	signed := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	date := signed.Format(v4DateFormat)
	for _, sch := range []struct {
		name     string
		scheme   v4Scheme
		badParam string // the code of a malformed date or lifetime
	}{
		{"oss", ossV4, "InvalidArgument"},
		{"s3", s3V4, "AuthorizationQueryParametersError"},
	} {
		for _, c := range []struct {
			name, date, expires string
			now                 time.Duration // after signing
			status              int           // 0 = accepted
			code                string
		}{
			{"within its lifetime", date, "600", 5 * time.Minute, 0, ""},
			{"lifetime of a week", date, "604800", 6 * 24 * time.Hour, 0, ""},
			{"expired", date, "600", 11 * time.Minute, 403, "AccessDenied"},
			{"signed 16 min ahead of the clock", date, "3600", -16 * time.Minute, 403, "RequestTimeTooSkewed"},
			{"signed 14 min ahead of the clock", date, "3600", -14 * time.Minute, 0, ""},
			{"date not ISO 8601", "2026-12-02T12:00:00Z", "600", 0, 400, sch.badParam},
			{"lifetime over a week", date, "604801", 0, 400, sch.badParam},
			{"lifetime zero", date, "0", 0, 400, sch.badParam},
			{"lifetime not a number", date, "ten", 0, 400, sch.badParam},
		} {
			t.Run(sch.name+"/"+c.name, func(t *testing.T) {
				got, e := sch.scheme.presignedTime(c.date, c.expires, signed.Add(c.now))
				switch {
				case c.status == 0 && e != nil:
					t.Fatalf("refused: %d %s %s", e.Status, e.Code, e.Message)
				case c.status == 0 && !got.Equal(signed):
					t.Fatalf("signing time %s, want %s", got, signed)
				case c.status != 0 && (e == nil || e.Status != c.status || e.Code != c.code):
					t.Fatalf("got %+v, want %d %s", e, c.status, c.code)
				}
			})
		}
	}
}
