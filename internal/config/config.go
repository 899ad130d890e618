// Package config validates the spec.config maps that Velero hands to the
// plugins (BackupStorageLocation and VolumeSnapshotLocation). Config keys are
// part of the user interface, so every plugin reports problems the same way:
// the location kind, the key, what is wrong and how to fix it.
package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
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

// ValidateKeys rejects keys that are not in valid; kind names the location
// in the message, e.g. "BackupStorageLocation". Plugins that read their
// keys use a Reader, which knows them without a list.
func ValidateKeys(kind string, cfg map[string]string, valid ...string) error {
	r := NewReader(kind, cfg)
	r.PassThrough(valid...)
	return r.Err()
}

// Bool returns the boolean value of key, or def when unset. It serves
// callers that check one setting at a time (restore-actions); plugins
// reading a location config use Reader.Bool.
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
