package ecs

import (
	"slices"
	"time"
)

func (s *Server) zoneSupports(zone, category string) bool {
	set, ok := s.zoneCats[zone]
	return !ok || set[category]
}

// zoneCategories lists the categories of zone in AllCategories order.
func (s *Server) zoneCategories(zone string) []string {
	var out []string
	for _, c := range AllCategories {
		if s.zoneSupports(zone, c) {
			out = append(out, c)
		}
	}
	return out
}

// idempotent looks up a ClientToken of action; found reports a replay.
func (s *Server) idempotent(action string, req *request) (id string, found bool, err *apiError) {
	token := req.params.Get("ClientToken")
	if token == "" {
		return "", false, nil
	}
	if !validToken(token) {
		return "", false, errClientToken
	}
	e, ok := s.tokens[action+"\x00"+token]
	if !ok {
		return "", false, nil
	}
	if e.fingerprint != fingerprint(req.params) {
		return "", false, errIdempotentMismatch(action)
	}
	return e.resourceID, true, nil
}

// validToken: "only ASCII characters and cannot exceed 64 characters".
func validToken(t string) bool {
	if len(t) > 64 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] >= 0x80 {
			return false
		}
	}
	return true
}

// diskByID finds a disk for a call that carries no RegionId (DeleteDisk,
// CreateSnapshot): at a regional endpoint only that region's disks exist;
// the central endpoint and loopback hosts see every region.
func (s *Server) diskByID(req *request, id string) (*disk, bool) {
	d, ok := s.disks[id]
	if !ok || req.endpointRegion != "" && d.region != req.endpointRegion {
		return nil, false
	}
	return d, true
}

// snapshotByID is diskByID for snapshots (DeleteSnapshot).
func (s *Server) snapshotByID(req *request, id string) (*snapshot, bool) {
	sn, ok := s.snapshots[id]
	if !ok || req.endpointRegion != "" && sn.region != req.endpointRegion {
		return nil, false
	}
	return sn, true
}

func (s *Server) rememberToken(action string, req *request, id string) {
	if token := req.params.Get("ClientToken"); token != "" {
		s.tokens[action+"\x00"+token] = tokenEntry{fingerprint: fingerprint(req.params), resourceID: id}
	}
}

func (s *Server) createDisk(req *request) (map[string]any, *apiError) {
	p := req.params
	if id, found, err := s.idempotent("CreateDisk", req); err != nil {
		return nil, err
	} else if found {
		return map[string]any{"DiskId": id, "OrderId": ""}, nil
	}
	region, err := s.requireRegion(p)
	if err != nil {
		return nil, err
	}
	zone := p.Get("ZoneId")
	if zone == "" {
		return nil, errMissingParam("ZoneId")
	}
	if s.zoneOwner[zone] != region {
		return nil, errZoneNotFound
	}
	category := p.Get("DiskCategory")
	if category == "" {
		category = "cloud"
	}
	pl := p.Get("PerformanceLevel")
	if category == "cloud_essd" && pl == "" {
		pl = "PL1"
	}
	if category != "cloud_essd" {
		pl = ""
	}
	if _, ok := categoryMinimum(category, "PL1"); !ok {
		return nil, errDiskCategoryValue
	}
	minSize, ok := categoryMinimum(category, pl)
	if !ok {
		return nil, errPerformanceLevel
	}
	if !s.zoneSupports(zone, category) {
		return nil, errDiskCategoryInZone
	}
	if s.isSoldOut(zone, category) {
		return nil, errNoStock
	}
	if name := p.Get("DiskName"); name != "" && !validName(name) {
		return nil, errMalformed("DiskName")
	}
	diskTags, err := newTags(p, createRules)
	if err != nil {
		return nil, err
	}
	size, hasSize, err := intParam(p, "Size")
	if err != nil {
		return nil, err
	}
	snapID := p.Get("SnapshotId")
	if !hasSize && snapID == "" {
		return nil, errMissingParam("Size")
	}
	encrypted, err := boolParam(p, "Encrypted")
	if err != nil {
		return nil, err
	}
	kms := p.Get("KMSKeyId")
	now := s.now()
	if snapID != "" {
		sn, ok := s.snapshots[snapID]
		if !ok || sn.region != region {
			return nil, errSnapshotNotFound
		}
		// An instant-access snapshot can be used while still progressing.
		if !sn.available(now) {
			return nil, errSnapshotNotReady
		}
		if !hasSize {
			size = sn.sourceDiskSize
		}
		if size < sn.sourceDiskSize {
			return nil, errSnapshotSizeTooSmall
		}
		// A disk made from an encrypted snapshot is encrypted with its key.
		if sn.encrypted {
			encrypted = true
			if kms == "" {
				kms = sn.kmsKeyID
			}
		}
	}
	if size < minSize {
		return nil, errCategoryMinimum(category, pl, minSize)
	}
	s.seq++
	d := &disk{
		id: newID("d", region), region: region, zone: zone, name: p.Get("DiskName"),
		description: p.Get("Description"), category: category, pl: pl, size: size,
		sourceSnapshot: snapID, encrypted: encrypted, kmsKeyID: kms, tags: diskTags,
		created: now, ready: now.Add(s.cfg.DiskCreateDuration), seq: s.seq,
	}
	if snapID != "" {
		// The data keeps loading from the snapshot after the disk is
		// Available.
		d.initUntil = d.ready.Add(s.cfg.DiskInitDuration)
	}
	s.disks[d.id] = d
	s.rememberToken("CreateDisk", req, d.id)
	return map[string]any{"DiskId": d.id, "OrderId": ""}, nil
}

func (s *Server) describeDisks(req *request) (map[string]any, *apiError) {
	p := req.params
	region, err := s.requireRegion(p)
	if err != nil {
		return nil, err
	}
	ids, hasIDs, err := jsonIDs(p, "DiskIds")
	if err != nil {
		return nil, err
	}
	pg, err := parsePaging(p, 500)
	if err != nil {
		return nil, err
	}
	filterTags := tags(p)
	now := s.now()
	var match []*disk
	for _, d := range s.sortedDisks() {
		switch {
		case d.region != region,
			hasIDs && !slices.Contains(ids, d.id),
			p.Get("ZoneId") != "" && d.zone != p.Get("ZoneId"),
			p.Get("Category") != "" && p.Get("Category") != "all" && d.category != p.Get("Category"),
			p.Get("Status") != "" && p.Get("Status") != "All" && d.status(now) != p.Get("Status"),
			p.Get("DiskName") != "" && d.name != p.Get("DiskName"),
			p.Get("SnapshotId") != "" && d.sourceSnapshot != p.Get("SnapshotId"),
			!matchTags(d.tags, filterTags):
			continue
		}
		match = append(match, d)
	}
	// Newest first, as ECS lists them.
	slices.Reverse(match)
	resp := map[string]any{}
	lo, hi := pg.window(len(match), resp)
	out := make([]map[string]any, 0, hi-lo)
	for _, d := range match[lo:hi] {
		out = append(out, describeDisk(d, now))
	}
	resp["Disks"] = map[string]any{"Disk": out}
	return resp, nil
}

func describeDisk(d *disk, now time.Time) map[string]any {
	m := map[string]any{
		"DiskId": d.id, "RegionId": d.region, "ZoneId": d.zone, "DiskName": d.name,
		"Description": d.description, "Category": d.category, "Size": d.size, "Type": "data",
		"Status": d.status(now), "SourceSnapshotId": d.sourceSnapshot, "Encrypted": d.encrypted,
		"KMSKeyId": d.kmsKeyID, "Portable": true, "DiskChargeType": "PostPaid",
		"DeleteAutoSnapshot": true, "DeleteWithInstance": false, "EnableAutoSnapshot": false,
		"CreationTime": d.created.UTC().Format(timeLayout), "ExpiredTime": "2999-09-08T16:00Z",
		"MultiAttach": "Disabled", "BurstingEnabled": false, "InstanceId": "", "Device": "",
		"ResourceGroupId": "", "MountInstanceNum": 0,
		"Tags":           map[string]any{"Tag": sortedTags(d.tags)},
		"OperationLocks": map[string]any{"OperationLock": []any{}},
		"Attachments":    map[string]any{"Attachment": []any{}},
		"MountInstances": map[string]any{"MountInstance": []any{}},
	}
	if d.category == "cloud_essd" {
		m["PerformanceLevel"] = d.pl
		m["IOPS"] = essdIOPS(d.pl, d.size)
	}
	return m
}

func (s *Server) deleteDisk(req *request) (map[string]any, *apiError) {
	id := req.params.Get("DiskId")
	if id == "" {
		return nil, errMissingParam("DiskId")
	}
	// DeleteDisk carries no RegionId: a regional endpoint serves its own
	// region; elsewhere IDs are unique across regions and found anywhere.
	d, ok := s.diskByID(req, id)
	if !ok {
		return nil, errDiskNotFound
	}
	now := s.now()
	if d.status(now) != DiskAvailable {
		return nil, errIncorrectDiskStatus
	}
	// The CSI driver and the Terraform provider retry DeleteDisk on this.
	if d.initializing(now) {
		return nil, errDiskInitializing
	}
	delete(s.disks, id)
	return map[string]any{}, nil
}
