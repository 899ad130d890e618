package ecs_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
)

const (
	keyID     = "LTAI5tTestKeyId"
	keySecret = "test-secret-do-not-log"
	stsID     = "STS.NTestStsKey"
	stsSecret = "sts-secret-do-not-log"
	stsToken  = "CAIS-sts-token-do-not-log"
	hangzhou  = "cn-hangzhou"
	beijing   = "cn-beijing"
	zoneH     = "cn-hangzhou-h"
	zoneI     = "cn-hangzhou-i"
	zoneA     = "cn-beijing-a"
)

// clock is a manual test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	srv    *ecs.Server
	url    string
	clock  *clock
	faults *fault.Injector
	store  *auth.Store
}

func newEnv(t *testing.T, mod func(*ecs.Config)) *env {
	t.Helper()
	e := &env{
		clock:  &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		faults: fault.New(fault.Config{Seed: 1}),
		store: auth.NewStore(
			auth.Credential{AccessKeyID: keyID, AccessKeySecret: keySecret},
			auth.Credential{AccessKeyID: stsID, AccessKeySecret: stsSecret, SecurityToken: stsToken,
				Expiration: time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC)},
		),
	}
	cfg := ecs.Config{
		Auth: e.store,
		Regions: []ecs.Region{
			{ID: hangzhou, Zones: []string{zoneH, zoneI}},
			{ID: beijing, Zones: []string{zoneA}},
		},
		Faults: e.faults,
		Now:    e.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := ecs.New(cfg)
	if err != nil {
		t.Fatalf("ecs.New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	e.srv, e.url = srv, ts.URL
	return e
}

// config is an openapi config for the emulator with the static test key.
func (e *env) config(region string) *openapi.Config {
	return &openapi.Config{
		AccessKeyId:     tea.String(keyID),
		AccessKeySecret: tea.String(keySecret),
		Endpoint:        tea.String(strings.TrimPrefix(e.url, "http://")),
		Protocol:        tea.String("http"),
		RegionId:        tea.String(region),
	}
}

func (e *env) clientWith(t *testing.T, c *openapi.Config) *ecsclient.Client {
	t.Helper()
	cl, err := ecsclient.NewClient(c)
	if err != nil {
		t.Fatalf("ecs NewClient: %v", err)
	}
	return cl
}

func (e *env) client(t *testing.T, region string) *ecsclient.Client {
	return e.clientWith(t, e.config(region))
}

// apiErr is what the SDK reports for an error response.
type apiErr struct {
	Code   string
	Status int
	Data   map[string]any
}

func asAPIError(t *testing.T, err error) apiErr {
	t.Helper()
	var se *tea.SDKError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *tea.SDKError", err, err)
	}
	out := apiErr{Code: tea.StringValue(se.Code), Status: tea.IntValue(se.StatusCode)}
	if se.Data != nil {
		if jerr := json.Unmarshal([]byte(*se.Data), &out.Data); jerr != nil {
			t.Fatalf("error data %q is not JSON: %v", *se.Data, jerr)
		}
	}
	return out
}

// wantAPIError checks code, HTTP status and the ECS error body shape.
func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want error %s (%d)", code, status)
	}
	ae := asAPIError(t, err)
	if ae.Code != code || ae.Status != status {
		t.Fatalf("got %s (%d), want %s (%d): %v", ae.Code, ae.Status, code, status, err)
	}
	for _, k := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
		if s, _ := ae.Data[k].(string); s == "" {
			t.Errorf("error body lacks %s: %v", k, ae.Data)
		}
	}
	for _, secret := range []string{keySecret, stsSecret, stsToken} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error message leaks a secret: %v", err)
		}
	}
}

// hookClient is a dara.HttpClient that lets a test alter or replay the
// request after the SDK signed it.
type hookClient struct {
	alter  func(*http.Request)
	replay bool
}

func (h *hookClient) Call(req *http.Request, tr *http.Transport) (*http.Response, error) {
	if h.alter != nil {
		h.alter(req)
	}
	tr.DisableKeepAlives = true // dara builds a fresh transport per request
	c := &http.Client{Transport: tr}
	if h.replay {
		first, err := c.Do(req.Clone(req.Context()))
		if err != nil {
			return nil, err
		}
		first.Body.Close()
		if first.StatusCode != http.StatusOK {
			return nil, errors.New("first send failed: " + first.Status)
		}
	}
	return c.Do(req)
}

var _ dara.HttpClient = (*hookClient)(nil)

// sharedHTTP is a dara.HttpClient over one http.Client. darabonba's default
// client pool writes http.Client.Timeout on every request while other
// requests read it (a data race under -race), so concurrent callers must
// bring their own.
type sharedHTTP struct{ c *http.Client }

func (s sharedHTTP) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	return s.c.Do(req)
}

func seedSnapshot(t *testing.T, e *env, region, zone string, size int) (diskID, snapID string) {
	t.Helper()
	diskID = e.srv.SeedDisk(region, zone, "cloud_essd", size, map[string]string{"app": "db"})
	resp, err := e.client(t, region).CreateSnapshot(&ecsclient.CreateSnapshotRequest{
		DiskId: tea.String(diskID), SnapshotName: tea.String("velero-backup-1"),
	})
	if err != nil {
		t.Fatalf("CreateSnapshot: %v", err)
	}
	return diskID, tea.StringValue(resp.Body.SnapshotId)
}
