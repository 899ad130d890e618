package ecs

import "slices"

// categoryMaximum is the largest size in GiB of a data disk of category, from
// the Size ranges of the CreateDisk reference.
func categoryMaximum(category string) int {
	switch category {
	case "cloud":
		return 2000
	case "cloud_efficiency", "cloud_ssd", "cloud_essd_entry":
		return 32768
	}
	return 65536
}

// destinationResources are the documented DestinationResource values. Only
// DataDisk is modelled; the others answer an empty AvailableZones.
var destinationResources = []string{"Zone", "IoOptimized", "InstanceType", "Network", "ddh", "SystemDisk", "DataDisk"}

// describeAvailableResource answers DescribeAvailableResource as the CSI
// driver calls it (pkg/disk/utils.go GetAvailableDiskTypes):
// DestinationResource=DataDisk, ResourceType=disk, RegionId, an optional
// ZoneId and DataDiskCategory. InstanceType, IoOptimized and the other
// instance filters are accepted and ignored (there are no instances here:
// every category a zone offers counts as supported). Scope=region asks for
// regional resources (Regional ESSDs), which are not modelled: it answers no
// zones. Per zone, every category the zone offers is listed with Status
// Available (StatusCategory WithStock) or, when sold out, SoldOut
// (WithoutStock); the zone itself is SoldOut when all its categories are.
func (s *Server) describeAvailableResource(req *request) (map[string]any, *apiError) {
	p := req.params
	region, err := s.requireRegion(p)
	if err != nil {
		return nil, err
	}
	dest := p.Get("DestinationResource")
	if dest == "" {
		return nil, errMissingParam("DestinationResource")
	}
	if !slices.Contains(destinationResources, dest) {
		return nil, errInvalidParam("DestinationResource")
	}
	switch rt := p.Get("ResourceType"); rt {
	case "", "instance", "disk", "reservedinstance", "ddh":
	default:
		return nil, errInvalidParam("ResourceType")
	}
	zoneFilter, catFilter := p.Get("ZoneId"), p.Get("DataDiskCategory")
	zones := []map[string]any{}
	if dest == "DataDisk" && p.Get("Scope") != "region" {
		for _, r := range s.cfg.Regions {
			if r.ID != region {
				continue
			}
			for _, z := range r.Zones {
				if zoneFilter != "" && z != zoneFilter {
					continue
				}
				var supported []map[string]any
				inStock := false
				for _, cat := range s.zoneCategories(z) {
					if catFilter != "" && cat != catFilter {
						continue
					}
					status, category := "Available", "WithStock"
					if s.isSoldOut(z, cat) {
						status, category = "SoldOut", "WithoutStock"
					} else {
						inStock = true
					}
					pl := ""
					if cat == "cloud_essd" {
						pl = "PL1" // the default level
					}
					lo, _ := categoryMinimum(cat, pl)
					supported = append(supported, map[string]any{
						"Value": cat, "Status": status, "StatusCategory": category,
						"Min": lo, "Max": categoryMaximum(cat), "Unit": "GiB",
					})
				}
				if len(supported) == 0 {
					continue
				}
				status, category := "Available", "WithStock"
				if !inStock {
					status, category = "SoldOut", "WithoutStock"
				}
				zones = append(zones, map[string]any{
					"RegionId": region, "ZoneId": z, "Status": status, "StatusCategory": category,
					"AvailableResources": map[string]any{"AvailableResource": []map[string]any{{
						"Type":               "DataDisk",
						"SupportedResources": map[string]any{"SupportedResource": supported},
					}}},
				})
			}
		}
	}
	return map[string]any{"AvailableZones": map[string]any{"AvailableZone": zones}}, nil
}
