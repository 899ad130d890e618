package restoreactions

import (
	"maps"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func service(typ corev1.ServiceType, ann, labels map[string]string) *corev1.Service {
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web", Annotations: ann, Labels: labels,
			Finalizers: []string{ccmFinalizerCLB, "example.com/keep", ccmFinalizerNLB}},
		Spec: corev1.ServiceSpec{
			Type:                  typ,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			HealthCheckNodePort:   31000,
			Ports:                 []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}},
		},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "47.0.0.1"}}}},
	}
}

func TestSLBListeners(t *testing.T) {
	const (
		idNew       = annLBIDPrefix + annSuffixLBID
		idLegacy    = annLBIDPrefixLegacy + annSuffixLBID
		forceNew    = annLBIDPrefix + annSuffixForceListen
		forceLegacy = annLBIDPrefixLegacy + annSuffixForceListen
	)
	ccmLabels := map[string]string{ccmLBIDLabel: "lb-old", ccmHash: "abc", "app": "web"}
	tests := []struct {
		name       string
		objs       []runtime.Object
		config     string
		preserve   bool
		item       *corev1.Service
		unchanged  bool
		wantAnn    map[string]string // annotations after (exact)
		wantLabels map[string]string // labels after (exact)
		wantErr    []string
		maxCalls   int
	}{
		{name: "reused CLB: listeners not managed, bookkeeping removed",
			item:       service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-123", forceNew: "true", ccmHash: "h"}, ccmLabels),
			wantAnn:    map[string]string{idNew: "lb-123", forceNew: "false"},
			wantLabels: map[string]string{"app": "web"}, maxCalls: 1},
		{name: "reused LB via legacy annotation",
			item:       service(corev1.ServiceTypeLoadBalancer, map[string]string{idLegacy: "lb-123"}, ccmLabels),
			wantAnn:    map[string]string{idLegacy: "lb-123", forceLegacy: "false"},
			wantLabels: map[string]string{"app": "web"}, maxCalls: 1},
		{name: "reused LB with force-override under the other prefix turned off too",
			item:       service(corev1.ServiceTypeLoadBalancer, map[string]string{idLegacy: "lb-123", forceNew: "true"}, nil),
			wantAnn:    map[string]string{idLegacy: "lb-123", forceLegacy: "false", forceNew: "false"},
			wantLabels: map[string]string{}, maxCalls: 1},
		{name: "CCM-created LB: bookkeeping removed so a new one is created", preserve: true,
			item:       service(corev1.ServiceTypeLoadBalancer, map[string]string{"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-spec": "slb.s1.small"}, ccmLabels),
			wantAnn:    map[string]string{"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-spec": "slb.s1.small"},
			wantLabels: map[string]string{"app": "web"}, maxCalls: 1},
		{name: "opted out per restore", config: "mig",
			objs:      []runtime.Object{restoreCM("mig", map[string]string{KeyAdjustLoadBalancerServices: "false"})},
			item:      service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-123"}, ccmLabels),
			unchanged: true, maxCalls: 1},
		{name: "per-restore opt-in overrides cluster-wide opt-out", config: "mig",
			objs: []runtime.Object{
				pluginCM("slb", NameSLBListeners, map[string]string{KeyAdjustLoadBalancerServices: "false"}),
				restoreCM("mig", map[string]string{KeyAdjustLoadBalancerServices: "true"}),
			},
			item:       service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-123"}, nil),
			wantAnn:    map[string]string{idNew: "lb-123", forceNew: "false"},
			wantLabels: map[string]string{}, maxCalls: 1},
		{name: "malformed opt-out", config: "mig",
			objs:    []runtime.Object{restoreCM("mig", map[string]string{KeyAdjustLoadBalancerServices: "nope"})},
			item:    service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-123"}, nil),
			wantErr: []string{"ConfigMap velero/mig", KeyAdjustLoadBalancerServices, "true or false"}},
		{name: "ClusterIP Service untouched, no API call",
			item: service(corev1.ServiceTypeClusterIP, map[string]string{ccmHash: "h"}, ccmLabels), unchanged: true},
		{name: "NodePort Service untouched, no API call",
			item: service(corev1.ServiceTypeNodePort, nil, ccmLabels), unchanged: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testRestore("r1", tc.config)
			r.Spec.PreserveNodePorts = &tc.preserve
			in, out, ok := actionCase{objs: tc.objs, item: tc.item, restore: r, wantErr: tc.wantErr, maxCalls: tc.maxCalls}.
				execute(t, func(b base) executor { return &SLBListenersAction{b} })
			if !ok {
				return
			}
			if tc.unchanged {
				assertSame(t, in, out)
				return
			}
			svc := new(corev1.Service)
			fromItem(t, out, svc)
			if !maps.Equal(svc.Annotations, tc.wantAnn) {
				t.Errorf("annotations = %v, want %v", svc.Annotations, tc.wantAnn)
			}
			if !maps.Equal(svc.Labels, tc.wantLabels) {
				t.Errorf("labels = %v, want %v", svc.Labels, tc.wantLabels)
			}
			if !slices.Equal(svc.Finalizers, []string{"example.com/keep"}) {
				t.Errorf("finalizers = %v; want the CCM's removed and others kept", svc.Finalizers)
			}
			if len(svc.Status.LoadBalancer.Ingress) != 0 {
				t.Errorf("status kept: %v", svc.Status)
			}
			// NodePorts are Velero's service action's business.
			if svc.Spec.Ports[0].NodePort != 30080 || svc.Spec.HealthCheckNodePort != 31000 {
				t.Errorf("node ports changed: %v, %d", svc.Spec.Ports, svc.Spec.HealthCheckNodePort)
			}
		})
	}
}
