package ecs

func (s *Server) tagResources(req *request) (map[string]any, *apiError) {
	p := req.params
	region, err := s.requireRegion(p)
	if err != nil {
		return nil, err
	}
	rtype := p.Get("ResourceType")
	if rtype == "" {
		return nil, errMissingParam("ResourceType")
	}
	if rtype != "disk" && rtype != "snapshot" {
		return nil, errResourceType
	}
	ids := indexed(p, "ResourceId")
	if len(ids) == 0 {
		return nil, errMissingParam("ResourceId.1")
	}
	ts := tags(p)
	if len(ts) == 0 {
		return nil, errMissingParam("Tag.1.Key")
	}
	if err := validateTags(ts, tagResourcesRules); err != nil {
		return nil, err
	}
	// Check everything first: a failed call tags nothing.
	targets := make([]*map[string]string, 0, len(ids))
	for _, id := range ids {
		var t *map[string]string
		if rtype == "disk" {
			if d, ok := s.disks[id]; ok && d.region == region {
				t = &d.tags
			}
		} else if sn, ok := s.snapshots[id]; ok && sn.region == region {
			t = &sn.tags
		}
		if t == nil {
			return nil, errResourceNotFound
		}
		if _, err := mergeTags(*t, ts); err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	for _, t := range targets {
		*t, _ = mergeTags(*t, ts)
	}
	return map[string]any{}, nil
}

func (s *Server) describeRegions(req *request) (map[string]any, *apiError) {
	out := make([]map[string]any, 0, len(s.cfg.Regions))
	for _, r := range s.cfg.Regions {
		out = append(out, map[string]any{
			"RegionId": r.ID, "LocalName": r.ID, "Status": "available",
			"RegionEndpoint": "ecs." + r.ID + ".aliyuncs.com",
		})
	}
	return map[string]any{"Regions": map[string]any{"Region": out}}, nil
}

// describeZones reports, per zone, the disk categories it supports in both
// places ECS does: AvailableDiskCategories and AvailableResources.
func (s *Server) describeZones(req *request) (map[string]any, *apiError) {
	region, err := s.requireRegion(req.params)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, r := range s.cfg.Regions {
		if r.ID != region {
			continue
		}
		for _, z := range r.Zones {
			cats := s.zoneCategories(z)
			out = append(out, map[string]any{
				"ZoneId": z, "LocalName": z, "ZoneType": "AvailabilityZone",
				"AvailableDiskCategories":   map[string]any{"DiskCategories": cats},
				"AvailableVolumeCategories": map[string]any{"VolumeCategories": cats},
				"AvailableResourceCreation": map[string]any{"ResourceTypes": []string{"Instance", "Disk", "DedicatedHost"}},
				"AvailableResources": map[string]any{"ResourcesInfo": []map[string]any{{
					"IoOptimized":          true,
					"DataDiskCategories":   map[string]any{"supportedDataDiskCategory": cats},
					"SystemDiskCategories": map[string]any{"supportedSystemDiskCategory": cats},
				}}},
			})
		}
	}
	return map[string]any{"Zones": map[string]any{"Zone": out}}, nil
}
