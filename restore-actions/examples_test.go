package restoreactions

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The examples in examples/ are valid: every ConfigMap passes the same
// validation and parsing the actions apply.
func TestExamplesParse(t *testing.T) {
	files, err := filepath.Glob("../examples/restore-config-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cm := new(corev1.ConfigMap)
			if err := yaml.UnmarshalStrict(raw, cm); err != nil {
				t.Fatal(err)
			}
			if cm.Kind != "ConfigMap" || cm.Namespace != veleroNS || len(cm.Data) == 0 {
				t.Fatalf("not a ConfigMap with data in namespace velero: %+v", cm.ObjectMeta)
			}
			env, _ := newTestEnv(cm)
			configName := ""
			if _, ok := cm.Labels[labelPluginConfig]; !ok {
				configName = cm.Name
			}
			s := env.forRestore(testRestore("r", configName))
			ctx := context.Background()
			for key := range cm.Data {
				st, err := s.lookup(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				if !st.set {
					t.Fatalf("key %s not found through its action's label", key)
				}
				switch key {
				case KeyImageRegistryMapping:
					m, err := parseMapping(st.source, key, st.value)
					if err == nil {
						_, err = newImageMapper(st.source, m)
					}
					if err != nil || len(m) == 0 {
						t.Fatalf("%s: %v (%d entries)", key, err, len(m))
					}
				case KeyIngressClassMapping:
					if m, err := ingressMapping(ctx, s, key, validateIngressClass); err != nil || len(m) == 0 {
						t.Fatalf("%s: %v", key, err)
					}
				case KeyIngressAnnotationMapping:
					if m, err := ingressMapping(ctx, s, key, validateAnnotationKey); err != nil || len(m) == 0 {
						t.Fatalf("%s: %v", key, err)
					}
				case KeyStorageClassMapping:
					if m, err := parseMapping(st.source, key, st.value); err != nil || len(m) == 0 {
						t.Fatalf("%s: %v", key, err)
					}
				case KeyLoadBalancerIDMapping:
					if m, _, err := s.loadBalancerIDMapping(ctx); err != nil || len(m) == 0 {
						t.Fatalf("%s: %v", key, err)
					}
				case KeyDiskMinimumSize:
					if _, err := s.diskMinimumSize(ctx); err != nil {
						t.Fatal(err)
					}
				default:
					if _, err := s.boolSetting(ctx, key, true); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}
