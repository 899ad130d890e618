package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// NodeAgentOptions configures StartNodeAgent.
type NodeAgentOptions struct {
	Node   string            // the node's name; "" = e2e-node
	Labels map[string]string // extra node labels (topology, for instance)
	// Schedule lists the namespaces whose unscheduled pods the kubelet binds
	// to the node (Velero restores pods without a node name).
	Schedule []string
}

// NodeAgent is Velero's node-agent running on the stack's one node.
type NodeAgent struct {
	*Kubelet
	Pod     string // the DaemonSet's pod
	LogPath string
	stop    sync.Once
}

// StartNodeAgent runs Velero's file-system backup machinery: the node-agent
// DaemonSet as `velero install --use-node-agent` renders it, with its
// host-pods volume pointing at the kubelet's pods directory, and a Kubelet
// for one node that runs the DaemonSet's pod (`velero node-agent server`
// from the stack's Velero binary) and the data-path pods node-agent creates
// for each PodVolumeBackup and PodVolumeRestore. Only the scenarios that back
// volume data up pay for it; Stop removes it all again (Stack.Stop does too).
func (s *Stack) StartNodeAgent(ctx context.Context, opts NodeAgentOptions) (na *NodeAgent, err error) {
	if opts.Node == "" {
		opts.Node = "e2e-node"
	}
	ds, err := s.renderNodeAgent(ctx)
	if err != nil {
		return nil, err
	}
	k, err := s.startKubelet(ctx, opts.Node, opts.Labels, opts.Schedule)
	if err != nil {
		return nil, err
	}
	na = &NodeAgent{Kubelet: k}
	s.mu.Lock()
	s.cleanup = append(s.cleanup, na.Stop)
	s.mu.Unlock()
	defer func() {
		if err != nil {
			na.Stop()
		}
	}()
	for i := range ds.Spec.Template.Spec.Volumes {
		v := &ds.Spec.Template.Spec.Volumes[i]
		switch {
		case v.Name == "host-pods" && v.HostPath != nil:
			v.HostPath.Path = k.PodsDir
		case v.Name == "host-plugins" && v.HostPath != nil:
			v.HostPath.Path = filepath.Join(k.dir, "plugins")
		}
	}
	ds.Namespace = VeleroNamespace
	if ds, err = s.Kube.AppsV1().DaemonSets(VeleroNamespace).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating the node-agent DaemonSet: %w", err)
	}
	// What the DaemonSet controller does: one pod per node, owned by it.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: ds.Name + "-" + randomHex(3), Namespace: VeleroNamespace,
			Labels: ds.Spec.Template.Labels, Annotations: ds.Spec.Template.Annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: ds.Name, UID: ds.UID,
				Controller: ptr(true), BlockOwnerDeletion: ptr(true)}},
		},
		Spec: *ds.Spec.Template.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = k.Node
	if pod, err = s.Kube.CoreV1().Pods(VeleroNamespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating the node-agent pod: %w", err)
	}
	na.Pod = pod.Name
	na.LogPath = filepath.Join(k.dir, fmt.Sprintf("%s_%s_%s.log", VeleroNamespace, pod.Name, pod.Spec.Containers[0].Name))
	// node-agent logs this once its controllers are set up, right before
	// the manager starts them.
	err = Poll(ctx, 2*time.Minute, func() (bool, string, error) {
		p, err := s.Kube.CoreV1().Pods(VeleroNamespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		b, _ := os.ReadFile(na.LogPath)
		if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			return false, "", fmt.Errorf("node-agent pod %s ended %s (%s); log %s:\n%s", pod.Name, p.Status.Phase, p.Status.Message, na.LogPath, tail(b, 4000))
		}
		return p.Status.Phase == corev1.PodRunning && strings.Contains(string(b), "Controllers starting"),
			fmt.Sprintf("node-agent pod %s is %q", pod.Name, p.Status.Phase), nil
	})
	if err != nil {
		return nil, err
	}
	ds.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 1, CurrentNumberScheduled: 1, NumberReady: 1,
		NumberAvailable: 1, UpdatedNumberScheduled: 1, ObservedGeneration: ds.Generation}
	if _, err := s.Kube.AppsV1().DaemonSets(VeleroNamespace).UpdateStatus(ctx, ds, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("node-agent DaemonSet status: %w", err)
	}
	s.logf("stack: node-agent running on node %s (pod %s, log %s)", k.Node, pod.Name, na.LogPath)
	return na, nil
}

// Stop stops the kubelet and its pods and removes the DaemonSet.
func (na *NodeAgent) Stop() {
	if na == nil || na.Kubelet == nil {
		return
	}
	na.stop.Do(func() {
		na.Kubelet.Stop()
		err := na.s.Kube.AppsV1().DaemonSets(VeleroNamespace).Delete(context.Background(), "node-agent", metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			na.s.logf("stack: deleting the node-agent DaemonSet: %v", err)
		}
	})
}

// Log is node-agent's log so far.
func (na *NodeAgent) Log() string {
	b, _ := os.ReadFile(na.LogPath)
	return string(b)
}

// renderNodeAgent returns the node-agent DaemonSet of `velero install
// --use-node-agent --dry-run`.
func (s *Stack) renderNodeAgent(ctx context.Context) (*appsv1.DaemonSet, error) {
	out, err := s.Velero(ctx, "install", "--dry-run", "-o", "yaml",
		"--no-secret", "--no-default-backup-location", "--use-volume-snapshots=false", "--use-node-agent",
		"--plugins", "velero-plugin-for-alibabacloud:e2e")
	if err != nil {
		return nil, err
	}
	objs, err := decodeYAML(out)
	if err != nil {
		return nil, fmt.Errorf("decoding `velero install --use-node-agent --dry-run` output: %w", err)
	}
	for _, o := range objs {
		if o.GetKind() == "DaemonSet" && o.GetName() == "node-agent" {
			ds := &appsv1.DaemonSet{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, ds); err != nil {
				return nil, err
			}
			return ds, nil
		}
	}
	return nil, fmt.Errorf("`velero install --use-node-agent --dry-run` printed no node-agent DaemonSet")
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
