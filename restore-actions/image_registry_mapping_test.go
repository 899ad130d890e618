package restoreactions

import (
	"strings"
	"testing"

	"github.com/distribution/reference"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestImageMapperMap(t *testing.T) {
	m, err := newImageMapper("ConfigMap velero/x", map[string]string{
		"docker.io/library/":      "registry.cn-beijing.aliyuncs.com/my-registry/",
		"docker.io/library/redis": "registry.cn-beijing.aliyuncs.com/cache/redis-mirror",
		"anolis-registry.cn-zhangjiakou.cr.aliyuncs.com/openanolis": "registry.cn-beijing.aliyuncs.com/acr",
		"quay.io/":  "registry.cn-beijing.aliyuncs.com/quay/",
		"team/":     "registry.example.com:5000/team2",
		"gcr.io/a/": "registry.example.com/a-mirror/",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"nginx", "registry.cn-beijing.aliyuncs.com/my-registry/nginx"},
		{"nginx:1.25", "registry.cn-beijing.aliyuncs.com/my-registry/nginx:1.25"},
		{"docker.io/library/nginx:1.25", "registry.cn-beijing.aliyuncs.com/my-registry/nginx:1.25"},
		{"index.docker.io/library/nginx", "registry.cn-beijing.aliyuncs.com/my-registry/nginx"},
		{"library/nginx@" + testDigest, "registry.cn-beijing.aliyuncs.com/my-registry/nginx@" + testDigest},
		{"nginx:1.25@" + testDigest, "registry.cn-beijing.aliyuncs.com/my-registry/nginx:1.25@" + testDigest},
		// longest prefix wins
		{"redis:7", "registry.cn-beijing.aliyuncs.com/cache/redis-mirror:7"},
		{"library/redis/sub:1", "registry.cn-beijing.aliyuncs.com/cache/redis-mirror/sub:1"},
		{"redis/sub:1", "redis/sub:1"}, // docker.io/redis/sub, not in library
		// whole path components only
		{"redisx:7", "registry.cn-beijing.aliyuncs.com/my-registry/redisx:7"},
		{"anolis-registry.cn-zhangjiakou.cr.aliyuncs.com/openanolis/nginx:1.14.1-8.6", "registry.cn-beijing.aliyuncs.com/acr/nginx:1.14.1-8.6"},
		{"anolis-registry.cn-zhangjiakou.cr.aliyuncs.com/openanolisx/nginx", "anolis-registry.cn-zhangjiakou.cr.aliyuncs.com/openanolisx/nginx"},
		{"quay.io/prometheus/node-exporter:v1", "registry.cn-beijing.aliyuncs.com/quay/prometheus/node-exporter:v1"},
		{"team/app:v2", "registry.example.com:5000/team2/app:v2"},
		{"gcr.io/a/b/c:1", "registry.example.com/a-mirror/b/c:1"},
		// untouched
		{"gcr.io/ab/c:1", "gcr.io/ab/c:1"},
		{"registry.cn-beijing.aliyuncs.com/my-registry/nginx:1", "registry.cn-beijing.aliyuncs.com/my-registry/nginx:1"},
		{"otheruser/app", "otheruser/app"},
		{"NotAValidRef", "NotAValidRef"},
		{"${IMAGE}", "${IMAGE}"},
	}
	for _, tc := range tests {
		got, err := m.Map(tc.in)
		if err != nil {
			t.Errorf("Map(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Map(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewImageMapperErrors(t *testing.T) {
	tests := []struct {
		name    string
		m       map[string]string
		wantErr []string
	}{
		{"tag in source", map[string]string{"app1:v1": "registry.example.com/app2"}, []string{`"app1:v1"`, "without tag or digest"}},
		{"uppercase source", map[string]string{"Docker.io/Library/": "r.example.com/"}, []string{`"Docker.io/Library/"`}},
		{"bad target", map[string]string{"docker.io/library/": "app2:v2"}, []string{`"app2:v2"`, "registry.cn-beijing.aliyuncs.com/my-registry/"}},
		{"bad target port", map[string]string{"docker.io/library/": "r.example.com:port/x"}, []string{`"r.example.com:port/x"`}},
		{"same prefix twice", map[string]string{"nginx": "a.example.com/x", "docker.io/library/nginx": "b.example.com/x"},
			[]string{`"docker.io/library/nginx"`, `"nginx"`, "both mean docker.io/library/nginx"}},
		{"empty prefix", map[string]string{"/": "a.example.com/"}, []string{`"/"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newImageMapper("ConfigMap velero/x", tc.m)
			assertErrContains(t, err, append([]string{"ConfigMap velero/x", KeyImageRegistryMapping}, tc.wantErr...)...)
		})
	}
}

func podSpec() corev1.PodSpec {
	return corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Image: "busybox:1.36"}},
		Containers: []corev1.Container{
			{Name: "app", Image: "nginx:1.25"},
			{Name: "sidecar", Image: "registry.example.com/own/sidecar:1"},
		},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "docker.io/library/alpine"}}},
	}
}

func TestImageRegistryMappingKinds(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{Spec: podSpec()}
	meta := metav1.ObjectMeta{Namespace: "app", Name: "x"}
	objs := []runtime.Object{
		&corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: meta, Spec: podSpec()},
		&appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Template: tmpl}},
		&appsv1.StatefulSet{TypeMeta: stsType, ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Template: tmpl}},
		&appsv1.DaemonSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"}, ObjectMeta: meta, Spec: appsv1.DaemonSetSpec{Template: tmpl}},
		&appsv1.ReplicaSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"}, ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Template: tmpl}},
		&corev1.ReplicationController{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ReplicationController"}, ObjectMeta: meta, Spec: corev1.ReplicationControllerSpec{Template: &tmpl}},
		&batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: meta, Spec: batchv1.JobSpec{Template: tmpl}},
		&batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}, ObjectMeta: meta,
			Spec: batchv1.CronJobSpec{Schedule: "* * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}},
	}
	want := map[string]string{
		"initContainers/init":       "registry.cn-beijing.aliyuncs.com/my-registry/busybox:1.36",
		"containers/app":            "registry.cn-beijing.aliyuncs.com/my-registry/nginx:1.25",
		"containers/sidecar":        "registry.example.com/own/sidecar:1",
		"ephemeralContainers/debug": "registry.cn-beijing.aliyuncs.com/my-registry/alpine",
	}
	for _, obj := range objs {
		kind := obj.GetObjectKind().GroupVersionKind().Kind
		t.Run(kind, func(t *testing.T) {
			env, client := newTestEnv(pluginCM("img", NameImageRegistryMapping, map[string]string{
				KeyImageRegistryMapping: "docker.io/library/: registry.cn-beijing.aliyuncs.com/my-registry/\n",
			}))
			a := &ImageRegistryMappingAction{base{log: testLog(), env: env}}
			in := testutil.Unstructured(obj)
			orig := in.DeepCopy()
			out, err := run(t, a, in, testRestore("r1", ""))
			if err != nil {
				t.Fatal(err)
			}
			got := imagesOf(out, podSpecPath(kind))
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s image = %q, want %q", k, got[k], w)
				}
			}
			// The input is not modified in place, and nothing else changed.
			assertSame(t, orig, in)
			if len(client.Actions()) != 1 {
				t.Errorf("%d API calls, want 1", len(client.Actions()))
			}
		})
	}
}

func imagesOf(u *unstructured.Unstructured, path []string) map[string]string {
	out := map[string]string{}
	for _, list := range containerLists {
		items, _, _ := unstructured.NestedSlice(u.Object, append(append([]string{}, path...), list)...)
		for _, it := range items {
			c := it.(map[string]any)
			out[list+"/"+c["name"].(string)] = c["image"].(string)
		}
	}
	return out
}

func TestImageRegistryMapping(t *testing.T) {
	pod := func(images ...string) runtime.Object {
		p := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "p"}}
		for i, img := range images {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: string(rune('a' + i)), Image: img})
		}
		return p
	}
	tests := []struct {
		name     string
		objs     []runtime.Object
		config   string
		item     runtime.Object
		want     []string // images after; nil = unchanged
		wantErr  []string
		maxCalls int
	}{
		{name: "no mapping configured", item: pod("nginx"), maxCalls: 1},
		{name: "pod without images, no API call", item: pod(), maxCalls: 0},
		{name: "unrelated kind, no API call", item: &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}}, maxCalls: 0},
		{name: "per-restore mapping", config: "mig",
			objs: []runtime.Object{
				pluginCM("img", NameImageRegistryMapping, map[string]string{KeyImageRegistryMapping: "docker.io/library/: cluster.example.com/x/"}),
				restoreCM("mig", map[string]string{KeyImageRegistryMapping: "docker.io/library/: restore.example.com/y/"}),
			},
			item: pod("nginx:1", "quay.io/a/b"), want: []string{"restore.example.com/y/nginx:1", "quay.io/a/b"}, maxCalls: 1},
		{name: "no image matches: unchanged",
			objs: []runtime.Object{pluginCM("img", NameImageRegistryMapping, map[string]string{KeyImageRegistryMapping: "quay.io/: r.example.com/q/"})},
			item: pod("nginx"), maxCalls: 1},
		{name: "malformed mapping",
			objs:    []runtime.Object{pluginCM("img", NameImageRegistryMapping, map[string]string{KeyImageRegistryMapping: "docker.io/library/"})},
			item:    pod("nginx"),
			wantErr: []string{"ConfigMap velero/img", KeyImageRegistryMapping, "YAML map"}},
		{name: "tag in mapping source",
			objs:    []runtime.Object{pluginCM("img", NameImageRegistryMapping, map[string]string{KeyImageRegistryMapping: "app1:v1: app2"})},
			item:    pod("nginx"),
			wantErr: []string{"ConfigMap velero/img", KeyImageRegistryMapping}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, out, ok := actionCase{objs: tc.objs, item: tc.item, restore: testRestore("r1", tc.config), wantErr: tc.wantErr, maxCalls: tc.maxCalls}.
				execute(t, func(b base) executor { return &ImageRegistryMappingAction{b} })
			if !ok {
				return
			}
			if tc.want == nil {
				assertSame(t, in, out)
			} else {
				got := imagesOf(out, []string{"spec"})
				for i, w := range tc.want {
					if k := "containers/" + string(rune('a'+i)); got[k] != w {
						t.Errorf("%s = %q, want %q", k, got[k], w)
					}
				}
			}
		})
	}
}

// FuzzImageMapping: mapping never panics, is deterministic, keeps tag and
// digest, and gives a valid reference or the input unchanged.
func FuzzImageMapping(f *testing.F) {
	for _, s := range []string{"nginx", "nginx:1.25", "docker.io/library/nginx@" + testDigest, "quay.io/a/b:c", "localhost:5000/x", "a/b/c/d:e", "UPPER", ""} {
		f.Add(s)
	}
	m, err := newImageMapper("ConfigMap velero/x", map[string]string{
		"docker.io/library/":      "registry.cn-beijing.aliyuncs.com/my-registry/",
		"docker.io/library/nginx": "r.example.com/n",
		"quay.io/":                "r.example.com/quay/",
		"localhost:5000/":         "r.example.com:5000/",
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, image string) {
		got, err := m.Map(image)
		if err != nil {
			// Only a mapped result that does not parse is an error, and it
			// names the image.
			if !strings.Contains(err.Error(), image) {
				t.Fatalf("error %q does not name image %q", err, image)
			}
			return
		}
		again, _ := m.Map(image)
		if again != got {
			t.Fatalf("not deterministic: %q then %q", got, again)
		}
		if got == image {
			return
		}
		in, err := reference.ParseNormalizedNamed(image)
		if err != nil {
			t.Fatalf("unparseable %q was mapped to %q", image, got)
		}
		out, err := reference.ParseNormalizedNamed(got)
		if err != nil {
			t.Fatalf("%q mapped to invalid %q: %v", image, got, err)
		}
		tagOf := func(n reference.Named) string {
			if t, ok := n.(reference.Tagged); ok {
				return t.Tag()
			}
			return ""
		}
		digestOf := func(n reference.Named) string {
			if d, ok := n.(reference.Digested); ok {
				return d.Digest().String()
			}
			return ""
		}
		if tagOf(in) != tagOf(out) || digestOf(in) != digestOf(out) {
			t.Fatalf("%q mapped to %q: tag or digest changed", image, got)
		}
	})
}
