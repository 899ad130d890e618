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
		addr, regions, zoneCats string
		cfg                     ecs.Config
		f                       fault.Config
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
			for name, r := range map[string]float64{"-ecs-throttle-rate": f.ThrottleRate, "-ecs-error-rate": f.ErrorRate} {
				if r < 0 || r > 1 {
					return "", nil, fmt.Errorf("%s %v: want a share from 0 to 1", name, r)
				}
			}
			f.Seed = c.FaultSeed
			cfg.Auth, cfg.Faults = c.Auth, fault.New(f)
			srv, err := ecs.New(cfg)
			return addr, srv, err
		},
	})
}

// parseRegions parses "region:zone,zone;region:zone".
func parseRegions(s string) ([]ecs.Region, error) {
	var out []ecs.Region
	for _, part := range strings.Split(s, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		id, zones, ok := strings.Cut(part, ":")
		id = strings.TrimSpace(id)
		if !ok || id == "" {
			return nil, fmt.Errorf("%q is not region:zone[,zone...]", part)
		}
		r := ecs.Region{ID: id}
		for _, z := range strings.Split(zones, ",") {
			if z = strings.TrimSpace(z); z != "" {
				r.Zones = append(r.Zones, z)
			}
		}
		if len(r.Zones) == 0 {
			return nil, fmt.Errorf("region %q has no zones", id)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no regions given")
	}
	return out, nil
}

// parseZoneCategories parses "zone:category,category;zone:category".
func parseZoneCategories(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, part := range strings.Split(s, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		zone, cats, ok := strings.Cut(part, ":")
		zone = strings.TrimSpace(zone)
		if !ok || zone == "" {
			return nil, fmt.Errorf("%q is not zone:category[,category...]", part)
		}
		for _, c := range strings.Split(cats, ",") {
			if c = strings.TrimSpace(c); c != "" {
				out[zone] = append(out[zone], c)
			}
		}
		if len(out[zone]) == 0 {
			return nil, fmt.Errorf("zone %q has no categories", zone)
		}
	}
	return out, nil
}
