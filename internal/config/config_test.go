package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateKeys(t *testing.T) {
	tests := []struct {
		name    string
		cfg     map[string]string
		wantErr []string
	}{
		{name: "all known", cfg: map[string]string{"region": "cn-hangzhou", "bucket": "b"}},
		{name: "empty", cfg: nil},
		{
			name:    "unknown keys named, valid ones listed",
			cfg:     map[string]string{"regoin": "x", "bucket": "b", "zzz": "1"},
			wantErr: []string{`BackupStorageLocation config`, `"regoin"`, `"zzz"`, "valid keys are: bucket, region"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateKeys("BackupStorageLocation", tc.cfg, "region", "bucket")
			checkErr(t, err, tc.wantErr)
		})
	}
}

func TestOneOf(t *testing.T) {
	tests := []struct {
		value, want string
		wantErr     []string
	}{
		{value: "", want: "public"},
		{value: "internal", want: "internal"},
		{value: "Internal", wantErr: []string{`network "Internal" is not valid`, "internal, public"}},
	}
	for _, tc := range tests {
		got, err := OneOf("BackupStorageLocation", map[string]string{"network": tc.value}, "network", "public", "internal", "public")
		checkErr(t, err, tc.wantErr)
		if got != tc.want {
			t.Errorf("OneOf(%q) = %q, want %q", tc.value, got, tc.want)
		}
	}
}

func TestIntBoolDuration(t *testing.T) {
	cfg := map[string]string{"n": "12", "big": "99", "nan": "x", "b": "true", "nb": "yes", "d": "90s", "nd": "-1s"}
	if n, err := Int("K", cfg, "n", 5, 1, 20); err != nil || n != 12 {
		t.Errorf("Int(n) = %d, %v", n, err)
	}
	if n, err := Int("K", cfg, "missing", 5, 1, 20); err != nil || n != 5 {
		t.Errorf("Int(missing) = %d, %v, want default 5", n, err)
	}
	_, err := Int("K", cfg, "big", 5, 1, 20)
	checkErr(t, err, []string{`big "99" must be an integer from 1 to 20`})
	_, err = Int("K", cfg, "nan", 5, 1, 20)
	checkErr(t, err, []string{`nan "x"`})
	if b, err := Bool("K", cfg, "b", false); err != nil || !b {
		t.Errorf("Bool(b) = %v, %v", b, err)
	}
	_, err = Bool("K", cfg, "nb", false)
	checkErr(t, err, []string{`nb "yes" must be true or false`})
	if d, err := Duration("K", cfg, "d", time.Minute); err != nil || d != 90*time.Second {
		t.Errorf("Duration(d) = %v, %v", d, err)
	}
	_, err = Duration("K", cfg, "nd", time.Minute)
	checkErr(t, err, []string{`nd "-1s" must be a duration`})
}

func TestList(t *testing.T) {
	got := List(map[string]string{"r": " cn-beijing, ,cn-shanghai ,"}, "r")
	if strings.Join(got, "|") != "cn-beijing|cn-shanghai" {
		t.Errorf("List = %q", got)
	}
	if got := List(map[string]string{}, "r"); len(got) != 0 {
		t.Errorf("List of unset key = %q, want empty", got)
	}
}

func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("expected an error containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestEndpointURL(t *testing.T) {
	tests := []struct {
		raw, want string // want "" = rejected
	}{
		{"oss-cn-hangzhou.aliyuncs.com", "https://oss-cn-hangzhou.aliyuncs.com"},
		{"http://127.0.0.1:9000/", "http://127.0.0.1:9000/"},
		{"ftp://host", "ftp://host"}, // the scheme is the caller's to check
		{"https://host/path", ""},
		{"https://host?x=1", ""},
		{"https://user@host", ""},
		{"https://", ""},
	}
	for _, tt := range tests {
		got := ""
		if u, ok := EndpointURL(tt.raw); ok {
			got = u.String()
		}
		if got != tt.want {
			t.Errorf("EndpointURL(%q) = %q, want %q (\"\" = rejected)", tt.raw, got, tt.want)
		}
	}
	for _, id := range []string{"cn-hangzhou", "ap-southeast-1", "cn-hangzhou-h", "cn-shanghai-finance-1"} {
		if !RegionID.MatchString(id) {
			t.Errorf("RegionID rejects %q", id)
		}
	}
	for _, id := range []string{"Hangzhou", "cn", "cn_hangzhou"} {
		if RegionID.MatchString(id) {
			t.Errorf("RegionID accepts %q", id)
		}
	}
}
