package restoreactions

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus/hooks/test"

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
		wantWarn   string // part of the one warning expected; none when ""
		// A per-restore ConfigMap that lacks a key the item reads costs the
		// list of the cluster-wide ConfigMaps too (once per restore).
		maxCalls int
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
			wantLabels: map[string]string{}, maxCalls: 2},
		{name: "malformed opt-out", config: "mig",
			objs:    []runtime.Object{restoreCM("mig", map[string]string{KeyAdjustLoadBalancerServices: "nope"})},
			item:    service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-123"}, nil),
			wantErr: []string{"ConfigMap velero/mig", KeyAdjustLoadBalancerServices, "true or false"}},
		{name: "forceOverrideListeners: listeners taken over, under both prefixes", config: "mig",
			objs:       []runtime.Object{restoreCM("mig", map[string]string{KeyForceOverrideListeners: "true"})},
			item:       service(corev1.ServiceTypeLoadBalancer, map[string]string{idLegacy: "lb-123", forceNew: "false", ccmHash: "h"}, ccmLabels),
			wantAnn:    map[string]string{idLegacy: "lb-123", forceLegacy: "true", forceNew: "true"},
			wantLabels: map[string]string{"app": "web"}, wantWarn: "overwrites the listeners", maxCalls: 2},
		{name: "forceOverrideListeners from the cluster-wide ConfigMap",
			objs:       []runtime.Object{pluginCM("slb", NameSLBListeners, map[string]string{KeyForceOverrideListeners: "true"})},
			item:       service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-123"}, nil),
			wantAnn:    map[string]string{idNew: "lb-123", forceNew: "true"},
			wantLabels: map[string]string{}, wantWarn: "lb-123", maxCalls: 1},
		{name: "forceOverrideListeners off explicitly", config: "mig",
			objs:       []runtime.Object{restoreCM("mig", map[string]string{KeyForceOverrideListeners: "false"})},
			item:       service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-123", forceNew: "true"}, nil),
			wantAnn:    map[string]string{idNew: "lb-123", forceNew: "false"},
			wantLabels: map[string]string{}, maxCalls: 2},
		{name: "forceOverrideListeners ignored for a CCM-created load balancer", config: "mig",
			objs:       []runtime.Object{restoreCM("mig", map[string]string{KeyForceOverrideListeners: "true"})},
			item:       service(corev1.ServiceTypeLoadBalancer, nil, ccmLabels),
			wantAnn:    map[string]string{},
			wantLabels: map[string]string{"app": "web"}, maxCalls: 2},
		{name: "malformed forceOverrideListeners", config: "mig",
			objs:    []runtime.Object{restoreCM("mig", map[string]string{KeyForceOverrideListeners: "yes please"})},
			item:    service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-123"}, nil),
			wantErr: []string{"ConfigMap velero/mig", KeyForceOverrideListeners, "true or false"}},
		{name: "loadBalancerIDMapping maps the reused ID under both prefixes", config: "mig",
			objs:       []runtime.Object{restoreCM("mig", map[string]string{KeyLoadBalancerIDMapping: "lb-old: lb-new\nlb-other: lb-x\n"})},
			item:       service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-old", idLegacy: " lb-old "}, nil),
			wantAnn:    map[string]string{idNew: "lb-new", idLegacy: "lb-new", forceNew: "false"},
			wantLabels: map[string]string{}, maxCalls: 2},
		{name: "loadBalancerIDMapping with forceOverrideListeners, from the cluster-wide ConfigMap",
			objs: []runtime.Object{pluginCM("slb", NameSLBListeners, map[string]string{
				KeyLoadBalancerIDMapping: "lb-old: lb-new", KeyForceOverrideListeners: "true"})},
			item:       service(corev1.ServiceTypeLoadBalancer, map[string]string{idLegacy: "lb-old"}, nil),
			wantAnn:    map[string]string{idLegacy: "lb-new", forceLegacy: "true"},
			wantLabels: map[string]string{}, wantWarn: "lb-new", maxCalls: 1},
		{name: "loadBalancerIDMapping leaves an unmapped ID", config: "mig",
			objs:       []runtime.Object{restoreCM("mig", map[string]string{KeyLoadBalancerIDMapping: "lb-old: lb-new"})},
			item:       service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-123"}, nil),
			wantAnn:    map[string]string{idNew: "lb-123", forceNew: "false"},
			wantLabels: map[string]string{}, maxCalls: 2},
		{name: "malformed loadBalancerIDMapping", config: "mig",
			objs:    []runtime.Object{restoreCM("mig", map[string]string{KeyLoadBalancerIDMapping: "- lb-old"})},
			item:    service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-123"}, nil),
			wantErr: []string{"ConfigMap velero/mig", KeyLoadBalancerIDMapping, "YAML map"}},
		{name: "loadBalancerIDMapping entry with an empty side", config: "mig",
			objs:    []runtime.Object{restoreCM("mig", map[string]string{KeyLoadBalancerIDMapping: "lb-old: \"\""})},
			item:    service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-123"}, nil),
			wantErr: []string{"ConfigMap velero/mig", KeyLoadBalancerIDMapping, "lb-old", "empty side"}},
		{name: "loadBalancerIDMapping entry naming two IDs", config: "mig",
			objs:    []runtime.Object{restoreCM("mig", map[string]string{KeyLoadBalancerIDMapping: "lb-old: lb-a, lb-b"})},
			item:    service(corev1.ServiceTypeLoadBalancer, map[string]string{idNew: "lb-123"}, nil),
			wantErr: []string{"ConfigMap velero/mig", KeyLoadBalancerIDMapping, "one load balancer ID"}},
		{name: "ClusterIP Service untouched, no API call",
			item: service(corev1.ServiceTypeClusterIP, map[string]string{ccmHash: "h"}, ccmLabels), unchanged: true},
		{name: "NodePort Service untouched, no API call",
			item: service(corev1.ServiceTypeNodePort, nil, ccmLabels), unchanged: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testRestore("r1", tc.config)
			r.Spec.PreserveNodePorts = &tc.preserve
			logger, hook := test.NewNullLogger()
			in, out, ok := actionCase{objs: tc.objs, item: tc.item, restore: r, wantErr: tc.wantErr, maxCalls: tc.maxCalls, log: logger}.
				execute(t, func(b base) executor { return &SLBListenersAction{b} })
			if !ok {
				return
			}
			switch w := warnings(hook); {
			case tc.wantWarn == "" && len(w) > 0:
				t.Errorf("unexpected warnings: %q", w)
			case tc.wantWarn != "" && (len(w) != 1 || !strings.Contains(w[0], tc.wantWarn) || !strings.Contains(w[0], "overwrites the listeners")):
				t.Errorf("warnings = %q, want one about overwritten listeners containing %q", w, tc.wantWarn)
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
			// Without preserveNodePorts, NodePorts stay as Velero's service action left them.
			if svc.Spec.Ports[0].NodePort != 30080 || svc.Spec.HealthCheckNodePort != 31000 {
				t.Errorf("node ports changed: %v, %d", svc.Spec.Ports, svc.Spec.HealthCheckNodePort)
			}
		})
	}
}

// npService is a Service of type typ with the given ports, as backed up (with
// NodePorts) or as Velero's service action left it (without).
func npService(typ corev1.ServiceType, policy corev1.ServiceExternalTrafficPolicy, healthCheck int32, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"},
		Spec: corev1.ServiceSpec{Type: typ, ExternalTrafficPolicy: policy, HealthCheckNodePort: healthCheck,
			Ports: ports},
	}
}

func TestSLBListenersPreserveNodePorts(t *testing.T) {
	const local, cluster = corev1.ServiceExternalTrafficPolicyLocal, corev1.ServiceExternalTrafficPolicyCluster
	http := func(nodePort int32) corev1.ServicePort {
		return corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, NodePort: nodePort}
	}
	https := func(nodePort int32) corev1.ServicePort {
		return corev1.ServicePort{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP, NodePort: nodePort}
	}
	unnamed := func(nodePort int32) corev1.ServicePort {
		return corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP, NodePort: nodePort}
	}
	on := []runtime.Object{restoreCM("mig", map[string]string{KeyPreserveNodePorts: "true"})}
	tests := []struct {
		name            string
		objs            []runtime.Object
		config          string
		backup, item    *corev1.Service
		unchanged       bool
		wantNodePorts   []int32
		wantHealthCheck int32
		wantAnn         map[string]string // checked when set
		wantErr         []string
		maxCalls        int
	}{
		{name: "NodePort Service: cleared NodePorts restored", objs: on, config: "mig",
			backup:        npService(corev1.ServiceTypeNodePort, cluster, 0, http(30080), https(30443)),
			item:          npService(corev1.ServiceTypeNodePort, cluster, 0, http(0), https(0)),
			wantNodePorts: []int32{30080, 30443}, maxCalls: 1},
		{name: "explicit NodePort Velero kept stays, the cleared one is restored", objs: on, config: "mig",
			backup:        npService(corev1.ServiceTypeNodePort, cluster, 0, http(30080), https(30443)),
			item:          npService(corev1.ServiceTypeNodePort, cluster, 0, http(30080), https(0)),
			wantNodePorts: []int32{30080, 30443}, maxCalls: 1},
		{name: "unnamed port matched by port and protocol", objs: on, config: "mig",
			backup:        npService(corev1.ServiceTypeNodePort, cluster, 0, unnamed(30053)),
			item:          npService(corev1.ServiceTypeNodePort, cluster, 0, corev1.ServicePort{Port: 53, Protocol: corev1.ProtocolUDP}),
			wantNodePorts: []int32{30053}, maxCalls: 1},
		{name: "port changed since the backup is not given the old NodePort", objs: on, config: "mig",
			backup:    npService(corev1.ServiceTypeNodePort, cluster, 0, http(30080)),
			item:      npService(corev1.ServiceTypeNodePort, cluster, 0, corev1.ServicePort{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}),
			unchanged: true, maxCalls: 0},
		{name: "LoadBalancer Local: NodePorts and healthCheckNodePort restored, LB adjusted too", objs: on, config: "mig",
			backup:        npService(corev1.ServiceTypeLoadBalancer, local, 31000, http(30080)),
			item:          npService(corev1.ServiceTypeLoadBalancer, local, 0, http(0)),
			wantNodePorts: []int32{30080}, wantHealthCheck: 31000, maxCalls: 2}, // per-restore get, then the cluster-wide list for adjustLoadBalancerServices
		{name: "LoadBalancer Cluster: no healthCheckNodePort", objs: on, config: "mig",
			backup:        npService(corev1.ServiceTypeLoadBalancer, cluster, 31000, http(30080)),
			item:          npService(corev1.ServiceTypeLoadBalancer, cluster, 0, http(0)),
			wantNodePorts: []int32{30080}, wantHealthCheck: 0, maxCalls: 2}, // per-restore get, then the cluster-wide list for adjustLoadBalancerServices
		{name: "cluster-wide preserveNodePorts", objs: []runtime.Object{pluginCM("slb", NameSLBListeners, map[string]string{KeyPreserveNodePorts: "true"})},
			backup:        npService(corev1.ServiceTypeNodePort, cluster, 0, http(30080)),
			item:          npService(corev1.ServiceTypeNodePort, cluster, 0, http(0)),
			wantNodePorts: []int32{30080}, maxCalls: 1},
		{name: "with adjustLoadBalancerServices off, NodePorts still restored and LB untouched", config: "mig",
			objs: []runtime.Object{restoreCM("mig", map[string]string{KeyPreserveNodePorts: "true", KeyAdjustLoadBalancerServices: "false"})},
			backup: func() *corev1.Service {
				s := npService(corev1.ServiceTypeLoadBalancer, local, 31000, http(30080))
				s.Annotations = map[string]string{annLBIDPrefix + annSuffixLBID: "lb-1"}
				return s
			}(),
			item: func() *corev1.Service {
				s := npService(corev1.ServiceTypeLoadBalancer, local, 0, http(0))
				s.Annotations = map[string]string{annLBIDPrefix + annSuffixLBID: "lb-1"}
				return s
			}(),
			wantNodePorts: []int32{30080}, wantHealthCheck: 31000, wantAnn: map[string]string{annLBIDPrefix + annSuffixLBID: "lb-1"}, maxCalls: 1},
		{name: "off by default: cleared NodePorts stay cleared",
			backup:    npService(corev1.ServiceTypeNodePort, cluster, 0, http(30080)),
			item:      npService(corev1.ServiceTypeNodePort, cluster, 0, http(0)),
			unchanged: true, maxCalls: 1},
		{name: "turned off per restore", config: "mig",
			objs: []runtime.Object{
				pluginCM("slb", NameSLBListeners, map[string]string{KeyPreserveNodePorts: "true"}),
				restoreCM("mig", map[string]string{KeyPreserveNodePorts: "false"}),
			},
			backup:    npService(corev1.ServiceTypeNodePort, cluster, 0, http(30080)),
			item:      npService(corev1.ServiceTypeNodePort, cluster, 0, http(0)),
			unchanged: true, maxCalls: 1},
		{name: "NodePorts kept by Velero (--preserve-nodeports): nothing to do, no API call", objs: on, config: "mig",
			backup:    npService(corev1.ServiceTypeNodePort, cluster, 0, http(30080)),
			item:      npService(corev1.ServiceTypeNodePort, cluster, 0, http(30080)),
			unchanged: true, maxCalls: 0},
		{name: "ClusterIP Service never given NodePorts, no API call", objs: on, config: "mig",
			backup:    npService(corev1.ServiceTypeNodePort, cluster, 0, http(30080)),
			item:      npService(corev1.ServiceTypeClusterIP, "", 0, http(0)),
			unchanged: true, maxCalls: 0},
		{name: "malformed preserveNodePorts", config: "mig",
			objs:    []runtime.Object{restoreCM("mig", map[string]string{KeyPreserveNodePorts: "yes please"})},
			backup:  npService(corev1.ServiceTypeNodePort, cluster, 0, http(30080)),
			item:    npService(corev1.ServiceTypeNodePort, cluster, 0, http(0)),
			wantErr: []string{"ConfigMap velero/mig", KeyPreserveNodePorts, "true or false"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, out, ok := actionCase{objs: tc.objs, item: tc.item, backup: tc.backup, restore: testRestore("r1", tc.config),
				wantErr: tc.wantErr, maxCalls: tc.maxCalls}.
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
			var got []int32
			for _, p := range svc.Spec.Ports {
				got = append(got, p.NodePort)
			}
			if !slices.Equal(got, tc.wantNodePorts) {
				t.Errorf("nodePorts = %v, want %v", got, tc.wantNodePorts)
			}
			if svc.Spec.HealthCheckNodePort != tc.wantHealthCheck {
				t.Errorf("healthCheckNodePort = %d, want %d", svc.Spec.HealthCheckNodePort, tc.wantHealthCheck)
			}
			if tc.wantAnn != nil && !maps.Equal(svc.Annotations, tc.wantAnn) {
				t.Errorf("annotations = %v, want %v", svc.Annotations, tc.wantAnn)
			}
		})
	}
}
