package restoreactions

import (
	"context"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
// NodePorts are left to Velero's own service action, which follows the
// Restore's spec.preserveNodePorts. adjustLoadBalancerServices: "false" turns
// the action off for a restore.
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
	svcType, _, _ := unstructured.NestedString(obj.Object, "spec", "type")
	if svcType != string(corev1.ServiceTypeLoadBalancer) {
		return unchanged(input), nil
	}
	enabled, err := a.env.forRestore(input.Restore).boolSetting(context.TODO(), KeyAdjustLoadBalancerServices, true)
	if err != nil || !enabled {
		return unchanged(input), err
	}
	out := obj.DeepCopy()
	log := a.itemLog(a.Name(), obj)
	ann := out.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	if lbID, prefix := reusedLoadBalancer(ann); lbID != "" {
		// Set the switch under the prefix the Service already uses, and turn
		// off any copy under the other prefix too, so neither wins by accident.
		ann[prefix+annSuffixForceListen] = "false"
		for _, p := range []string{annLBIDPrefix, annLBIDPrefixLegacy} {
			if _, ok := ann[p+annSuffixForceListen]; ok {
				ann[p+annSuffixForceListen] = "false"
			}
		}
		log.Infof("reusing load balancer %s with listeners not managed by this cluster; configure them in the SLB console", lbID)
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
