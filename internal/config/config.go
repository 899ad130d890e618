// Package config validates the spec.config maps that Velero hands to the
// plugins (BackupStorageLocation and VolumeSnapshotLocation). Config keys are
// part of the user interface, so every plugin reports problems the same way:
// the location kind, the key, what is wrong and how to fix it.
package config

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RegionID matches Alibaba Cloud region IDs (cn-hangzhou, ap-southeast-1,
// cn-shanghai-finance-1) and zone IDs, which extend them (cn-hangzhou-h).
var RegionID = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)

// EndpointURL parses an endpoint given as host[:port] or scheme://host[:port],
// https when no scheme is given. It reports false when there is no host, or
// there is a path, query or user info; which schemes to allow is the
// caller's choice.
func EndpointURL(raw string) (*url.URL, bool) {
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, false
	}
	return u, true
}

// ValidateKeys rejects keys that are not in valid. Velero passes some keys of
// its own (for example "bucket" and "prefix" for object stores); callers list
// them among the valid keys. kind names the location in the message, e.g.
// "BackupStorageLocation".
func ValidateKeys(kind string, cfg map[string]string, valid ...string) error {
	allowed := make(map[string]bool, len(valid))
	for _, k := range valid {
		allowed[k] = true
	}
	var unknown []string
	for k := range cfg {
		if !allowed[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	sorted := append([]string(nil), valid...)
	sort.Strings(sorted)
	return fmt.Errorf("%s config: unknown key(s) %s; valid keys are: %s",
		kind, quoteAll(unknown), strings.Join(sorted, ", "))
}

// OneOf returns the value of key, or def when it is unset, and an error when
// the value is not one of choices. Matching is case-sensitive because the
// values are sent to Alibaba Cloud as they are.
func OneOf(kind string, cfg map[string]string, key, def string, choices ...string) (string, error) {
	v, ok := cfg[key]
	if !ok || v == "" {
		return def, nil
	}
	for _, c := range choices {
		if v == c {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s config: %s %q is not valid; use one of: %s", kind, key, v, strings.Join(choices, ", "))
}

// Int returns the integer value of key, or def when unset, and an error when
// it is not an integer within [min, max].
func Int(kind string, cfg map[string]string, key string, def, min, max int64) (int64, error) {
	v, ok := cfg[key]
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("%s config: %s %q must be an integer from %d to %d", kind, key, v, min, max)
	}
	return n, nil
}

// Bool returns the boolean value of key, or def when unset.
func Bool(kind string, cfg map[string]string, key string, def bool) (bool, error) {
	v, ok := cfg[key]
	if !ok || v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, fmt.Errorf("%s config: %s %q must be true or false", kind, key, v)
	}
	return b, nil
}

// Duration returns the duration value of key (Go syntax, e.g. "30m"), or def
// when unset, and an error when it does not parse or is negative.
func Duration(kind string, cfg map[string]string, key string, def time.Duration) (time.Duration, error) {
	v, ok := cfg[key]
	if !ok || v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s config: %s %q must be a duration such as 30s, 10m or 2h", kind, key, v)
	}
	return d, nil
}

// List splits a comma-separated value into trimmed, non-empty items.
func List(cfg map[string]string, key string) []string {
	var out []string
	for _, item := range strings.Split(cfg[key], ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func quoteAll(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = strconv.Quote(k)
	}
	return strings.Join(q, ", ")
}
