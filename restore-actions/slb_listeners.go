package restoreactions

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Annotations and labels of the Alibaba Cloud cloud controller manager (CCM).
const (
	annLBIDPrefix        = "service.beta.kubernetes.io/alibaba-cloud-"
	annLBIDPrefixLegacy  = "service.beta.kubernetes.io/alicloud-"
	annSuffixLBID        = "loadbalancer-id"
	annSuffixForceListen = "loadbalancer-force-override-listeners"
	ccmHash              = "service.beta.kubernetes.io/hash"
	ccmLBIDLabel         = "service.k8s.alibaba/loadbalancer-id"
	// The CCM's finalizers on a Service whose CLB or NLB it manages.
	ccmFinalizerCLB = "service.k8s.alibaba/resources"
	ccmFinalizerNLB = "service.k8s.alibaba/nlb"
)

// SLBListenersAction adapts LoadBalancer Services to a new cluster, as the
// ACK Backup Center does:
//   - a Service that reuses an existing CLB/NLB (loadbalancer-id annotation)
//     keeps that load balancer, but its listeners are no longer managed
//     (force-override-listeners "false"), so the restored Service cannot take
//     over or rewrite the listeners still serving the original cluster;
//   - in both that case and for a load balancer the CCM created, the CCM's
//     bookkeeping (hash, loadbalancer-id label, status, finalizers) is
//     removed, so the target cluster's CCM reconciles the Service from
//     scratch and, for a CCM-created one, creates a new load balancer. The
//     finalizers went with the source cluster's resources: the target's CCM
//     adds its own once it manages the Service, and until then a stale one
//     would block deleting the Service wherever no CCM runs.
//
// adjustLoadBalancerServices: "false" turns the above off for a restore,
// and with it the two settings of a reused load balancer:
//   - forceOverrideListeners: "true" (ACK's mandatory listening enforcement)
//     sets force-override-listeners "true" instead, so the target's CCM
//     takes over, and overwrites, the load balancer's existing listeners
//     (logged as a warning);
//   - loadBalancerIDMapping (old: new) replaces a loadbalancer-id annotation
//     (either prefix) it maps, for a restore into another region or account.
//
// NodePorts: Velero's own service action (velero.io/service) clears the
// auto-assigned NodePorts and healthCheckNodePort unless the Restore sets
// spec.preserveNodePorts; the ACK Backup Center keeps them. With
// preserveNodePorts: "true" (off by default) this action puts back, on
// NodePort and LoadBalancer Services, every spec.ports[].nodePort and, for a
// LoadBalancer Service with externalTrafficPolicy Local, the
// spec.healthCheckNodePort that the restored item lacks and the backed-up
// item (input.ItemFromBackup) has. This works because plugin actions run
// after Velero's: Velero's plugin registry lists the server's own plugins
// (os.Args[0]) before the binaries of the plugins directory
// (pkg/plugin/clientmgmt/process/registry.go DiscoverPlugins), and
// pkg/restore/restore.go's restoreItem runs getApplicableActions in that
// order, handing each action the previous one's output as Item and the
// unmodified backup copy as ItemFromBackup (checked in Velero v1.18.3).
// A NodePort already taken in the target cluster makes creating the Service
// fail; the restore reports that error for the Service.
type SLBListenersAction struct{ base }

// NewSLBListenersAction is the initializer registered with Velero.
func NewSLBListenersAction(log logrus.FieldLogger) (any, error) {
	return &SLBListenersAction{base{log: log, env: DefaultEnv()}}, nil
}

func (a *SLBListenersAction) Name() string { return NameSLBListeners }

func (a *SLBListenersAction) AppliesTo() (velero.ResourceSelector, error) {
	return velero.ResourceSelector{IncludedResources: []string{"services"}}, nil
}

func (a *SLBListenersAction) Execute(input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	obj, ok := input.Item.(*unstructured.Unstructured)
	if !ok || obj.GetKind() != "Service" {
		return unchanged(input), nil
	}
	ctx := context.TODO()
	obj, err := a.restoreNodePorts(ctx, input, obj)
	if err != nil {
		return nil, err
	}
	svcType, _, _ := unstructured.NestedString(obj.Object, "spec", "type")
	if svcType != string(corev1.ServiceTypeLoadBalancer) {
		return velero.NewRestoreItemActionExecuteOutput(obj), nil
	}
	enabled, err := a.env.forRestore(input.Restore).boolSetting(ctx, KeyAdjustLoadBalancerServices, true)
	if err != nil {
		return nil, err
	}
	if !enabled {
		return velero.NewRestoreItemActionExecuteOutput(obj), nil
	}
	out := obj.DeepCopy()
	log := a.itemLog(a.Name(), obj)
	ann := out.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	if lbID, prefix := reusedLoadBalancer(ann); lbID != "" {
		s := a.env.forRestore(input.Restore)
		if lbID, err = a.mapLoadBalancerID(ctx, s, log, ann, lbID); err != nil {
			return nil, err
		}
		force, err := s.boolSetting(ctx, KeyForceOverrideListeners, false)
		if err != nil {
			return nil, err
		}
		// Set the switch under the prefix the Service already uses, and set
		// any copy under the other prefix the same way, so neither wins by
		// accident.
		value := strconv.FormatBool(force)
		ann[prefix+annSuffixForceListen] = value
		for _, p := range []string{annLBIDPrefix, annLBIDPrefixLegacy} {
			if _, ok := ann[p+annSuffixForceListen]; ok {
				ann[p+annSuffixForceListen] = value
			}
		}
		if force {
			log.Warnf("reusing load balancer %s with its listeners managed by this cluster (%s: \"true\"): the CCM overwrites the listeners existing on that load balancer, including any still serving the original cluster",
				lbID, KeyForceOverrideListeners)
		} else {
			log.Infof("reusing load balancer %s with listeners not managed by this cluster; configure them in the SLB console", lbID)
		}
	} else {
		log.Info("removing CCM bookkeeping so that the CCM creates a new load balancer")
	}
	delete(ann, ccmHash)
	out.SetAnnotations(ann)
	if labels := out.GetLabels(); labels != nil {
		delete(labels, ccmHash)
		delete(labels, ccmLBIDLabel)
		out.SetLabels(labels)
	}
	out.SetFinalizers(slices.DeleteFunc(out.GetFinalizers(), func(f string) bool {
		return f == ccmFinalizerCLB || f == ccmFinalizerNLB
	}))
	unstructured.RemoveNestedField(out.Object, "status")
	return velero.NewRestoreItemActionExecuteOutput(out), nil
}

// reusedLoadBalancer returns the ID of an existing load balancer the Service
// names, and the annotation prefix it uses.
func reusedLoadBalancer(ann map[string]string) (id, prefix string) {
	for _, p := range []string{annLBIDPrefix, annLBIDPrefixLegacy} {
		if v := strings.TrimSpace(ann[p+annSuffixLBID]); v != "" {
			return v, p
		}
	}
	return "", ""
}

// mapLoadBalancerID replaces, under each prefix, a loadbalancer-id
// annotation that loadBalancerIDMapping maps (old: new), and returns the ID
// the Service reuses afterwards.
func (a *SLBListenersAction) mapLoadBalancerID(ctx context.Context, s *restoreState, log logrus.FieldLogger, ann map[string]string, lbID string) (string, error) {
	m, source, err := s.loadBalancerIDMapping(ctx)
	if err != nil || len(m) == 0 {
		return lbID, err
	}
	for _, p := range []string{annLBIDPrefix, annLBIDPrefixLegacy} {
		old := strings.TrimSpace(ann[p+annSuffixLBID])
		if to, ok := m[old]; ok && old != "" {
			ann[p+annSuffixLBID] = to
			log.Infof("mapping load balancer %s to %s (%s of %s)", old, to, KeyLoadBalancerIDMapping, source)
		}
	}
	id, _ := reusedLoadBalancer(ann)
	return id, nil
}

// loadBalancerIDMapping reads loadBalancerIDMapping (old ID: new ID, sides
// trimmed) and the ConfigMap it came from; nil when it is not set.
func (s *restoreState) loadBalancerIDMapping(ctx context.Context) (map[string]string, string, error) {
	st, err := s.lookup(ctx, KeyLoadBalancerIDMapping)
	if err != nil || !st.set {
		return nil, "", err
	}
	raw, err := parseMapping(st.source, KeyLoadBalancerIDMapping, st.value)
	if err != nil {
		return nil, "", err
	}
	m := make(map[string]string, len(raw))
	for from, to := range raw {
		f, t := strings.TrimSpace(from), strings.TrimSpace(to)
		if strings.ContainsAny(f, " \t,") || strings.ContainsAny(t, " \t,") {
			return nil, "", fmt.Errorf("%s config: %s entry %q: %q must map one load balancer ID to one, e.g. \"lb-2zeold: lb-bp1new\"",
				st.source, KeyLoadBalancerIDMapping, from, to)
		}
		m[f] = t
	}
	return m, st.source, nil
}

// restoreNodePorts returns obj with the NodePorts put back that the backed-up
// Service has and obj lacks, when preserveNodePorts is on; else obj itself.
// It reads the setting only for a Service that lacks one, so a Service Velero
// restored with its NodePorts costs no API call.
func (a *SLBListenersAction) restoreNodePorts(ctx context.Context, input *velero.RestoreItemActionExecuteInput, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	backup, ok := input.ItemFromBackup.(*unstructured.Unstructured)
	if !ok || backup == nil {
		return obj, nil
	}
	if t, _, _ := unstructured.NestedString(obj.Object, "spec", "type"); t != string(corev1.ServiceTypeNodePort) && t != string(corev1.ServiceTypeLoadBalancer) {
		return obj, nil
	}
	svc, old := new(corev1.Service), new(corev1.Service)
	if err := toTyped(input, svc); err != nil {
		return nil, err
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(backup.Object, old); err != nil {
		return nil, fmt.Errorf("decoding the backed-up Service: %w", err)
	}
	restored := missingNodePorts(svc, old)
	if len(restored) == 0 {
		return obj, nil
	}
	on, err := a.env.forRestore(input.Restore).boolSetting(ctx, KeyPreserveNodePorts, false)
	if err != nil || !on {
		return obj, err
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(svc)
	if err != nil {
		return nil, fmt.Errorf("encoding Service: %w", err)
	}
	a.itemLog(a.Name(), obj).Infof("restoring %s from the backup (%s); creating the Service fails if one is taken in this cluster",
		strings.Join(restored, ", "), KeyPreserveNodePorts)
	return &unstructured.Unstructured{Object: m}, nil
}

// missingNodePorts sets on svc (a NodePort or LoadBalancer Service) the
// nodePort of each port that has none, from the port of old (the backed-up
// copy) with the same name, port and protocol, and the healthCheckNodePort
// of a LoadBalancer Service with externalTrafficPolicy Local. It returns
// what it set, e.g. "nodePort 30080 of port http".
func missingNodePorts(svc, old *corev1.Service) []string {
	if svc.Spec.Type != corev1.ServiceTypeNodePort && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return nil
	}
	proto := func(p corev1.Protocol) corev1.Protocol {
		if p == "" {
			return corev1.ProtocolTCP
		}
		return p
	}
	var set []string
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.NodePort != 0 {
			continue
		}
		for _, o := range old.Spec.Ports {
			if o.NodePort != 0 && o.Name == p.Name && o.Port == p.Port && proto(o.Protocol) == proto(p.Protocol) {
				p.NodePort = o.NodePort
				name := p.Name
				if name == "" {
					name = fmt.Sprintf("%d/%s", p.Port, proto(p.Protocol))
				}
				set = append(set, fmt.Sprintf("nodePort %d of port %s", p.NodePort, name))
				break
			}
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal &&
		svc.Spec.HealthCheckNodePort == 0 && old.Spec.HealthCheckNodePort != 0 {
		svc.Spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
		set = append(set, fmt.Sprintf("healthCheckNodePort %d", svc.Spec.HealthCheckNodePort))
	}
	return set
}
