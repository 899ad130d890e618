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
	"maps"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/internal/emu"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ram"
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
	// SoldOut lists, by zone ID, categories the zone offers but has no stock
	// of (see SetSoldOut).
	SoldOut map[string][]string
	// How long a snapshot, a cross-region copy and a new disk take to
	// finish. Zero means immediately.
	SnapshotDuration, CopyDuration, DiskCreateDuration time.Duration
	// SnapshotQuota is the number of manual snapshots a disk may have in its
	// region; 0 means 256, the documented limit.
	SnapshotQuota int
	// CopyListDelay is how long a new cross-region copy stays out of
	// DescribeSnapshots in its destination region after CopySnapshot
	// returned (it exists: DeleteSnapshot and the inspection methods find
	// it). Zero lists it at once.
	CopyListDelay time.Duration
	// ProcessingDelay is how long a CreateDisk, CreateSnapshot or
	// CopySnapshot call that carries a ClientToken is in flight before it
	// takes effect and answers (wall clock). Another request with the same
	// token meanwhile gets IdempotentProcessing (CreateDisk:
	// LastTokenProcessing). Zero processes at once.
	ProcessingDelay time.Duration
	// InstantAccessDelay is how long after creation a snapshot of an
	// ESSD-family disk (cloud_essd, cloud_auto, cloud_essd_entry) becomes
	// Available for creating disks while it is still progressing. Zero
	// means at once.
	InstantAccessDelay time.Duration
	// DiskInitDuration is how long a disk created from a snapshot keeps
	// loading its data after it became Available; meanwhile CreateSnapshot
	// and DeleteDisk answer IncorrectDiskStatus.Initializing.
	DiskInitDuration time.Duration
	// CallerRegion is the region the clients run in: a request whose Host is
	// the VPC endpoint of another region (ecs-vpc.<other>.aliyuncs.com) has
	// its connection dropped. Empty disables the check unless NewNetwork
	// sets it.
	CallerRegion string
	// Faults injects throttling, 5xx, resets, delays and lost responses;
	// nil injects none.
	Faults *fault.Injector
	// Now is the clock for async progress and key expiry; nil is time.Now.
	Now func() time.Time
	// Policy, if set, is the RAM policy of the caller: every action must be
	// allowed as ecs:<Action> on the resources it touches (see ramResources),
	// or the request gets 403 Forbidden.RAM. Nil allows everything, as for
	// the account owner.
	Policy *ram.Policy
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
	// inflight holds the ClientTokens (action+token) of create calls still
	// within ProcessingDelay.
	inflight  map[string]bool
	calls     map[string]int
	responses map[string]int // error responses by code
	endpoints map[string]int // requests by ECS endpoint host
	soldOut   map[string]map[string]bool
	// callerRegion and callerSet: see Config.CallerRegion.
	callerRegion string
	callerSet    bool
	seq          int64
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
		inflight:  map[string]bool{},
		calls:     map[string]int{},
		responses: map[string]int{},
		endpoints: map[string]int{},
		soldOut:   map[string]map[string]bool{},
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
	for z, cats := range c.SoldOut {
		if _, ok := s.zoneOwner[z]; !ok {
			return nil, fmt.Errorf("ecs emulator: SoldOut names zone %q, which no region has", z)
		}
		for _, cat := range cats {
			if _, ok := categoryMinimum(cat, "PL1"); !ok {
				return nil, fmt.Errorf("ecs emulator: SoldOut[%q] has unknown disk category %q (known: %s)",
					z, cat, strings.Join(AllCategories, ", "))
			}
			s.setSoldOut(z, cat, true)
		}
	}
	if c.CallerRegion != "" {
		if !s.regionExists(c.CallerRegion) {
			return nil, fmt.Errorf("ecs emulator: CallerRegion %q is not a configured region", c.CallerRegion)
		}
		s.callerRegion, s.callerSet = c.CallerRegion, true
	}
	if c.SnapshotQuota < 0 {
		return nil, fmt.Errorf("ecs emulator: SnapshotQuota %d is negative", c.SnapshotQuota)
	}
	return s, nil
}

// SetSoldOut marks category as out of stock in zone (or back in stock).
// DescribeZones still lists a sold-out category, DescribeAvailableResource
// reports it with Status SoldOut, and CreateDisk refuses it with
// OperationDenied.NoStock. It panics on an unknown zone or category, which
// is a mistake in the test.
func (s *Server) SetSoldOut(zone, category string, soldOut bool) {
	if _, ok := s.zoneOwner[zone]; !ok {
		panic(fmt.Sprintf("ecs emulator: SetSoldOut: unknown zone %q", zone))
	}
	if _, ok := categoryMinimum(category, "PL1"); !ok {
		panic(fmt.Sprintf("ecs emulator: SetSoldOut: unknown disk category %q", category))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setSoldOut(zone, category, soldOut)
}

func (s *Server) setSoldOut(zone, category string, soldOut bool) {
	if s.soldOut[zone] == nil {
		s.soldOut[zone] = map[string]bool{}
	}
	s.soldOut[zone][category] = soldOut
}

func (s *Server) isSoldOut(zone, category string) bool { return s.soldOut[zone][category] }

// Responses returns how many error responses with code the server has sent
// (authentication, faults and operations alike). Lost responses
// (fault.LoseResponse) are not sent and not counted.
func (s *Server) Responses(code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.responses[code]
}

// EndpointCalls returns how many requests arrived with each ECS endpoint
// host name (ecs.aliyuncs.com, ecs.<region>.aliyuncs.com,
// ecs-vpc.<region>.aliyuncs.com) in their Host header, including requests
// whose connection was then dropped. Loopback hosts are not counted.
func (s *Server) EndpointCalls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.endpoints)
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
	// endpointRegion is the region of the regional endpoint the request
	// was sent to (ecs[-vpc].<region>.aliyuncs.com); empty for the central
	// endpoint and loopback hosts, which look IDs up in every region.
	endpointRegion string
}

// endpoint classifies a Host header. ok is false for hosts that are not ECS
// endpoint names of a configured region (loopback addresses, say). region is
// empty for the central endpoint ecs.aliyuncs.com.
func (s *Server) endpoint(hostport string) (host, region string, vpc, ok bool) {
	host = strings.ToLower(hostport)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == hostID {
		return host, "", false, true
	}
	rest, found := strings.CutSuffix(host, ".aliyuncs.com")
	if !found {
		return host, "", false, false
	}
	switch {
	case strings.HasPrefix(rest, "ecs-vpc."):
		region, vpc = strings.TrimPrefix(rest, "ecs-vpc."), true
	case strings.HasPrefix(rest, "ecs."):
		region = strings.TrimPrefix(rest, "ecs.")
	case strings.HasPrefix(rest, "ecs-"):
		// ecs-cn-hangzhou.aliyuncs.com, the SDK's default for cn-hangzhou.
		region = strings.TrimPrefix(rest, "ecs-")
	default:
		return host, "", false, false
	}
	if !s.regionExists(region) {
		return host, "", false, false
	}
	return host, region, vpc, true
}

// fail writes an error response and counts it by code.
func (s *Server) fail(w http.ResponseWriter, reqID string, e *apiError) {
	s.mu.Lock()
	s.responses[e.Code]++
	s.mu.Unlock()
	writeError(w, reqID, e)
}

// drop closes the connection without a response.
func drop(w http.ResponseWriter) {
	if !emu.DropConnection(w, false) {
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := emu.RequestID()
	host, epRegion, vpc, isEndpoint := s.endpoint(r.Host)
	if isEndpoint {
		s.mu.Lock()
		s.endpoints[host]++
		caller, callerSet := s.callerRegion, s.callerSet
		s.mu.Unlock()
		// A VPC endpoint is only reachable from inside its region; a request
		// that gets here anyway finds nobody answering.
		if vpc && callerSet && epRegion != caller {
			drop(w)
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		s.fail(w, reqID, newErr(http.StatusBadRequest, "InvalidParameter", "The request body could not be read."))
		return
	}
	req, apiErr := parseRequest(r, body)
	if apiErr == nil {
		req.id = reqID
		req.endpointRegion = epRegion
		apiErr = s.authenticate(r, body, req)
	}
	if apiErr != nil {
		s.fail(w, reqID, apiErr)
		return
	}
	lose := false
	switch d := s.cfg.Faults.Decide(); d.Kind {
	case fault.Throttle:
		s.fail(w, reqID, errThrottling)
		return
	case fault.ServerError:
		s.fail(w, reqID, errServiceUnavailable)
		return
	case fault.Reset:
		drop(w)
		return
	case fault.Delay:
		select {
		case <-time.After(d.Delay):
		case <-r.Context().Done():
			return
		}
	case fault.LoseResponse:
		lose = true
	}
	if req.version != APIVersion {
		s.fail(w, reqID, errVersion(req.version))
		return
	}
	op, ok := operations[req.action]
	if !ok {
		s.fail(w, reqID, errActionNotFound(req.action))
		return
	}
	if !s.cfg.Policy.Allowed("ecs:"+req.action, s.ramResources(req)...) {
		s.fail(w, reqID, errForbiddenRAM)
		return
	}
	if lose {
		// The request is processed as usual but the answer never reaches
		// the client. A ClientToken is marked in flight before the
		// connection goes, so a retry sees IdempotentProcessing.
		finish, delayed := s.begin(req)
		if delayed {
			go finish(op)
		} else {
			_, _ = finish(op) // takes effect before the connection goes
		}
		drop(w)
		return
	}
	finish, _ := s.begin(req)
	resp, apiErr := finish(op)
	if apiErr != nil {
		s.fail(w, reqID, apiErr)
		return
	}
	resp["RequestId"] = reqID
	writeJSON(w, reqID, http.StatusOK, resp)
}

// creates are the calls whose ClientToken can be in flight (ProcessingDelay).
var creates = map[string]bool{"CreateDisk": true, "CreateSnapshot": true, "CopySnapshot": true}

type operation = func(*Server, *request) (map[string]any, *apiError)

// begin starts serving req and returns the function that finishes it. For a
// create call with a ClientToken and a ProcessingDelay, begin marks the token
// in flight (or refuses it when it already is) and the finish function
// sleeps the delay outside s.mu before running the operation; delayed
// reports whether it will.
func (s *Server) begin(req *request) (finish func(operation) (map[string]any, *apiError), delayed bool) {
	token := req.params.Get("ClientToken")
	delay := s.cfg.ProcessingDelay
	s.mu.Lock()
	s.calls[req.action]++
	key := req.action + "\x00" + token
	switch {
	case !creates[req.action] || token == "":
		delay = 0
	case s.inflight[key]:
		s.mu.Unlock()
		e := errIdempotentProcessing
		if req.action == "CreateDisk" {
			e = errLastTokenProcessing
		}
		return func(operation) (map[string]any, *apiError) { return nil, e }, false
	case delay > 0:
		if _, done := s.tokens[key]; done {
			delay = 0 // a replay of a finished call answers at once
		} else {
			s.inflight[key] = true
		}
	}
	s.mu.Unlock()
	return func(op operation) (map[string]any, *apiError) {
		if delay > 0 {
			time.Sleep(delay)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if delay > 0 {
			delete(s.inflight, key)
		}
		return op(s, req)
	}, delay > 0
}

// operations maps an action to its handler. Handlers run with s.mu held.
var operations = map[string]operation{
	"CreateDisk":                (*Server).createDisk,
	"DescribeDisks":             (*Server).describeDisks,
	"DeleteDisk":                (*Server).deleteDisk,
	"CreateSnapshot":            (*Server).createSnapshot,
	"DescribeSnapshots":         (*Server).describeSnapshots,
	"CopySnapshot":              (*Server).copySnapshot,
	"DeleteSnapshot":            (*Server).deleteSnapshot,
	"TagResources":              (*Server).tagResources,
	"DescribeRegions":           (*Server).describeRegions,
	"DescribeZones":             (*Server).describeZones,
	"DescribeAvailableResource": (*Server).describeAvailableResource,
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
