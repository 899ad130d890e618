package stack

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DeleteNamespace deletes a namespace and everything in it, and waits until it
// is gone. Without a kube-controller-manager nobody empties and finalizes a
// terminating namespace, so this does the namespace controller's work: delete
// every namespaced object, then clear the namespace's finalizers.
func (s *Stack) DeleteNamespace(ctx context.Context, name string) error {
	lists, err := s.Kube.Discovery().ServerPreferredNamespacedResources()
	if err != nil {
		return fmt.Errorf("discovering namespaced resources: %w", err)
	}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			return err
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") || !hasVerb(r.Verbs, "deletecollection") {
				continue
			}
			gvr := gv.WithResource(r.Name)
			// Pods and PVCs carry finalizers that a kubelet or controller would
			// remove; drop them so deletion completes.
			if err := s.clearFinalizers(ctx, gvr, name); err != nil {
				return err
			}
			err := s.Dynamic.Resource(gvr).Namespace(name).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				return fmt.Errorf("deleting %s in namespace %s: %w", gvr.Resource, name, err)
			}
		}
	}
	err = s.Kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	ns, err := s.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err == nil && len(ns.Spec.Finalizers) > 0 {
		ns.Spec.Finalizers = nil
		if _, err := s.Kube.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("finalizing namespace %s: %w", name, err)
		}
	}
	return Poll(ctx, 30*time.Second, func() (bool, string, error) {
		_, err := s.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, "namespace " + name + " still exists", err
	})
}

// DeleteClusterObject deletes a cluster-scoped object (a PV), clearing its
// finalizers first since no controller runs to do it; absent is fine.
func (s *Stack) DeleteClusterObject(ctx context.Context, gvr schema.GroupVersionResource, name string) error {
	ri := s.Dynamic.Resource(gvr)
	obj, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(obj.GetFinalizers()) > 0 {
		obj.SetFinalizers(nil)
		if _, err := ri.Update(ctx, obj, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if err := ri.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return Poll(ctx, 30*time.Second, func() (bool, string, error) {
		_, err := ri.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, gvr.Resource + " " + name + " still exists", err
	})
}

func (s *Stack) clearFinalizers(ctx context.Context, gvr schema.GroupVersionResource, ns string) error {
	ri := s.Dynamic.Resource(gvr).Namespace(ns)
	list, err := ri.List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
			return nil
		}
		return fmt.Errorf("listing %s in namespace %s: %w", gvr.Resource, ns, err)
	}
	for i := range list.Items {
		o := &list.Items[i]
		if len(o.GetFinalizers()) == 0 {
			continue
		}
		o.SetFinalizers(nil)
		if _, err := ri.Update(ctx, o, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("clearing finalizers of %s %s/%s: %w", gvr.Resource, ns, o.GetName(), err)
		}
	}
	return nil
}

func hasVerb(verbs []string, v string) bool {
	for _, x := range verbs {
		if x == v {
			return true
		}
	}
	return false
}

// Normalize returns a copy of obj without the fields the API server or Velero
// set on their own (uid, resourceVersion, timestamps, managed fields, status,
// Velero's backup/restore labels), so an original and its restored copy can be
// compared field by field.
func Normalize(obj *unstructured.Unstructured) map[string]any {
	o := obj.DeepCopy().Object
	md, _ := o["metadata"].(map[string]any)
	for _, k := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"} {
		delete(md, k)
	}
	if labels, ok := md["labels"].(map[string]any); ok {
		delete(labels, "velero.io/backup-name")
		delete(labels, "velero.io/restore-name")
		if len(labels) == 0 {
			delete(md, "labels")
		}
	}
	delete(o, "status")
	return o
}
