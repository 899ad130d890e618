package restoreactions

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
)

// annIngressClass is the legacy annotation naming an Ingress's class, still
// read by the NGINX and ALB Ingress controllers.
const annIngressClass = "kubernetes.io/ingress.class"

// IngressMappingAction adapts Ingresses to the target cluster's Ingress
// controller, as the ACK migration walk-through's "rewriting annotations for
// svc and ing": ingressClassMapping (old: new) rewrites spec.ingressClassName
// and the kubernetes.io/ingress.class annotation, e.g. nginx: alb;
// ingressAnnotationMapping (old-key: new-key) renames annotation keys and
// keeps their values. The status (the source cluster's load balancer) is
// always dropped.
type IngressMappingAction struct{ base }

// NewIngressMappingAction is the initializer registered with Velero.
func NewIngressMappingAction(log logrus.FieldLogger) (any, error) {
	return &IngressMappingAction{base{log: log, env: DefaultEnv()}}, nil
}

func (a *IngressMappingAction) Name() string { return NameIngressMapping }

func (a *IngressMappingAction) AppliesTo() (velero.ResourceSelector, error) {
	return velero.ResourceSelector{IncludedResources: []string{"ingresses.networking.k8s.io"}}, nil
}

func (a *IngressMappingAction) Execute(input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	obj, ok := input.Item.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("restore item has unexpected type %T", input.Item)
	}
	if obj.GetKind() != "Ingress" {
		return unchanged(input), nil
	}
	ctx := context.TODO()
	s := a.env.forRestore(input.Restore)
	className, _, _ := unstructured.NestedString(obj.Object, "spec", "ingressClassName")
	ann := obj.GetAnnotations()

	// Settings are read only for what the Ingress has: a class for the
	// class mapping, annotations for the annotation mapping.
	var classes, keys map[string]string
	var err error
	if className != "" || ann[annIngressClass] != "" {
		if classes, err = ingressMapping(ctx, s, KeyIngressClassMapping, validateIngressClass); err != nil {
			return nil, err
		}
	}
	if len(ann) > 0 {
		if keys, err = ingressMapping(ctx, s, KeyIngressAnnotationMapping, validateAnnotationKey); err != nil {
			return nil, err
		}
	}

	hasStatus := !emptyValue(obj.Object["status"])
	newClass := classes[className]
	newAnn, annChanged := mapIngressAnnotations(ann, classes, keys)
	if !hasStatus && newClass == "" && !annChanged {
		return unchanged(input), nil
	}

	out := obj.DeepCopy()
	log := a.itemLog(a.Name(), obj)
	delete(out.Object, "status")
	if newClass != "" && newClass != className {
		log.Infof("changing spec.ingressClassName from %s to %s", className, newClass)
		if err := unstructured.SetNestedField(out.Object, newClass, "spec", "ingressClassName"); err != nil {
			return nil, err
		}
	}
	if annChanged {
		for _, k := range slices.Sorted(maps.Keys(ann)) {
			nv, kept := newAnn[k]
			to := keys[k]
			switch {
			case kept && nv != ann[k]:
				log.Infof("changing annotation %s from %s to %s", k, ann[k], nv)
			case kept:
			case ann[to] != "" && ann[to] != ann[k]:
				log.Warnf("annotation %s is not renamed to %s by %s: the Ingress already sets %s; keeping its value and dropping %s", k, to, KeyIngressAnnotationMapping, to, k)
			default:
				log.Infof("renaming annotation %s to %s", k, to)
			}
		}
		out.SetAnnotations(newAnn)
	}
	return velero.NewRestoreItemActionExecuteOutput(out), nil
}

// mapIngressAnnotations returns the annotations with the class annotation's
// value mapped by classes, then keys renamed by keys, and whether anything
// changed. A renamed key whose target the Ingress already sets keeps the
// target's value.
func mapIngressAnnotations(ann, classes, keys map[string]string) (map[string]string, bool) {
	if len(ann) == 0 || (len(classes) == 0 && len(keys) == 0) {
		return ann, false
	}
	changed := false
	out := make(map[string]string, len(ann))
	for k, v := range ann {
		out[k] = v
	}
	if to := classes[out[annIngressClass]]; to != "" && to != out[annIngressClass] {
		out[annIngressClass] = to
		changed = true
	}
	for _, from := range slices.Sorted(maps.Keys(ann)) {
		to := keys[from]
		if to == "" || to == from {
			continue
		}
		v := out[from]
		delete(out, from)
		if _, exists := ann[to]; !exists {
			out[to] = v
		}
		changed = true
	}
	return out, changed
}

// ingressMapping reads and validates one of the Ingress mappings; nil when
// unset.
func ingressMapping(ctx context.Context, s *restoreState, key string, valid func(string) []string) (map[string]string, error) {
	st, err := s.lookup(ctx, key)
	if err != nil || !st.set {
		return nil, err
	}
	m, err := parseMapping(st.source, key, st.value)
	if err != nil {
		return nil, err
	}
	for _, from := range slices.Sorted(maps.Keys(m)) {
		for _, side := range []string{from, m[from]} {
			if msgs := valid(strings.TrimSpace(side)); len(msgs) > 0 {
				return nil, fmt.Errorf("%s config: %s entry %q: %q is not valid (%s)", st.source, key, from, side, strings.Join(msgs, "; "))
			}
		}
	}
	trimmed := make(map[string]string, len(m))
	byTarget := map[string]string{}
	for _, from := range slices.Sorted(maps.Keys(m)) {
		to := strings.TrimSpace(m[from])
		if other, dup := byTarget[to]; dup && key == KeyIngressAnnotationMapping {
			// Which value wins would depend on the Ingress.
			return nil, fmt.Errorf("%s config: %s keys %q and %q both rename to %q; keep one", st.source, key, other, from, to)
		}
		byTarget[to] = from
		trimmed[strings.TrimSpace(from)] = to
	}
	return trimmed, nil
}

func validateIngressClass(name string) []string {
	msgs := validation.IsDNS1123Subdomain(name)
	if len(msgs) > 0 {
		msgs = append(msgs, "write an IngressClass name such as alb")
	}
	return msgs
}

func validateAnnotationKey(key string) []string {
	msgs := validation.IsQualifiedName(key)
	if len(msgs) > 0 {
		msgs = append(msgs, "write an annotation key such as alb.ingress.kubernetes.io/rewrite-target")
	}
	return msgs
}

// emptyValue reports whether v holds nothing: nil, or maps and lists of
// nothing (a status of "loadBalancer: {}" says nothing of the source cluster).
func emptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, e := range v {
			if !emptyValue(e) {
				return false
			}
		}
		return true
	case []any:
		return len(v) == 0
	}
	return false
}
