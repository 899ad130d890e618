// Package kube gives every plugin of the bundle the Kubernetes clients of the
// cluster the Velero server runs in. Plugin processes inherit the server's
// environment, so $KUBECONFIG (outside a pod) or the in-cluster config, and
// $VELERO_NAMESPACE, say the same here as they say to the server.
package kube

import (
	"fmt"
	"os"
	"sync"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	veleroclient "github.com/vmware-tanzu/velero/pkg/client"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// userAgent is the base name of the clients' User-Agent; Velero's client
// config appends version, OS and architecture.
const userAgent = "velero-plugin-for-alibabacloud"

// The clients are made on first use and kept for the life of the process; a
// failure is not kept, so a later call tries again.
var (
	core = &lazy[kubernetes.Interface]{build: func(cfg *rest.Config) (kubernetes.Interface, error) {
		return kubernetes.NewForConfig(cfg)
	}}
	dyn = &lazy[dynamic.Interface]{build: func(cfg *rest.Config) (dynamic.Interface, error) {
		return dynamic.NewForConfig(cfg)
	}}
)

// Client returns the process's Kubernetes clientset.
func Client() (kubernetes.Interface, error) { return core.get() }

// Dynamic returns the process's dynamic client, for Velero's own resources.
func Dynamic() (dynamic.Interface, error) { return dyn.get() }

// lazy is one client, built on first success.
type lazy[T any] struct {
	build func(*rest.Config) (T, error)

	mu     sync.Mutex
	client T
	made   bool
}

// get returns the client, building it from the config Velero's client
// factory makes: the default loading rules ($KUBECONFIG, else in-cluster),
// client-go's default QPS and burst, and a User-Agent naming the plugin.
func (l *lazy[T]) get() (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.made {
		return l.client, nil
	}
	var zero T
	cfg, err := veleroclient.Config("", "", userAgent, 0, 0)
	if err != nil {
		return zero, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	c, err := l.build(cfg)
	if err != nil {
		return zero, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	l.client, l.made = c, true
	return c, nil
}

// Namespace is the Velero server's namespace, where its Backups, Restores and
// plugin ConfigMaps live: $VELERO_NAMESPACE, else "velero" (as in Velero's
// client factory).
func Namespace() string {
	if ns := os.Getenv("VELERO_NAMESPACE"); ns != "" {
		return ns
	}
	return velerov1.DefaultNamespace
}
