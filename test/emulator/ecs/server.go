// Package ecs is a local emulator of the Alibaba Cloud ECS 2014-05-26 RPC API,
// limited to what a disk VolumeSnapshotter uses: disks, snapshots, cross-region
// snapshot copies, tags, regions and zones. It serves requests exactly as
// github.com/alibabacloud-go/ecs-20140526/v7 sends them (POST /, parameters in
// the query, JSON responses), verifies their signatures against an auth.Store
// and models the service's asynchronous states and rules, so plugin code can
// be tested through the real SDK over loopback HTTP.
package ecs

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/internal/emu"
)

// APIVersion is the only ECS API version served.
const APIVersion = "2014-05-26"

// hostID is the HostId of every response, as from the public endpoint.
const hostID = "ecs.aliyuncs.com"

// Region is one region and its zones.
type Region struct {
	ID    string
	Zones []string
}

// Config configures a Server.
type Config struct {
	// Auth holds the accepted access keys; nil accepts none.
	Auth    *auth.Store
	Regions []Region
	// ZoneCategories lists the disk categories a zone supports, by zone ID.
	// A zone that is not listed supports every category (AllCategories).
	ZoneCategories map[string][]string
	// How long a snapshot, a cross-region copy and a new disk take to
	// finish. Zero means immediately.
	SnapshotDuration, CopyDuration, DiskCreateDuration time.Duration
	// Faults injects throttling, 5xx, resets and delays; nil injects none.
	Faults *fault.Injector
	// Now is the clock for async progress and key expiry; nil is time.Now.
	Now func() time.Time
}

// Server is the emulator. It is an http.Handler and safe for concurrent use.
type Server struct {
	cfg       Config
	zoneOwner map[string]string // zone -> region
	zoneCats  map[string]map[string]bool

	clockMu sync.RWMutex
	nowFn   func() time.Time

	mu        sync.Mutex
	disks     map[string]*disk
	snapshots map[string]*snapshot
	tokens    map[string]tokenEntry
	calls     map[string]int
	seq       int64
	// failSnapshots and failCopies count the snapshots and cross-region
	// copies still to be started that will fail (FailNextSnapshots,
	// FailNextCopies).
	failSnapshots, failCopies int

	nonceMu sync.Mutex
	nonces  map[string]time.Time
}

type tokenEntry struct {
	fingerprint string
	resourceID  string
}

// New validates c and returns a Server.
func New(c Config) (*Server, error) {
	if len(c.Regions) == 0 {
		return nil, fmt.Errorf("ecs emulator: Regions is empty; configure at least one region with zones")
	}
	s := &Server{
		cfg:       c,
		zoneOwner: map[string]string{},
		zoneCats:  map[string]map[string]bool{},
		disks:     map[string]*disk{},
		snapshots: map[string]*snapshot{},
		tokens:    map[string]tokenEntry{},
		calls:     map[string]int{},
		nonces:    map[string]time.Time{},
		nowFn:     c.Now,
	}
	seenRegion := map[string]bool{}
	for _, r := range c.Regions {
		if r.ID == "" {
			return nil, fmt.Errorf("ecs emulator: a region has an empty ID")
		}
		if seenRegion[r.ID] {
			return nil, fmt.Errorf("ecs emulator: region %q is listed twice", r.ID)
		}
		seenRegion[r.ID] = true
		if len(r.Zones) == 0 {
			return nil, fmt.Errorf("ecs emulator: region %q has no zones", r.ID)
		}
		for _, z := range r.Zones {
			if z == "" {
				return nil, fmt.Errorf("ecs emulator: region %q has an empty zone ID", r.ID)
			}
			if owner, ok := s.zoneOwner[z]; ok {
				return nil, fmt.Errorf("ecs emulator: zone %q is listed in regions %q and %q", z, owner, r.ID)
			}
			s.zoneOwner[z] = r.ID
		}
	}
	for z, cats := range c.ZoneCategories {
		if _, ok := s.zoneOwner[z]; !ok {
			return nil, fmt.Errorf("ecs emulator: ZoneCategories names zone %q, which no region has", z)
		}
		set := map[string]bool{}
		for _, cat := range cats {
			if _, ok := categoryMinimum(cat, "PL1"); !ok {
				return nil, fmt.Errorf("ecs emulator: ZoneCategories[%q] has unknown disk category %q (known: %s)",
					z, cat, strings.Join(AllCategories, ", "))
			}
			set[cat] = true
		}
		s.zoneCats[z] = set
	}
	return s, nil
}

func (s *Server) now() time.Time {
	s.clockMu.RLock()
	f := s.nowFn
	s.clockMu.RUnlock()
	if f == nil {
		return time.Now()
	}
	return f()
}

// SetNow replaces the clock used for async progress and key expiry (nil
// restores time.Now). Request timestamps are always checked against the wall
// clock, because the SDK stamps them with it.
func (s *Server) SetNow(now func() time.Time) {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	s.nowFn = now
}

// Calls returns how many requests for action passed authentication and fault
// injection and reached the operation (successful or not).
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// FailNextSnapshots makes the next n snapshots that CreateSnapshot starts
// fail halfway: their status goes from progressing to failed, as when ECS
// cannot finish a snapshot. A failed snapshot cannot be copied or used to
// create a disk and stays until deleted.
func (s *Server) FailNextSnapshots(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failSnapshots = n
}

// FailNextCopies makes the next n cross-region copies that CopySnapshot
// starts fail halfway, like FailNextSnapshots.
func (s *Server) FailNextCopies(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCopies = n
}

// Regions returns the configured regions.
func (s *Server) Regions() []Region { return append([]Region(nil), s.cfg.Regions...) }

type style int

const (
	styleACS3 style = iota
	styleRPC
)

// request is one parsed API call.
type request struct {
	style   style
	method  string
	action  string
	version string
	params  url.Values // query merged with a form body
	id      string
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := emu.RequestID()
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		writeError(w, reqID, newErr(http.StatusBadRequest, "InvalidParameter", "The request body could not be read."))
		return
	}
	req, apiErr := parseRequest(r, body)
	if apiErr == nil {
		req.id = reqID
		apiErr = s.authenticate(r, body, req)
	}
	if apiErr != nil {
		writeError(w, reqID, apiErr)
		return
	}
	switch d := s.cfg.Faults.Decide(); d.Kind {
	case fault.Throttle:
		writeError(w, reqID, errThrottling)
		return
	case fault.ServerError:
		writeError(w, reqID, errServiceUnavailable)
		return
	case fault.Reset:
		if !emu.DropConnection(w, false) {
			panic(http.ErrAbortHandler)
		}
		return
	case fault.Delay:
		select {
		case <-time.After(d.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if req.version != APIVersion {
		writeError(w, reqID, errVersion(req.version))
		return
	}
	op, ok := operations[req.action]
	if !ok {
		writeError(w, reqID, errActionNotFound(req.action))
		return
	}
	s.mu.Lock()
	s.calls[req.action]++
	resp, apiErr := op(s, req)
	s.mu.Unlock()
	if apiErr != nil {
		writeError(w, reqID, apiErr)
		return
	}
	resp["RequestId"] = reqID
	writeJSON(w, reqID, http.StatusOK, resp)
}

// operations maps an action to its handler. Handlers run with s.mu held.
var operations = map[string]func(*Server, *request) (map[string]any, *apiError){
	"CreateDisk":        (*Server).createDisk,
	"DescribeDisks":     (*Server).describeDisks,
	"DeleteDisk":        (*Server).deleteDisk,
	"CreateSnapshot":    (*Server).createSnapshot,
	"DescribeSnapshots": (*Server).describeSnapshots,
	"CopySnapshot":      (*Server).copySnapshot,
	"DeleteSnapshot":    (*Server).deleteSnapshot,
	"TagResources":      (*Server).tagResources,
	"DescribeRegions":   (*Server).describeRegions,
	"DescribeZones":     (*Server).describeZones,
}

// parseRequest tells the two signing styles apart: ACS3 names the action in
// x-acs-action and signs in the Authorization header; the legacy RPC form
// carries Action, Version and Signature in the query.
func parseRequest(r *http.Request, body []byte) (*request, *apiError) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, newErr(http.StatusBadRequest, "UnsupportedHTTPMethod", "Specified HTTP method %q is not supported.", r.Method)
	}
	params := url.Values{}
	for k, vs := range r.URL.Query() {
		params[k] = vs
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") && len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, newErr(http.StatusBadRequest, "InvalidParameter", "The request body is not a valid form.")
		}
		for k, vs := range form {
			params[k] = vs
		}
	}
	req := &request{method: r.Method, params: params}
	if r.Header.Get("Authorization") != "" {
		req.style = styleACS3
		req.action = r.Header.Get("x-acs-action")
		req.version = r.Header.Get("x-acs-version")
	} else {
		req.style = styleRPC
		req.action = params.Get("Action")
		req.version = params.Get("Version")
	}
	if req.action == "" {
		return nil, errMissingParam("Action")
	}
	if req.version == "" {
		return nil, errMissingParam("Version")
	}
	return req, nil
}

func writeJSON(w http.ResponseWriter, reqID string, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"Code":"InternalError","Message":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", reqID)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError renders the error shape of the POP gateway.
func writeError(w http.ResponseWriter, reqID string, e *apiError) {
	writeJSON(w, reqID, e.Status, map[string]any{
		"RequestId": reqID,
		"HostId":    hostID,
		"Code":      e.Code,
		"Message":   e.Message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.Code) + "&product=Ecs&requestId=" + reqID,
	})
}

// regionPrefix is the two characters real resource IDs carry per region.
var regionPrefix = map[string]string{
	"cn-hangzhou": "bp", "cn-beijing": "2z", "cn-shanghai": "uf", "cn-shenzhen": "wz",
	"cn-qingdao": "m5", "cn-zhangjiakou": "8v", "cn-hongkong": "j6", "ap-southeast-1": "t4",
}

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// newID returns an ID like "d-bp1s5fnvk4gn2tws0abc".
func newID(prefix, region string) string {
	rp, ok := regionPrefix[region]
	if !ok {
		rp = "xx"
	}
	return prefix + "-" + rp + emu.Random(18, idAlphabet)
}

func (s *Server) regionExists(id string) bool {
	for _, r := range s.cfg.Regions {
		if r.ID == id {
			return true
		}
	}
	return false
}

// requireRegion reads the mandatory RegionId and checks it is configured.
func (s *Server) requireRegion(p url.Values) (string, *apiError) {
	id := p.Get("RegionId")
	if id == "" {
		return "", errMissingParam("RegionId")
	}
	if !s.regionExists(id) {
		return "", errRegionNotFound("RegionId")
	}
	return id, nil
}

func sortedTags(m map[string]string) []map[string]any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]any{"TagKey": k, "TagValue": m[k]})
	}
	return out
}
