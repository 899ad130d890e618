package restoreactions

import (
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ingress is an Ingress with the given class (none when ""), annotations,
// and, when withStatus, the source cluster's load balancer in its status.
func ingress(class string, ann map[string]string, withStatus bool) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web", Annotations: ann},
	}
	if class != "" {
		ing.Spec.IngressClassName = &class
	}
	if withStatus {
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "47.95.1.2"}}
	}
	return ing
}

func TestIngressMapping(t *testing.T) {
	const (
		rewriteNginx = "nginx.ingress.kubernetes.io/rewrite-target"
		rewriteALB   = "alb.ingress.kubernetes.io/rewrite-target"
		sslNginx     = "nginx.ingress.kubernetes.io/ssl-redirect"
		sslALB       = "alb.ingress.kubernetes.io/ssl-redirect"
	)
	settings := pluginCM("ing", NameIngressMapping, map[string]string{
		KeyIngressClassMapping:      "nginx: alb\n",
		KeyIngressAnnotationMapping: rewriteNginx + ": " + rewriteALB + "\n" + sslNginx + ": " + sslALB + "\n",
	})
	tests := []struct {
		name      string
		objs      []runtime.Object
		config    string
		item      runtime.Object
		wantClass string            // spec.ingressClassName after
		wantAnn   map[string]string // annotations after; nil = unchanged item
		wantErr   []string
		wantWarn  int
		maxCalls  int
	}{
		{name: "nothing to do, no API call", item: ingress("", nil, false), maxCalls: 0},
		{name: "status only: dropped without API call", item: ingress("", nil, true), wantAnn: map[string]string{}, maxCalls: 0},
		{name: "no settings: status dropped", item: ingress("nginx", map[string]string{rewriteNginx: "/"}, true),
			wantClass: "nginx", wantAnn: map[string]string{rewriteNginx: "/"}, maxCalls: 1},
		{name: "no settings, no status: unchanged", item: ingress("nginx", map[string]string{rewriteNginx: "/"}, false), maxCalls: 1},
		{name: "class and annotations mapped", objs: []runtime.Object{settings},
			item:      ingress("nginx", map[string]string{rewriteNginx: "/$2", sslNginx: "true", "other": "x"}, true),
			wantClass: "alb", wantAnn: map[string]string{rewriteALB: "/$2", sslALB: "true", "other": "x"}, maxCalls: 1},
		{name: "legacy class annotation mapped", objs: []runtime.Object{settings},
			item:    ingress("", map[string]string{annIngressClass: "nginx"}, false),
			wantAnn: map[string]string{annIngressClass: "alb"}, maxCalls: 1},
		{name: "unmapped class and keys: unchanged", objs: []runtime.Object{settings},
			item: ingress("mse", map[string]string{annIngressClass: "mse", "a": "b"}, false), maxCalls: 1},
		{name: "target key already set: kept, old key dropped, warned", objs: []runtime.Object{settings},
			item:      ingress("alb", map[string]string{rewriteNginx: "/a", rewriteALB: "/b"}, false),
			wantClass: "alb", wantAnn: map[string]string{rewriteALB: "/b"}, wantWarn: 1, maxCalls: 1},
		{name: "per-restore settings win", config: "mig",
			objs: []runtime.Object{settings, restoreCM("mig", map[string]string{KeyIngressClassMapping: "nginx: mse"})},
			item: ingress("nginx", map[string]string{rewriteNginx: "/"}, false), wantClass: "mse",
			wantAnn: map[string]string{rewriteALB: "/"}, maxCalls: 2},
		{name: "annotations only: class mapping not read", objs: []runtime.Object{
			pluginCM("ing", NameIngressMapping, map[string]string{KeyIngressClassMapping: "nginx", KeyIngressAnnotationMapping: "a: b"})},
			item: ingress("", map[string]string{"a": "1"}, false), wantAnn: map[string]string{"b": "1"}, maxCalls: 1},
		{name: "malformed class mapping",
			objs:    []runtime.Object{pluginCM("ing", NameIngressMapping, map[string]string{KeyIngressClassMapping: "nginx"})},
			item:    ingress("nginx", nil, false),
			wantErr: []string{"ConfigMap velero/ing", KeyIngressClassMapping, "YAML map"}},
		{name: "invalid class name",
			objs:    []runtime.Object{pluginCM("ing", NameIngressMapping, map[string]string{KeyIngressClassMapping: "nginx: Not_A_Class"})},
			item:    ingress("nginx", nil, false),
			wantErr: []string{"ConfigMap velero/ing", KeyIngressClassMapping, `"Not_A_Class"`, "IngressClass name"}},
		{name: "invalid annotation key",
			objs:    []runtime.Object{pluginCM("ing", NameIngressMapping, map[string]string{KeyIngressAnnotationMapping: "a: 'b c'"})},
			item:    ingress("", map[string]string{"a": "1"}, false),
			wantErr: []string{"ConfigMap velero/ing", KeyIngressAnnotationMapping, `"b c"`, "annotation key"}},
		{name: "two keys renamed to one",
			objs:    []runtime.Object{pluginCM("ing", NameIngressMapping, map[string]string{KeyIngressAnnotationMapping: "a: c\nb: c"})},
			item:    ingress("", map[string]string{"a": "1"}, false),
			wantErr: []string{"ConfigMap velero/ing", KeyIngressAnnotationMapping, `"a" and "b" both rename to "c"`}},
		{name: "key of another action in its ConfigMap",
			objs:    []runtime.Object{pluginCM("ing", NameIngressMapping, map[string]string{KeyImageRegistryMapping: "a/: b/"})},
			item:    ingress("nginx", nil, false),
			wantErr: []string{"ConfigMap velero/ing", KeyImageRegistryMapping}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, hook := test.NewNullLogger()
			l.SetLevel(logrus.InfoLevel)
			in, out, ok := actionCase{objs: tc.objs, item: tc.item, restore: testRestore("r1", tc.config), wantErr: tc.wantErr, maxCalls: tc.maxCalls, log: l}.
				execute(t, func(b base) executor { return &IngressMappingAction{b} })
			if !ok {
				return
			}
			if w := warnings(hook); len(w) != tc.wantWarn {
				t.Errorf("warnings = %q, want %d", w, tc.wantWarn)
			}
			if tc.wantAnn == nil {
				assertSame(t, in, out)
				return
			}
			if _, ok := out.Object["status"]; ok {
				t.Errorf("status kept: %v", out.Object["status"])
			}
			got := new(networkingv1.Ingress)
			fromItem(t, out, got)
			class := ""
			if got.Spec.IngressClassName != nil {
				class = *got.Spec.IngressClassName
			}
			if class != tc.wantClass {
				t.Errorf("ingressClassName = %q, want %q", class, tc.wantClass)
			}
			if len(got.Annotations) != len(tc.wantAnn) {
				t.Errorf("annotations = %v, want %v", got.Annotations, tc.wantAnn)
			}
			for k, v := range tc.wantAnn {
				if got.Annotations[k] != v {
					t.Errorf("annotation %s = %q, want %q (all: %v)", k, got.Annotations[k], v, got.Annotations)
				}
			}
			// Nothing else changed.
			delete(in.Object, "status")
			out.SetAnnotations(in.GetAnnotations())
			if c, ok := in.Object["spec"].(map[string]any)["ingressClassName"]; ok {
				out.Object["spec"].(map[string]any)["ingressClassName"] = c
			}
			assertSame(t, in, out)
		})
	}
}
