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
		{value: "Internal", want: "public", wantErr: []string{`network "Internal" is not valid`, "internal, public"}},
	}
	for _, tc := range tests {
		r := NewReader("BackupStorageLocation", map[string]string{"network": tc.value})
		got := r.OneOf("network", "public", "internal", "public")
		checkErr(t, r.Err(), tc.wantErr)
		if got != tc.want {
			t.Errorf("OneOf(%q) = %q, want %q", tc.value, got, tc.want)
		}
	}
}

func TestIntBoolDuration(t *testing.T) {
	cfg := map[string]string{"n": "12", "big": "99", "nan": "x", "b": "true", "nb": "yes", "d": "90s", "nd": "-1s"}
	// reader returns a fresh Reader so that each error is the first one.
	reader := func() *Reader { return NewReader("K", cfg) }
	if r := reader(); r.Int("n", 5, 1, 20) != 12 || r.err != nil {
		t.Errorf("Int(n) = %d, %v", r.Int("n", 5, 1, 20), r.err)
	}
	if r := reader(); r.Int("missing", 5, 1, 20) != 5 || r.err != nil {
		t.Errorf("Int(missing) = %d, %v, want default 5", r.Int("missing", 5, 1, 20), r.err)
	}
	r := reader()
	r.Int("big", 5, 1, 20)
	checkErr(t, r.err, []string{`big "99" must be an integer from 1 to 20`})
	r = reader()
	r.Int("nan", 5, 1, 20)
	checkErr(t, r.err, []string{`nan "x"`})
	if r := reader(); !r.Bool("b", false) || r.err != nil {
		t.Errorf("Bool(b) = false, %v", r.err)
	}
	r = reader()
	r.Bool("nb", false)
	checkErr(t, r.err, []string{`nb "yes" must be true or false`})
	if r := reader(); r.Duration("d", time.Minute) != 90*time.Second || r.err != nil {
		t.Errorf("Duration(d) = %v, %v", r.Duration("d", time.Minute), r.err)
	}
	r = reader()
	r.Duration("nd", time.Minute)
	checkErr(t, r.err, []string{`nd "-1s" must be a duration`})
	// The exported Bool, for callers outside a Reader, says the same.
	_, err := Bool("K", cfg, "nb", false)
	checkErr(t, err, []string{`K config: nb "yes" must be true or false`})
}

func TestList(t *testing.T) {
	got := NewReader("K", map[string]string{"r": " cn-beijing, ,cn-shanghai ,"}).List("r")
	if strings.Join(got, "|") != "cn-beijing|cn-shanghai" {
		t.Errorf("List = %q", got)
	}
	if got := NewReader("K", map[string]string{}).List("r"); len(got) != 0 {
		t.Errorf("List of unset key = %q, want empty", got)
	}
}

// TestReader reads a whole config the way the plugins do and checks the
// values, the sticky error and the keys the reader knows.
func TestReader(t *testing.T) {
	type values struct {
		region   string
		network  string
		parts    int64
		wait     bool
		timeout  time.Duration
		replicas []string
	}
	read := func(r *Reader) values {
		r.PassThrough("bucket", "prefix")
		return values{
			region:   r.String("region"),
			network:  r.OneOf("network", "public", "internal", "public"),
			parts:    r.Int("parts", 8, 1, 64),
			wait:     r.Bool("wait", false),
			timeout:  r.Duration("timeout", time.Hour),
			replicas: r.List("replicas"),
		}
	}
	tests := []struct {
		name    string
		cfg     map[string]string
		want    values
		wantErr []string // substrings; nil = no error
	}{
		{
			name: "nil config gives the defaults",
			want: values{network: "public", parts: 8, timeout: time.Hour},
		},
		{
			name: "empty values count as unset",
			cfg:  map[string]string{"region": "", "network": "", "parts": "", "wait": "", "timeout": "", "replicas": ""},
			want: values{network: "public", parts: 8, timeout: time.Hour},
		},
		{
			name: "every getter",
			cfg: map[string]string{"region": " cn-hangzhou ", "network": "internal", "parts": " 16 ", "wait": "true",
				"timeout": "90s", "replicas": "cn-beijing, cn-shanghai", "bucket": "b", "prefix": "p"},
			want: values{region: " cn-hangzhou ", network: "internal", parts: 16, wait: true, timeout: 90 * time.Second,
				replicas: []string{"cn-beijing", "cn-shanghai"}},
		},
		{
			name:    "first getter error wins over later ones and over unknown keys",
			cfg:     map[string]string{"network": "vpc", "parts": "0", "wait": "yes", "regoin": "x"},
			want:    values{network: "public", parts: 8, timeout: time.Hour},
			wantErr: []string{`K config: network "vpc" is not valid; use one of: internal, public`},
		},
		{
			name:    "a later getter's error when earlier values are good",
			cfg:     map[string]string{"parts": "65", "timeout": "soon"},
			want:    values{network: "public", parts: 8, timeout: time.Hour},
			wantErr: []string{`K config: parts "65" must be an integer from 1 to 64`},
		},
		{
			name: "unknown keys named, known ones listed",
			cfg:  map[string]string{"regoin": "x", "bucket": "b", "zzz": "1"},
			want: values{network: "public", parts: 8, timeout: time.Hour},
			wantErr: []string{`K config: unknown key(s) "regoin", "zzz"; valid keys are: ` +
				"bucket, network, parts, prefix, region, replicas, timeout, wait"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader("K", tc.cfg)
			got := read(r)
			checkErr(t, r.Err(), tc.wantErr)
			if got.region != tc.want.region || got.network != tc.want.network || got.parts != tc.want.parts ||
				got.wait != tc.want.wait || got.timeout != tc.want.timeout ||
				strings.Join(got.replicas, "|") != strings.Join(tc.want.replicas, "|") {
				t.Errorf("values = %+v, want %+v", got, tc.want)
			}
			if keys := strings.Join(r.Keys(), ", "); keys != "bucket, network, parts, prefix, region, replicas, timeout, wait" {
				t.Errorf("Keys() = %s", keys)
			}
		})
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
