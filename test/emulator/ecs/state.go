package ecs

import (
	"fmt"
	"sort"
	"time"
)

// Disk statuses and snapshot statuses as ECS reports them.
const (
	DiskCreating         = "Creating"
	DiskAvailable        = "Available"
	SnapshotProgressing  = "progressing"
	SnapshotAccomplished = "accomplished"
	SnapshotFailed       = "failed"
	timeLayout           = "2006-01-02T15:04:05Z"
)

// AllCategories are the data-disk categories the emulator knows.
var AllCategories = []string{"cloud", "cloud_efficiency", "cloud_ssd", "cloud_essd", "cloud_auto", "cloud_essd_entry"}

// categoryMinimum is the smallest size in GiB of a category (and, for ESSD,
// performance level); ok is false for an unknown category or level.
func categoryMinimum(category, pl string) (int, bool) {
	switch category {
	case "cloud":
		return 5, true
	case "cloud_efficiency", "cloud_ssd":
		return 20, true
	case "cloud_auto":
		return 1, true
	case "cloud_essd_entry":
		return 10, true
	case "cloud_essd":
		switch pl {
		case "PL0":
			return 1, true
		case "PL1":
			return 20, true
		case "PL2":
			return 461, true
		case "PL3":
			return 1261, true
		}
	}
	return 0, false
}

// essdIOPS is the baseline IOPS of an ESSD of size GiB at level pl.
func essdIOPS(pl string, size int) int {
	limit := map[string]int{"PL0": 10000, "PL1": 50000, "PL2": 100000, "PL3": 1000000}[pl]
	return min(1800+50*size, limit)
}

type disk struct {
	id, region, zone  string
	name, description string
	category, pl      string
	size              int
	sourceSnapshot    string
	encrypted         bool
	kmsKeyID          string
	tags              map[string]string
	created, ready    time.Time
	// attached: the disk has been attached to an instance at least once
	// (SeedDisk disks, AttachDisk). initUntil: a disk made from a snapshot
	// is still loading its data until then (DiskInitDuration).
	attached  bool
	initUntil time.Time
	seq       int64
}

func (d *disk) initializing(now time.Time) bool { return now.Before(d.initUntil) }

func (d *disk) status(now time.Time) string {
	if now.Before(d.ready) {
		return DiskCreating
	}
	return DiskAvailable
}

type snapshot struct {
	id, region         string
	name, description  string
	sourceDisk         string
	sourceDiskSize     int
	sourceDiskCategory string
	sourceSnapshot     string // set on copies
	sourceRegion       string // set on copies
	retentionDays      int
	encrypted          bool
	kmsKeyID           string
	tags               map[string]string
	created, ready     time.Time
	// fails marks a snapshot that ECS gives up on halfway (FailNextSnapshots,
	// FailNextCopies): it goes from progressing to failed at failAt.
	fails  bool
	failAt time.Time
	// instantAccess: a snapshot of an ESSD-family disk, usable for new disks
	// from availableAt on while it is still progressing.
	instantAccess bool
	availableAt   time.Time
	// listAt: a cross-region copy is not listed by DescribeSnapshots before
	// then (CopyListDelay).
	listAt time.Time
	seq    int64
}

// instantAccessCategories are the ESSD-series categories whose snapshots are
// instantly available: "ESSDs, ESSD AutoPL disks, ESSD Entry disks, and
// Regional ESSDs" (CreateSnapshot reference, operation description).
var instantAccessCategories = map[string]bool{"cloud_essd": true, "cloud_auto": true, "cloud_essd_entry": true}

// available reports whether sn can be used to create a disk: accomplished,
// or an instant-access snapshot past availableAt. A snapshot that fails
// (FailNextSnapshots) is never available.
func (sn *snapshot) available(now time.Time) bool {
	if sn.fails {
		return false
	}
	switch sn.status(now) {
	case SnapshotAccomplished:
		return true
	case SnapshotProgressing:
		return sn.instantAccess && !now.Before(sn.availableAt)
	}
	return false
}

func (sn *snapshot) status(now time.Time) string {
	switch {
	case sn.fails && !now.Before(sn.failAt):
		return SnapshotFailed
	case now.Before(sn.ready):
		return SnapshotProgressing
	}
	return SnapshotAccomplished
}

// progress is "0%".."100%", linear over the snapshot's duration; a failed
// snapshot stays at the point where it failed.
func (sn *snapshot) progress(now time.Time) string {
	if sn.fails && !now.Before(sn.failAt) {
		if !sn.ready.After(sn.created) {
			return "0%" // failed at once
		}
		now = sn.failAt
	}
	if !now.Before(sn.ready) {
		return "100%"
	}
	total := sn.ready.Sub(sn.created)
	done := max(now.Sub(sn.created), 0)
	return fmt.Sprintf("%d%%", int(done*100/total))
}

// setFailure makes sn fail halfway through its duration when the emulator
// was told to fail the next n snapshots of its kind (*n > 0).
func setFailure(sn *snapshot, n *int) {
	if *n <= 0 {
		return
	}
	*n--
	sn.fails = true
	sn.failAt = sn.created.Add(sn.ready.Sub(sn.created) / 2)
}

// Disk is a disk as the tests see it.
type Disk struct {
	DiskID, RegionID, ZoneID string
	Name, Description        string
	Category                 string
	PerformanceLevel         string // ESSD only
	SizeGiB                  int
	SourceSnapshotID         string
	Encrypted                bool
	KMSKeyID                 string
	Tags                     map[string]string
	Status                   string
	CreationTime             time.Time
	// Attached: the disk has been attached to an instance at least once.
	// Initializing: it is still loading data from its source snapshot.
	Attached, Initializing bool
}

// Snapshot is a snapshot as the tests see it.
type Snapshot struct {
	SnapshotID, RegionID string
	Name, Description    string
	SourceDiskID         string
	SourceDiskSizeGiB    int
	SourceDiskCategory   string
	SourceSnapshotID     string // the original, for a cross-region copy
	SourceRegionID       string // the original's region, for a copy
	RetentionDays        int
	Encrypted            bool
	KMSKeyID             string
	Tags                 map[string]string
	Status, Progress     string
	// Available: usable to create disks (instant access or accomplished).
	Available, InstantAccess bool
	CreationTime             time.Time
}

func copyTags(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (d *disk) view(now time.Time) Disk {
	return Disk{
		DiskID: d.id, RegionID: d.region, ZoneID: d.zone, Name: d.name, Description: d.description,
		Category: d.category, PerformanceLevel: d.pl, SizeGiB: d.size, SourceSnapshotID: d.sourceSnapshot,
		Encrypted: d.encrypted, KMSKeyID: d.kmsKeyID, Tags: copyTags(d.tags), Status: d.status(now),
		CreationTime: d.created, Attached: d.attached, Initializing: d.initializing(now),
	}
}

func (sn *snapshot) view(now time.Time) Snapshot {
	return Snapshot{
		SnapshotID: sn.id, RegionID: sn.region, Name: sn.name, Description: sn.description,
		SourceDiskID: sn.sourceDisk, SourceDiskSizeGiB: sn.sourceDiskSize, SourceDiskCategory: sn.sourceDiskCategory,
		SourceSnapshotID: sn.sourceSnapshot, SourceRegionID: sn.sourceRegion, RetentionDays: sn.retentionDays,
		Encrypted: sn.encrypted, KMSKeyID: sn.kmsKeyID, Tags: copyTags(sn.tags),
		Status: sn.status(now), Progress: sn.progress(now), CreationTime: sn.created,
		Available: sn.available(now), InstantAccess: sn.instantAccess,
	}
}

// Disks returns the disks of region, oldest first.
func (s *Server) Disks(region string) []Disk {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Disk
	for _, d := range s.sortedDisks() {
		if d.region == region {
			out = append(out, d.view(now))
		}
	}
	return out
}

// Snapshots returns the snapshots of region, oldest first.
func (s *Server) Snapshots(region string) []Snapshot {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Snapshot
	for _, sn := range s.sortedSnapshots() {
		if sn.region == region {
			out = append(out, sn.view(now))
		}
	}
	return out
}

// Disk returns one disk by ID.
func (s *Server) Disk(id string) (Disk, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.disks[id]
	if !ok {
		return Disk{}, false
	}
	return d.view(now), true
}

// Snapshot returns one snapshot by ID.
func (s *Server) Snapshot(id string) (Snapshot, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sn, ok := s.snapshots[id]
	if !ok {
		return Snapshot{}, false
	}
	return sn.view(now), true
}

// SeedDisk creates an Available disk at once (ignoring DiskCreateDuration) and
// returns its ID, for tests that need a source disk to snapshot. A seeded
// disk counts as attached and used (it can be snapshotted at once). It panics on
// an unknown region, zone or category, which is a mistake in the test.
func (s *Server) SeedDisk(region, zone, category string, sizeGiB int, tags map[string]string) string {
	if s.zoneOwner[zone] != region {
		panic(fmt.Sprintf("ecs emulator: SeedDisk: zone %q is not in region %q", zone, region))
	}
	pl := ""
	if category == "cloud_essd" {
		pl = "PL1"
	}
	if _, ok := categoryMinimum(category, pl); !ok {
		panic(fmt.Sprintf("ecs emulator: SeedDisk: unknown disk category %q", category))
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	d := &disk{
		id: newID("d", region), region: region, zone: zone, category: category, pl: pl, size: sizeGiB,
		tags: copyTags(tags), created: now, ready: now, attached: true, seq: s.seq,
	}
	s.disks[d.id] = d
	return d.id
}

// AttachDisk records that the disk has been attached to an instance, as
// AttachDisk on a running instance would: CreateSnapshot no longer refuses
// it with IncorrectDiskStatus.NeverAttached. It panics on an unknown disk,
// which is a mistake in the test.
func (s *Server) AttachDisk(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.disks[id]
	if !ok {
		panic(fmt.Sprintf("ecs emulator: AttachDisk: unknown disk %q", id))
	}
	d.attached = true
}

func (s *Server) sortedDisks() []*disk {
	out := make([]*disk, 0, len(s.disks))
	for _, d := range s.disks {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (s *Server) sortedSnapshots() []*snapshot {
	out := make([]*snapshot, 0, len(s.snapshots))
	for _, sn := range s.snapshots {
		out = append(out, sn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}
