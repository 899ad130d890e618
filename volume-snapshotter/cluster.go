package volumesnapshotter

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/kube"
)

// The cluster API is read for two things Velero does not pass to a
// VolumeSnapshotter: the Backup's TTL (snapshot retention) and the zones of the
// cluster's nodes (restore zone of last resort).

var backupsResource = schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "backups"}

const clusterCallTimeout = 30 * time.Second

// kubeCluster reads the cluster the Velero server runs in.
type kubeCluster struct {
	dynamic   dynamic.Interface
	core      kubernetes.Interface
	namespace string // Velero's namespace, where Backups live
}

// newKubeCluster reaches the cluster through the process's shared clients
// (internal/kube).
func newKubeCluster() (*kubeCluster, error) {
	dyn, err := kube.Dynamic()
	if err != nil {
		return nil, err
	}
	core, err := kube.Client()
	if err != nil {
		return nil, err
	}
	return &kubeCluster{dynamic: dyn, core: core, namespace: kube.Namespace()}, nil
}

// backupTTL is spec.ttl of the named Backup; 0 when the Backup has none.
func (k *kubeCluster) backupTTL(name string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clusterCallTimeout)
	defer cancel()
	b, err := k.dynamic.Resource(backupsResource).Namespace(k.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("reading Backup %s/%s: %w", k.namespace, name, err)
	}
	ttl, found, err := unstructured.NestedString(b.Object, "spec", "ttl")
	if err != nil || !found || ttl == "" {
		return 0, err
	}
	d, err := time.ParseDuration(ttl)
	if err != nil {
		return 0, fmt.Errorf("Backup %s/%s spec.ttl %q: %w", k.namespace, name, ttl, err)
	}
	return d, nil
}

// nodeZones lists the zones of the cluster's nodes, the zone with the most
// nodes first (ties by name), so a restored disk lands where pods can run.
func (k *kubeCluster) nodeZones() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clusterCallTimeout)
	defer cancel()
	nodes, err := k.core.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	return diskpv.NodeZones(nodes.Items), nil
}
