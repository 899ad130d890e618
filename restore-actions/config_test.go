package restoreactions

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		name       string
		objs       []runtime.Object
		configName string
		key        string
		want       setting
		wantErr    []string
	}{
		{name: "nothing configured", key: KeyDiskMinimumSize},
		{name: "cluster-wide", key: KeyDiskMinimumSize,
			objs: []runtime.Object{pluginCM("min", NameDiskMinimumSize, map[string]string{KeyDiskMinimumSize: "30Gi"})},
			want: setting{value: "30Gi", source: "ConfigMap velero/min", set: true}},
		{name: "cluster-wide ConfigMap of another action is not read", key: KeyDiskMinimumSize,
			objs: []runtime.Object{pluginCM("img", NameImageRegistryMapping, map[string]string{KeyImageRegistryMapping: "a: b"})}},
		{name: "per-restore overrides cluster-wide", key: KeyDiskMinimumSize, configName: "mig",
			objs: []runtime.Object{
				pluginCM("min", NameDiskMinimumSize, map[string]string{KeyDiskMinimumSize: "30Gi"}),
				restoreCM("mig", map[string]string{KeyDiskMinimumSize: "40Gi"}),
			},
			want: setting{value: "40Gi", source: "ConfigMap velero/mig", set: true}},
		{name: "per-restore without the key falls back to cluster-wide", key: KeyDiskMinimumSize, configName: "mig",
			objs: []runtime.Object{
				pluginCM("min", NameDiskMinimumSize, map[string]string{KeyDiskMinimumSize: "30Gi"}),
				restoreCM("mig", map[string]string{KeyImageRegistryMapping: "a/: b/"}),
			},
			want: setting{value: "30Gi", source: "ConfigMap velero/min", set: true}},
		{name: "per-restore ConfigMap missing", key: KeyDiskMinimumSize, configName: "nope",
			wantErr: []string{"restore-r1", LabelRestoreConfig, "velero/nope", "does not exist"}},
		{name: "unknown key in per-restore ConfigMap", key: KeyDiskMinimumSize, configName: "mig",
			objs:    []runtime.Object{restoreCM("mig", map[string]string{"diskMinimumSise": "30Gi"})},
			wantErr: []string{"ConfigMap velero/mig", `"diskMinimumSise"`, KeyDiskMinimumSize}},
		{name: "binaryData in per-restore ConfigMap rejected", key: KeyDiskMinimumSize, configName: "mig",
			objs: []runtime.Object{func() runtime.Object {
				cm := restoreCM("mig", nil)
				cm.BinaryData = map[string][]byte{KeyDiskMinimumSize: []byte("30Gi")}
				return cm
			}()},
			wantErr: []string{"ConfigMap velero/mig", "binaryData." + KeyDiskMinimumSize}},
		{name: "other action's key in a cluster-wide ConfigMap rejected", key: KeyDiskMinimumSize,
			objs:    []runtime.Object{pluginCM("min", NameDiskMinimumSize, map[string]string{KeyStorageClassMapping: "a: b"})},
			wantErr: []string{"ConfigMap velero/min", `"storageClassMapping"`, "valid keys are: " + KeyDiskMinimumSize}},
		{name: "two cluster-wide ConfigMaps for one action", key: KeyDiskMinimumSize,
			objs: []runtime.Object{
				pluginCM("b", NameDiskMinimumSize, map[string]string{KeyDiskMinimumSize: "30Gi"}),
				pluginCM("a", NameDiskMinimumSize, map[string]string{KeyDiskMinimumSize: "40Gi"}),
			},
			wantErr: []string{"more than one ConfigMap", NameDiskMinimumSize, "a, b"}},
		{name: "ConfigMap in another namespace ignored", key: KeyDiskMinimumSize,
			objs: []runtime.Object{func() runtime.Object {
				cm := pluginCM("min", NameDiskMinimumSize, map[string]string{KeyDiskMinimumSize: "30Gi"})
				cm.Namespace = "default"
				return cm
			}()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, _ := newTestEnv(tc.objs...)
			got, err := env.forRestore(testRestore("r1", tc.configName)).lookup(context.Background(), tc.key)
			if tc.wantErr != nil {
				assertErrContains(t, err, tc.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("lookup = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A transient API error fails the item but is not cached.
func TestLookupRetriesAfterError(t *testing.T) {
	calls := 0
	_, client := newTestEnv(restoreCM("mig", map[string]string{KeyDiskMinimumSize: "30Gi"}))
	env := &Env{Namespace: veleroNS, client: func() (kubernetes.Interface, error) {
		calls++
		if calls == 1 {
			return nil, fmt.Errorf("no kubeconfig")
		}
		return client, nil
	}, restores: map[types.UID]*restoreState{}}
	s := env.forRestore(testRestore("r1", "mig"))
	if _, err := s.lookup(context.Background(), KeyDiskMinimumSize); err == nil || !strings.Contains(err.Error(), "no kubeconfig") {
		t.Fatalf("first lookup error = %v, want the client error", err)
	}
	got, err := s.lookup(context.Background(), KeyDiskMinimumSize)
	if err != nil || got.value != "30Gi" {
		t.Fatalf("second lookup = %+v, %v; want 30Gi", got, err)
	}
}

// The cache holds a bounded number of restores.
func TestRestoreCacheBounded(t *testing.T) {
	env, _ := newTestEnv()
	for i := 0; i < 3*maxCachedRestores; i++ {
		env.forRestore(testRestore(fmt.Sprint(i), ""))
	}
	if n := len(env.restores); n != maxCachedRestores {
		t.Fatalf("%d cached restores, want %d", n, maxCachedRestores)
	}
	first := env.forRestore(testRestore(fmt.Sprint(3*maxCachedRestores-1), ""))
	if again := env.forRestore(testRestore(fmt.Sprint(3*maxCachedRestores-1), "")); again != first {
		t.Fatal("same restore UID gave a different cache entry")
	}
}

func TestParseMapping(t *testing.T) {
	tests := []struct {
		value   string
		want    map[string]string
		wantErr string
	}{
		{value: "", want: nil},
		{value: "a: b\nc: d\n", want: map[string]string{"a": "b", "c": "d"}},
		{value: "docker.io/library/: registry.cn-beijing.aliyuncs.com/my-registry/",
			want: map[string]string{"docker.io/library/": "registry.cn-beijing.aliyuncs.com/my-registry/"}},
		{value: "- a\n- b", wantErr: "must be a YAML map"},
		{value: "a: [b]", wantErr: "must be a YAML map"},
		{value: "a: b\na: c", wantErr: "must be a YAML map"},
		{value: "a: ''", wantErr: "empty side"},
		{value: "just text", wantErr: "must be a YAML map"},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			got, err := parseMapping("ConfigMap velero/x", "someKey", tc.value)
			if tc.wantErr != "" {
				assertErrContains(t, err, "ConfigMap velero/x", "someKey", tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzConfigParse: no input panics the parsers, and every error names the
// ConfigMap and the key.
func FuzzConfigParse(f *testing.F) {
	for _, s := range []string{"", "a: b", "20Gi", "-1", "true", "docker.io/library/: r/x/", "{", "a: [b]", "0", "1e3", "nginx: a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		const kind = "ConfigMap velero/fuzz"
		check := func(key string, err error) {
			if err != nil && (!strings.Contains(err.Error(), kind) || !strings.Contains(err.Error(), key)) {
				t.Fatalf("error %q does not name %s and %s", err, kind, key)
			}
		}
		m, err := parseMapping(kind, KeyImageRegistryMapping, value)
		check(KeyImageRegistryMapping, err)
		if err == nil {
			_, err = newImageMapper(kind, m)
			check(KeyImageRegistryMapping, err)
		}
		q, err := parseSize(kind, KeyDiskMinimumSize, value)
		check(KeyDiskMinimumSize, err)
		if err == nil && q.Sign() < 0 {
			t.Fatalf("negative size %s accepted", q.String())
		}
		// The full path through a per-restore ConfigMap.
		env, _ := newTestEnv(restoreCM("fuzz", map[string]string{KeyAdjustLoadBalancerServices: value, KeyDiskMinimumSize: value}))
		s := env.forRestore(testRestore("r", "fuzz"))
		_, err = s.boolSetting(context.Background(), KeyAdjustLoadBalancerServices, true)
		check(KeyAdjustLoadBalancerServices, err)
		_, err = s.diskMinimumSize(context.Background())
		check(KeyDiskMinimumSize, err)
	})
}

// Keys are listed once per owner, and every owner is a registered action.
func TestKeyOwners(t *testing.T) {
	names := Initializers()
	for key, owner := range keyOwner {
		if _, ok := names[owner]; !ok {
			t.Errorf("key %s belongs to unregistered action %s", key, owner)
		}
	}
}
