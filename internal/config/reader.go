package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Reader reads one spec.config map. Its getters return a key's value or
// their default and record the key as known; the first value that does not
// parse is kept as a sticky error, so a plugin reads every key in a row and
// checks Err once:
//
//	r := config.NewReader("BackupStorageLocation", cfg)
//	r.PassThrough("bucket", "prefix")
//	network := r.OneOf("network", "public", "internal", "public")
//	parts := r.Int("uploadConcurrency", 8, 1, 64)
//	if err := r.Err(); err != nil {
//		return err
//	}
//
// An empty value counts as unset. Read every key before calling Err: keys
// not read by then are reported as unknown.
type Reader struct {
	kind  string
	cfg   map[string]string
	known map[string]bool
	err   error
}

// NewReader returns a Reader for cfg. kind names the location in every
// message, e.g. "BackupStorageLocation".
func NewReader(kind string, cfg map[string]string) *Reader {
	return &Reader{kind: kind, cfg: cfg, known: map[string]bool{}}
}

// lookup records key as known and returns its value, ok false when it is
// unset or empty.
func (r *Reader) lookup(key string) (string, bool) {
	r.known[key] = true
	v := r.cfg[key]
	return v, v != ""
}

func (r *Reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// String returns the value of key exactly as given ("" when unset); callers
// trim it where white space does not matter.
func (r *Reader) String(key string) string {
	v, _ := r.lookup(key)
	return v
}

// OneOf returns the value of key, or def when it is unset; a value that is
// not one of choices is an error. Matching is case-sensitive because the
// values are sent to Alibaba Cloud as they are.
func (r *Reader) OneOf(key, def string, choices ...string) string {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	for _, c := range choices {
		if v == c {
			return v
		}
	}
	r.fail(fmt.Errorf("%s config: %s %q is not valid; use one of: %s", r.kind, key, v, strings.Join(choices, ", ")))
	return def
}

// Int returns the integer value of key, or def when it is unset; a value
// that is not an integer within [min, max] is an error.
func (r *Reader) Int(key string, def, min, max int64) int64 {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < min || n > max {
		r.fail(fmt.Errorf("%s config: %s %q must be an integer from %d to %d", r.kind, key, v, min, max))
		return def
	}
	return n
}

// Bool returns the boolean value of key, or def when it is unset.
func (r *Reader) Bool(key string, def bool) bool {
	r.known[key] = true
	b, err := Bool(r.kind, r.cfg, key, def)
	if err != nil {
		r.fail(err)
		return def
	}
	return b
}

// Duration returns the duration value of key (Go syntax, e.g. "30m"), or def
// when it is unset; a value that does not parse or is negative is an error.
func (r *Reader) Duration(key string, def time.Duration) time.Duration {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		r.fail(fmt.Errorf("%s config: %s %q must be a duration such as 30s, 10m or 2h", r.kind, key, v))
		return def
	}
	return d
}

// List splits the comma-separated value of key into trimmed, non-empty
// items; nil when it is unset.
func (r *Reader) List(key string) []string {
	v, _ := r.lookup(key)
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// PassThrough marks keys as known without reading them: keys that Velero
// passes and reads itself (an object store's bucket and prefix), or that
// the plugin reads elsewhere.
func (r *Reader) PassThrough(keys ...string) {
	for _, k := range keys {
		r.known[k] = true
	}
}

// Err returns the first getter error or, when there is none, an error
// naming the keys of cfg that were neither read nor passed through.
func (r *Reader) Err() error {
	if r.err != nil {
		return r.err
	}
	var unknown []string
	for k := range r.cfg {
		if !r.known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return fmt.Errorf("%s config: unknown key(s) %s; valid keys are: %s",
		r.kind, quoteAll(unknown), strings.Join(r.Keys(), ", "))
}

// Keys returns the keys read or passed through so far, sorted.
func (r *Reader) Keys() []string {
	keys := make([]string, 0, len(r.known))
	for k := range r.known {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func quoteAll(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = strconv.Quote(k)
	}
	return strings.Join(q, ", ")
}

// Parse validates cfg with read, a plugin's reading of its keys.
func Parse[T any](kind string, cfg map[string]string, read func(*Reader) (T, error)) (T, error) {
	return read(NewReader(kind, cfg))
}

// KeysOf returns the keys read accepts, sorted. read must read every key
// before it returns an error, as it does for an empty config.
func KeysOf[T any](kind string, read func(*Reader) (T, error)) []string {
	r := NewReader(kind, nil)
	_, _ = read(r)
	return r.Keys()
}
