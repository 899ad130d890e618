package main

import (
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
)

const defaultECSRegions = "cn-hangzhou:cn-hangzhou-h,cn-hangzhou-i;cn-beijing:cn-beijing-a"

func init() {
	var (
		addr, regions, zoneCats, soldOut string
		cfg                              ecs.Config
		f                                fault.Config
	)
	register(service{
		Name: "ecs",
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&addr, "ecs-addr", "", "listen address of the ECS emulator, e.g. 127.0.0.1:0 (empty = do not start)")
			fs.StringVar(&regions, "regions", defaultECSRegions, "ECS regions and zones: region:zone,zone;region:zone")
			fs.StringVar(&zoneCats, "zone-categories", "", "disk categories per zone, e.g. cn-beijing-a:cloud_essd,cloud_efficiency;... (unlisted zones support all)")
			fs.Float64Var(&f.ThrottleRate, "ecs-throttle-rate", 0, "share of ECS requests answered 400 Throttling (0..1)")
			fs.Float64Var(&f.ErrorRate, "ecs-error-rate", 0, "share of ECS requests answered 503 ServiceUnavailable (0..1)")
			fs.DurationVar(&cfg.SnapshotDuration, "snapshot-duration", 2*time.Second, "how long an ECS snapshot stays progressing")
			fs.DurationVar(&cfg.CopyDuration, "copy-duration", 2*time.Second, "how long a cross-region snapshot copy stays progressing")
			fs.DurationVar(&cfg.DiskCreateDuration, "disk-create-duration", time.Second, "how long a new ECS disk stays Creating")
			fs.IntVar(&cfg.SnapshotQuota, "snapshot-quota", 0, "manual snapshots per disk before QuotaExceed.Snapshot (0 = 256)")
			fs.DurationVar(&cfg.CopyListDelay, "copy-list-delay", 0, "how long a new cross-region copy stays out of DescribeSnapshots")
			fs.DurationVar(&cfg.ProcessingDelay, "processing-delay", 0, "how long a create call with a ClientToken is in flight (IdempotentProcessing meanwhile)")
			fs.DurationVar(&cfg.InstantAccessDelay, "instant-access-delay", 0, "how long until an ESSD-family snapshot is Available while still progressing")
			fs.DurationVar(&cfg.DiskInitDuration, "disk-init-duration", 0, "how long a disk created from a snapshot stays initializing after it is Available")
			fs.StringVar(&soldOut, "sold-out", "", "sold-out disk categories per zone, e.g. cn-beijing-a:cloud_essd;... (CreateDisk answers OperationDenied.NoStock)")
		},
		Handler: func(c common) (string, http.Handler, error) {
			if addr == "" {
				return "", nil, nil
			}
			var err error
			if cfg.Regions, err = parseRegions(regions); err != nil {
				return "", nil, fmt.Errorf("-regions: %w", err)
			}
			if cfg.ZoneCategories, err = parseZoneCategories(zoneCats); err != nil {
				return "", nil, fmt.Errorf("-zone-categories: %w", err)
			}
			if cfg.SoldOut, err = parseZoneCategories(soldOut); err != nil {
				return "", nil, fmt.Errorf("-sold-out: %w", err)
			}
			if cfg.SnapshotQuota < 0 {
				return "", nil, fmt.Errorf("-snapshot-quota %d: want 0 (the default 256) or more", cfg.SnapshotQuota)
			}
			for name, d := range map[string]time.Duration{"-copy-list-delay": cfg.CopyListDelay, "-processing-delay": cfg.ProcessingDelay,
				"-instant-access-delay": cfg.InstantAccessDelay, "-disk-init-duration": cfg.DiskInitDuration} {
				if d < 0 {
					return "", nil, fmt.Errorf("%s %v: want a duration of 0 or more", name, d)
				}
			}
			for name, r := range map[string]float64{"-ecs-throttle-rate": f.ThrottleRate, "-ecs-error-rate": f.ErrorRate} {
				if r < 0 || r > 1 {
					return "", nil, fmt.Errorf("%s %v: want a share from 0 to 1", name, r)
				}
			}
			f.Seed = c.FaultSeed
			cfg.Auth, cfg.Faults, cfg.Policy = c.Auth, fault.New(f), c.Policy
			srv, err := ecs.New(cfg)
			return addr, srv, err
		},
	})
}

// parseRegions parses "region:zone,zone;region:zone".
func parseRegions(s string) ([]ecs.Region, error) {
	groups, err := parseGroups(s, "region", "zone", "zones")
	if err != nil {
		return nil, err
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("no regions given")
	}
	out := make([]ecs.Region, 0, len(groups))
	for _, g := range groups {
		out = append(out, ecs.Region{ID: g.key, Zones: g.values})
	}
	return out, nil
}

// parseZoneCategories parses "zone:category,category;zone:category".
func parseZoneCategories(s string) (map[string][]string, error) {
	groups, err := parseGroups(s, "zone", "category", "categories")
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, g := range groups {
		out[g.key] = append(out[g.key], g.values...)
	}
	return out, nil
}

// group is one "key:value,value" of a flag.
type group struct {
	key    string
	values []string
}

// parseGroups parses "key:value,value;key:value", in order; every key needs
// at least one value. key, value and values name them in errors.
func parseGroups(s, key, value, values string) ([]group, error) {
	var out []group
	for _, part := range strings.Split(s, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		k, vs, ok := strings.Cut(part, ":")
		g := group{key: strings.TrimSpace(k)}
		if !ok || g.key == "" {
			return nil, fmt.Errorf("%q is not %s:%s[,%s...]", part, key, value, value)
		}
		for _, v := range strings.Split(vs, ",") {
			if v = strings.TrimSpace(v); v != "" {
				g.values = append(g.values, v)
			}
		}
		if len(g.values) == 0 {
			return nil, fmt.Errorf("%s %q has no %s", key, g.key, values)
		}
		out = append(out, g)
	}
	return out, nil
}
