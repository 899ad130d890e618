package volumesnapshotter

import (
	"fmt"
	"strings"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/config"
)

// kind names the location in config error messages.
const kind = "VolumeSnapshotLocation"

// VolumeSnapshotLocation spec.config keys. README.md documents each one.
const (
	keyRegion                = "region"
	keyZone                  = "zone"
	keyCredentialsFile       = "credentialsFile"
	keyEndpoint              = "endpoint"
	keyRegionEndpoints       = "regionEndpoints"
	keyNetwork               = "network"
	keyKMSKeyID              = "kmsKeyId"
	keySnapshotRetentionDays = "snapshotRetentionDays"
	keyReplicaRegions        = "replicaRegions"
	keySnapshotTimeout       = "snapshotTimeout"
	keyCopyTimeout           = "copyTimeout"
	keyDiskTimeout           = "diskTimeout"
	keyPollInterval          = "pollInterval"
	keyCopiesAhead           = "copiesAhead"
	keyWaitForSnapshot       = "waitForSnapshot"
)

const (
	networkVPC    = "vpc"
	networkPublic = "public"

	defaultSnapshotTimeout = time.Hour
	defaultCopyTimeout     = 2 * time.Hour
	defaultDiskTimeout     = 10 * time.Minute
	defaultPollInterval    = 5 * time.Second

	// maxRetentionDays is the largest RetentionDays ECS accepts.
	maxRetentionDays = 65536
	// maxCopiesAhead caps copiesAhead (copy_ahead.go).
	maxCopiesAhead = 100
)

// settings is the validated VolumeSnapshotLocation config.
type settings struct {
	region          string
	zone            string
	credentialsFile string
	// endpoint is the location region's API host[:port] when the user set
	// one, and regionEndpoints those of other regions.
	endpoint        endpoint
	regionEndpoints map[string]endpoint
	network         string
	kmsKeyID        string
	retentionDays   int64 // -1: follow the Backup's TTL; 0: keep until Velero deletes it
	replicaRegions  []string
	snapshotTimeout time.Duration
	copyTimeout     time.Duration
	diskTimeout     time.Duration
	pollInterval    time.Duration
	copiesAhead     int // 0: each restore copies only its own snapshot
	// waitForSnapshot: CreateSnapshot returns once ECS reports the snapshot
	// accomplished, so a snapshot that ECS fails fails the backup.
	waitForSnapshot bool
}

func parseConfig(cfg map[string]string) (*settings, error) {
	return config.Parse(kind, cfg, readConfig)
}

// ConfigKeys returns the VolumeSnapshotLocation config keys the plugin
// accepts, sorted: those readConfig reads.
func ConfigKeys() []string {
	return config.KeysOf(kind, readConfig)
}

// readConfig reads every key through r before it checks anything, so that r
// knows them all when it reports unknown ones (and for ConfigKeys).
func readConfig(r *config.Reader) (*settings, error) {
	s := &settings{
		region:          strings.TrimSpace(r.String(keyRegion)),
		zone:            strings.TrimSpace(r.String(keyZone)),
		credentialsFile: r.String(keyCredentialsFile),
		kmsKeyID:        strings.TrimSpace(r.String(keyKMSKeyID)),
		network:         r.OneOf(keyNetwork, networkVPC, networkVPC, networkPublic),
		retentionDays:   r.Int(keySnapshotRetentionDays, -1, 0, maxRetentionDays),
		snapshotTimeout: r.Duration(keySnapshotTimeout, defaultSnapshotTimeout),
		copyTimeout:     r.Duration(keyCopyTimeout, defaultCopyTimeout),
		diskTimeout:     r.Duration(keyDiskTimeout, defaultDiskTimeout),
		pollInterval:    r.Duration(keyPollInterval, defaultPollInterval),
		copiesAhead:     int(r.Int(keyCopiesAhead, defaultCopiesAhead, 0, maxCopiesAhead)),
		waitForSnapshot: r.Bool(keyWaitForSnapshot, false),
	}
	rawEndpoint := r.String(keyEndpoint)
	regionEndpoints := r.List(keyRegionEndpoints)
	replicaRegions := r.List(keyReplicaRegions)
	if err := r.Err(); err != nil {
		return nil, err
	}

	if s.region == "" {
		return nil, fmt.Errorf("%s config: %s is required; set it to the region of the cluster's disks, e.g. cn-hangzhou", kind, keyRegion)
	}
	if !config.RegionID.MatchString(s.region) {
		return nil, fmt.Errorf("%s config: %s %q is not a region ID; use one such as cn-hangzhou", kind, keyRegion, s.region)
	}
	if s.zone != "" && !config.RegionID.MatchString(s.zone) {
		return nil, fmt.Errorf("%s config: %s %q is not a zone ID; use one such as %s-h", kind, keyZone, s.zone, s.region)
	}
	// Zones extend the region ID: cn-hangzhou-h, ap-southeast-1a.
	if s.zone != "" && (!strings.HasPrefix(s.zone, s.region) || len(s.zone) == len(s.region)) {
		return nil, fmt.Errorf("%s config: %s %q is not a zone of region %q; use a zone of that region such as %s-h", kind, keyZone, s.zone, s.region, s.region)
	}
	var err error
	if s.endpoint, err = parseEndpoint(keyEndpoint, rawEndpoint); err != nil {
		return nil, err
	}
	if s.regionEndpoints, err = parseRegionEndpoints(regionEndpoints, s.region); err != nil {
		return nil, err
	}
	if s.replicaRegions, err = parseReplicaRegions(replicaRegions, s.region); err != nil {
		return nil, err
	}
	for _, d := range []struct {
		key      string
		got, def time.Duration
	}{
		{keySnapshotTimeout, s.snapshotTimeout, defaultSnapshotTimeout},
		{keyCopyTimeout, s.copyTimeout, defaultCopyTimeout},
		{keyDiskTimeout, s.diskTimeout, defaultDiskTimeout},
		{keyPollInterval, s.pollInterval, defaultPollInterval},
	} {
		if d.got == 0 {
			return nil, fmt.Errorf("%s config: %s must be greater than zero, e.g. %s", kind, d.key, d.def)
		}
	}
	return s, nil
}

// endpoint is an ECS API endpoint as the SDK takes it: the host[:port] and
// the protocol, "HTTPS" or "HTTP".
type endpoint struct{ host, protocol string }

// parseEndpoint accepts host[:port], https://host[:port] or http://host[:port]
// (the last for a local emulator).
func parseEndpoint(key, v string) (endpoint, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return endpoint{}, nil
	}
	u, ok := config.EndpointURL(v)
	if !ok {
		return endpoint{}, fmt.Errorf("%s config: %s %q must be a host name with an optional port and scheme, e.g. ecs-vpc.cn-hangzhou.aliyuncs.com or https://ecs.cn-hangzhou.aliyuncs.com", kind, key, v)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return endpoint{u.Host, "HTTPS"}, nil
	case "http":
		return endpoint{u.Host, "HTTP"}, nil
	}
	return endpoint{}, fmt.Errorf("%s config: %s %q has scheme %q; use https:// (or http:// for a local emulator)", kind, key, v, u.Scheme)
}

// parseRegionEndpoints checks the entries of "region=endpoint,region=endpoint".
func parseRegionEndpoints(entries []string, home string) (map[string]endpoint, error) {
	out := map[string]endpoint{}
	for _, entry := range entries {
		region, value, ok := strings.Cut(entry, "=")
		region = strings.TrimSpace(region)
		if !ok || !config.RegionID.MatchString(region) {
			return nil, fmt.Errorf("%s config: %s entry %q must be <region>=<endpoint>, e.g. cn-beijing=ecs.cn-beijing.aliyuncs.com", kind, keyRegionEndpoints, entry)
		}
		if region == home {
			return nil, fmt.Errorf("%s config: %s lists the location's own region %q; set %s for it instead", kind, keyRegionEndpoints, region, keyEndpoint)
		}
		if _, dup := out[region]; dup {
			return nil, fmt.Errorf("%s config: %s lists region %q twice", kind, keyRegionEndpoints, region)
		}
		e, err := parseEndpoint(keyRegionEndpoints, value)
		if err != nil {
			return nil, err
		}
		if e.host == "" {
			return nil, fmt.Errorf("%s config: %s entry %q has no endpoint after '='", kind, keyRegionEndpoints, entry)
		}
		out[region] = e
	}
	return out, nil
}

func parseReplicaRegions(regions []string, home string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, r := range regions {
		if !config.RegionID.MatchString(r) {
			return nil, fmt.Errorf("%s config: %s: %q is not a region ID; list regions such as cn-beijing,cn-shanghai", kind, keyReplicaRegions, r)
		}
		if r == home {
			return nil, fmt.Errorf("%s config: %s lists %q, which is the location's own region; list only other regions", kind, keyReplicaRegions, r)
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// ecsEndpoint is the API endpoint for calls about region. A VPC endpoint
// (ecs-vpc.<region>.aliyuncs.com) answers only callers inside that region's
// network, so it serves the location's own region alone; every other region
// (the source of a cross-region restore, replicaRegions, a plain upstream
// snapshot ID's search) is called at its configured regionEndpoints entry,
// else at its public endpoint.
func (s *settings) ecsEndpoint(region string) endpoint {
	if region != s.region {
		if e, ok := s.regionEndpoints[region]; ok {
			return e
		}
		return endpoint{"ecs." + region + ".aliyuncs.com", "HTTPS"}
	}
	switch {
	case s.endpoint.host != "":
		return s.endpoint
	case s.network == networkPublic:
		return endpoint{"ecs." + region + ".aliyuncs.com", "HTTPS"}
	}
	return endpoint{"ecs-vpc." + region + ".aliyuncs.com", "HTTPS"}
}
