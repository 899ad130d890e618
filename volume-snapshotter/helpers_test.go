package volumesnapshotter

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/retry"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
)

const (
	testKeyID     = "LTAI5tVsTestKey"
	testKeySecret = "vs-secret-must-never-be-logged"
	hangzhou      = "cn-hangzhou"
	beijing       = "cn-beijing"
	shanghai      = "cn-shanghai"
	zoneH         = "cn-hangzhou-h"
	zoneI         = "cn-hangzhou-i"
	zoneBA        = "cn-beijing-a"
	zoneSA        = "cn-shanghai-a"
)

// testEnv is an ECS emulator with cn-hangzhou (two zones), cn-beijing and
// cn-shanghai behind a loopback HTTP server, and a credentials file for it.
type testEnv struct {
	t        testing.TB
	srv      *ecs.Server
	url      string
	faults   *fault.Injector
	credFile string
	logs     *testutil.Log
	// nodes and backups of the fake cluster each snapshotter reads.
	nodes   []runtime.Object
	backups []runtime.Object
}

func newTestEnv(t testing.TB, mod func(*ecs.Config)) *testEnv {
	t.Helper()
	e := &testEnv{t: t, faults: fault.New(fault.Config{Seed: 7}), logs: &testutil.Log{}}
	cfg := ecs.Config{
		Auth: auth.NewStore(auth.Credential{AccessKeyID: testKeyID, AccessKeySecret: testKeySecret}),
		Regions: []ecs.Region{
			{ID: hangzhou, Zones: []string{zoneH, zoneI}},
			{ID: beijing, Zones: []string{zoneBA}},
			{ID: shanghai, Zones: []string{zoneSA}},
		},
		SnapshotDuration:   60 * time.Millisecond,
		CopyDuration:       150 * time.Millisecond,
		DiskCreateDuration: 40 * time.Millisecond,
		Faults:             e.faults,
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := ecs.New(cfg)
	if err != nil {
		t.Fatalf("ecs.New: %v", err)
	}
	e.srv = srv
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e.url = hs.URL
	e.credFile = testutil.CredentialsFile(t, testKeyID, testKeySecret, "")
	t.Cleanup(func() {
		if strings.Contains(e.logs.String(), testKeySecret) {
			t.Errorf("the access key secret appears in the plugin's log")
		}
	})
	return e
}

// snapshotter is a VolumeSnapshotter initialized through Init against the
// emulator, polling and backing off in milliseconds.
func (e *testEnv) snapshotter(region string, extra map[string]string) *VolumeSnapshotter {
	e.t.Helper()
	cfg := map[string]string{
		keyRegion:          region,
		keyEndpoint:        e.url,
		keyRegionEndpoints: e.regionEndpoints(region),
		keyCredentialsFile: e.credFile,
		keyPollInterval:    "10ms",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	v := NewVolumeSnapshotter(e.logs.Logger())
	if err := v.Init(cfg); err != nil {
		e.t.Fatalf("Init(%v): %v", cfg, err)
	}
	v.retry = retry.Policy{Attempts: 12, Base: 2 * time.Millisecond, Max: 40 * time.Millisecond}
	v.cluster = e.cluster()
	return v
}

// regionEndpoints is the regionEndpoints value that sends the calls for
// every region but home to the emulator too.
func (e *testEnv) regionEndpoints(home string) string {
	var out []string
	for _, r := range e.srv.Regions() {
		if r.ID != home {
			out = append(out, r.ID+"="+e.url)
		}
	}
	return strings.Join(out, ",")
}

func (e *testEnv) cluster() *kubeCluster {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{backupsResource: "BackupList"}, e.backups...)
	return &kubeCluster{dynamic: dyn, core: kubefake.NewSimpleClientset(e.nodes...), namespace: "velero"}
}

func (e *testEnv) addBackup(name, ttl string) {
	b := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "velero.io/v1", "kind": "Backup",
		"metadata": map[string]any{"name": name, "namespace": "velero"},
		"spec":     map[string]any{"ttl": ttl},
	}}
	e.backups = append(e.backups, b)
}

func (e *testEnv) addNode(name, zone string) {
	e.nodes = append(e.nodes, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"topology.kubernetes.io/zone": zone}}})
}

// sdk is a plain ECS SDK client on the emulator, for test setup that the
// plugin does not do (upstream-style snapshots, foreign copies).
func (e *testEnv) sdk(region string) *ecsclient.Client {
	e.t.Helper()
	c, err := ecsclient.NewClient(&openapi.Config{
		AccessKeyId: tea.String(testKeyID), AccessKeySecret: tea.String(testKeySecret),
		RegionId: tea.String(region), Endpoint: tea.String(strings.TrimPrefix(e.url, "http://")), Protocol: tea.String("HTTP"),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// waitAccomplished waits for a snapshot in the emulator.
func (e *testEnv) waitAccomplished(id string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s, ok := e.srv.Snapshot(id); ok && s.Status == ecs.SnapshotAccomplished {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("snapshot %s not accomplished", id)
}

func toPVT(t *testing.T, u runtime.Unstructured) *corev1.PersistentVolume {
	t.Helper()
	pv, err := toPV(u)
	if err != nil {
		t.Fatal(err)
	}
	return pv
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// denyAction fronts h and answers action with the RAM gateway's refusal.
func denyAction(h http.Handler, action string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-acs-action") == action {
			w.Header().Set("Content-Type", "application/json;charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"RequestId":"8C1A2B3C-0000-0000-0000-000000000000","HostId":"ecs.aliyuncs.com","Code":"Forbidden.RAM","Message":"User not authorized to operate on the specified resource, or this API doesn't support RAM."}`))
			return
		}
		h.ServeHTTP(w, r)
	})
}
