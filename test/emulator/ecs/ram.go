package ecs

import "github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ram"

// ramResources lists the ARNs an action is authorized on, following the
// "RAM authorization" table of each ECS API page: CopySnapshot on the source
// snapshot (acs:ecs:<region>:<account>:snapshot/<id>), CreateSnapshot on the
// disk and the new snapshot, CreateDisk on the new disk and the snapshot it
// is made from, DeleteSnapshot / DeleteDisk / TagResources on the named
// resources. The Describe* calls and DescribeRegions are not
// resource-level: they are checked against acs:ecs:<region>:<account>:*,
// which only a Resource of "*" covers. A resource the request creates has
// the ID "*".
func (s *Server) ramResources(req *request) []string {
	p := req.params
	region := p.Get("RegionId")
	if region == "" {
		region = req.endpointRegion
	}
	if region == "" && p.Get("DiskId") != "" {
		// CreateSnapshot carries no RegionId: the disk's region is used.
		s.mu.Lock()
		if d, ok := s.disks[p.Get("DiskId")]; ok {
			region = d.region
		}
		s.mu.Unlock()
	}
	if region == "" {
		region = "*"
	}
	res := func(typ, id string) string {
		if id == "" {
			id = "*"
		}
		return ram.ECSResource(region, typ, id)
	}
	switch req.action {
	case "CreateDisk":
		out := []string{res("disk", "*")}
		if id := p.Get("SnapshotId"); id != "" {
			out = append(out, res("snapshot", id))
		}
		return out
	case "CreateSnapshot":
		return []string{res("disk", p.Get("DiskId")), res("snapshot", "*")}
	case "CopySnapshot":
		out := []string{res("snapshot", p.Get("SnapshotId"))}
		if dest := p.Get("DestinationRegionId"); dest != "" {
			out = append(out, ram.ECSResource(dest, "snapshot", "*"))
		}
		return out
	case "DeleteSnapshot":
		return []string{res("snapshot", p.Get("SnapshotId"))}
	case "DeleteDisk":
		return []string{res("disk", p.Get("DiskId"))}
	case "TagResources":
		var out []string
		for _, id := range indexed(p, "ResourceId") {
			out = append(out, res(p.Get("ResourceType"), id))
		}
		return out
	}
	return []string{ram.ECSAnyResource(region)}
}
