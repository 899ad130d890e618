package ecs

import (
	"slices"
	"strconv"
	"time"
)

// defaultSnapshotQuota is the documented limit of manual snapshots per disk.
const defaultSnapshotQuota = 256

// retention reads RetentionDays (1..65536; 0 = kept until deleted); status is
// the HTTP status the calling action documents for a bad value.
func retention(req *request, status int) (int, *apiError) {
	n, ok, err := intParam(req.params, "RetentionDays")
	if err != nil {
		return 0, errRetentionDays(status)
	}
	if ok && (n < 1 || n > 65536) {
		return 0, errRetentionDays(status)
	}
	return n, nil
}

func (s *Server) createSnapshot(req *request) (map[string]any, *apiError) {
	p := req.params
	if id, found, err := s.idempotent("CreateSnapshot", req); err != nil {
		return nil, err
	} else if found {
		return map[string]any{"SnapshotId": id}, nil
	}
	diskID := p.Get("DiskId")
	if diskID == "" {
		return nil, errMissingParam("DiskId")
	}
	// CreateSnapshot carries no RegionId: the disk's region is the
	// snapshot's, and a regional endpoint only finds its own region's disks.
	d, ok := s.diskByID(req, diskID)
	if !ok {
		return nil, errDiskNotFound
	}
	name := p.Get("SnapshotName")
	if name != "" && (!validName(name) || len(name) >= 4 && name[:4] == "auto") {
		return nil, errMalformed("SnapshotName")
	}
	days, err := retention(req, 400)
	if err != nil {
		return nil, err
	}
	snapTags, err := newTags(p, createRules)
	if err != nil {
		return nil, err
	}
	now := s.now()
	switch {
	case d.status(now) != DiskAvailable:
		return nil, errIncorrectDiskStatus
	case !d.attached:
		// "Snapshots cannot be created for disks that have never been
		// attached to an ECS instance."
		return nil, errNeverAttached
	case d.initializing(now):
		return nil, errDiskInitializing
	}
	quota := s.cfg.SnapshotQuota
	if quota == 0 {
		quota = defaultSnapshotQuota
	}
	manual := 0
	for _, sn := range s.snapshots {
		if sn.sourceDisk != d.id || sn.sourceSnapshot != "" || sn.region != d.region {
			continue // copies in other regions do not count
		}
		if sn.status(now) == SnapshotProgressing {
			return nil, errCreatingSnapshot
		}
		manual++
	}
	if manual >= quota {
		return nil, errSnapshotQuota
	}
	s.seq++
	sn := &snapshot{
		id: newID("s", d.region), region: d.region, name: name, description: p.Get("Description"),
		sourceDisk: d.id, sourceDiskSize: d.size, sourceDiskCategory: d.category,
		retentionDays: days, encrypted: d.encrypted, kmsKeyID: d.kmsKeyID, tags: snapTags,
		created: now, ready: now.Add(s.cfg.SnapshotDuration), seq: s.seq,
		instantAccess: instantAccessCategories[d.category], availableAt: now.Add(s.cfg.InstantAccessDelay),
	}
	setFailure(sn, &s.failSnapshots)
	s.snapshots[sn.id] = sn
	s.rememberToken("CreateSnapshot", req, sn.id)
	return map[string]any{"SnapshotId": sn.id}, nil
}

func (s *Server) copySnapshot(req *request) (map[string]any, *apiError) {
	p := req.params
	if id, found, err := s.idempotent("CopySnapshot", req); err != nil {
		return nil, err
	} else if found {
		return map[string]any{"SnapshotId": id}, nil
	}
	region, err := s.requireRegion(p)
	if err != nil {
		return nil, err
	}
	dest := p.Get("DestinationRegionId")
	if dest == "" {
		return nil, errMissingParam("DestinationRegionId")
	}
	if !s.regionExists(dest) {
		return nil, errDestRegionNotExists
	}
	srcID := p.Get("SnapshotId")
	if srcID == "" {
		return nil, errMissingParam("SnapshotId")
	}
	src, ok := s.snapshots[srcID]
	if !ok || src.region != region {
		return nil, errCopySourceNotFound
	}
	if dest == region {
		return nil, errCopySameRegion
	}
	now := s.now()
	// Instant access does not extend to copies: the source must be
	// accomplished.
	if src.status(now) != SnapshotAccomplished {
		return nil, errSnapshotNotReady
	}
	name := p.Get("DestinationSnapshotName")
	if name != "" && !validName(name) {
		return nil, newErr(403, "InvalidSnapshotName.Malformed", "The specified SnapshotName is wrongly formed.")
	}
	days, err := retention(req, 403)
	if err != nil {
		return nil, err
	}
	copyTags, err := newTags(p, copyRules)
	if err != nil {
		return nil, err
	}
	// One unfinished cross-region copy per source disk and destination
	// region (a ClientToken replay of that copy was answered above).
	for _, c := range s.sortedSnapshots() {
		if c.sourceSnapshot != "" && c.region == dest && c.sourceDisk == src.sourceDisk &&
			c.status(now) == SnapshotProgressing {
			if c.encrypted {
				return nil, errUnfinishedEncryptedCopy
			}
			return nil, errUnfinishedCopy
		}
	}
	encrypted, err := boolParam(p, "Encrypted")
	if err != nil {
		return nil, err
	}
	kms := p.Get("KMSKeyId")
	if src.encrypted {
		// A copy of an encrypted snapshot stays encrypted.
		encrypted = true
	}
	// Lineage: the copy names the original it came from. A copy of a copy
	// names its immediate source, as ECS does.
	s.seq++
	c := &snapshot{
		id: newID("s", dest), region: dest, name: name, description: p.Get("DestinationSnapshotDescription"),
		sourceDisk: src.sourceDisk, sourceDiskSize: src.sourceDiskSize, sourceDiskCategory: src.sourceDiskCategory,
		sourceSnapshot: src.id, sourceRegion: src.region, retentionDays: days,
		encrypted: encrypted, kmsKeyID: kms, tags: copyTags,
		created: now, ready: now.Add(s.cfg.CopyDuration), listAt: now.Add(s.cfg.CopyListDelay), seq: s.seq,
	}
	setFailure(c, &s.failCopies)
	s.snapshots[c.id] = c
	s.rememberToken("CopySnapshot", req, c.id)
	return map[string]any{"SnapshotId": c.id}, nil
}

func (s *Server) describeSnapshots(req *request) (map[string]any, *apiError) {
	p := req.params
	region, err := s.requireRegion(p)
	if err != nil {
		return nil, err
	}
	ids, hasIDs, err := jsonIDs(p, "SnapshotIds")
	if err != nil {
		return nil, err
	}
	pg, err := parsePaging(p, 100)
	if err != nil {
		return nil, err
	}
	status := p.Get("Status")
	switch status {
	case "", "all", SnapshotProgressing, SnapshotAccomplished, SnapshotFailed:
	default:
		return nil, errInvalidParam("Status")
	}
	var encFilter *bool
	if p.Get("Encrypted") != "" {
		b, err := boolParam(p, "Encrypted")
		if err != nil {
			return nil, err
		}
		encFilter = &b
	}
	filterTags := tags(p)
	now := s.now()
	var match []*snapshot
	for _, sn := range s.sortedSnapshots() {
		switch {
		case sn.region != region,
			now.Before(sn.listAt), // a new copy is not listed yet (CopyListDelay)
			hasIDs && !slices.Contains(ids, sn.id),
			p.Get("DiskId") != "" && sn.sourceDisk != p.Get("DiskId"),
			p.Get("SnapshotName") != "" && sn.name != p.Get("SnapshotName"),
			status != "" && status != "all" && sn.status(now) != status,
			encFilter != nil && sn.encrypted != *encFilter,
			p.Get("KMSKeyId") != "" && sn.kmsKeyID != p.Get("KMSKeyId"),
			p.Get("Usage") != "" && s.usage(sn) != p.Get("Usage"),
			!matchTags(sn.tags, filterTags):
			continue
		}
		match = append(match, sn)
	}
	slices.Reverse(match)
	resp := map[string]any{}
	lo, hi := pg.window(len(match), resp)
	out := make([]map[string]any, 0, hi-lo)
	for _, sn := range match[lo:hi] {
		out = append(out, s.describeSnapshot(sn, now))
	}
	resp["Snapshots"] = map[string]any{"Snapshot": out}
	return resp, nil
}

// usage is "disk" when a live disk was created from the snapshot.
func (s *Server) usage(sn *snapshot) string {
	for _, d := range s.disks {
		if d.sourceSnapshot == sn.id {
			return "disk"
		}
	}
	return "none"
}

func (s *Server) describeSnapshot(sn *snapshot, now time.Time) map[string]any {
	remain := 0
	if sn.status(now) == SnapshotProgressing {
		remain = int(sn.ready.Sub(now).Seconds())
	}
	m := map[string]any{
		"SnapshotId": sn.id, "RegionId": sn.region, "SnapshotName": sn.name, "Description": sn.description,
		"Status": sn.status(now), "Progress": sn.progress(now), "RemainTime": remain,
		"Available":    sn.available(now),
		"SourceDiskId": sn.sourceDisk, "SourceDiskSize": strconv.Itoa(sn.sourceDiskSize),
		"SourceDiskType": "data", "SourceStorageType": "disk", "SnapshotType": "user",
		"Category": "standard", "InstantAccess": sn.instantAccess, "Usage": s.usage(sn),
		"Encrypted": sn.encrypted, "KMSKeyId": sn.kmsKeyID, "ResourceGroupId": "",
		"CreationTime":     sn.created.UTC().Format(timeLayout),
		"LastModifiedTime": sn.created.UTC().Format(timeLayout),
		"Tags":             map[string]any{"Tag": sortedTags(sn.tags)},
	}
	if sn.retentionDays > 0 {
		m["RetentionDays"] = sn.retentionDays
	}
	if sn.sourceSnapshot != "" {
		m["SourceSnapshotId"] = sn.sourceSnapshot
		m["SourceRegionId"] = sn.sourceRegion
	}
	return m
}

func (s *Server) deleteSnapshot(req *request) (map[string]any, *apiError) {
	p := req.params
	id := p.Get("SnapshotId")
	if id == "" {
		return nil, errMissingParam("SnapshotId")
	}
	force, err := boolParam(p, "Force")
	if err != nil {
		return nil, err
	}
	// No RegionId in DeleteSnapshot either: served like DeleteDisk.
	sn, ok := s.snapshotByID(req, id)
	if !ok {
		return nil, errSnapshotNotFound
	}
	if !force && s.usage(sn) == "disk" {
		return nil, errSnapshotCreatedDisk
	}
	// Deleting a progressing snapshot cancels it, as ECS does.
	delete(s.snapshots, id)
	return map[string]any{}, nil
}
