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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The ACK disk drivers and the disk zone key of PV node affinity, by which
// every plugin of the bundle tells an Alibaba Cloud disk PV from others.
const (
	DiskCSIDriver  = "diskplugin.csi.alibabacloud.com"
	DiskFlexDriver = "alicloud/disk"
	DiskZoneKey    = "topology.diskplugin.csi.alibabacloud.com/zone"
)

// DiskID is the ECS disk ID of an ACK disk PV: the volumeHandle of a CSI
// volume of DiskCSIDriver, or the VolumeId option (volumeId in older
// manifests) of a DiskFlexDriver FlexVolume. It is "" for every other PV.
func DiskID(pv *corev1.PersistentVolume) string {
	switch s := pv.Spec; {
	case s.CSI != nil && s.CSI.Driver == DiskCSIDriver:
		return s.CSI.VolumeHandle
	case s.FlexVolume != nil && s.FlexVolume.Driver == DiskFlexDriver:
		if id := s.FlexVolume.Options["VolumeId"]; id != "" {
			return id
		}
		return s.FlexVolume.Options["volumeId"]
	}
	return ""
}

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

// Zone is the zone that node or PV labels name: topology.kubernetes.io/zone,
// else the deprecated failure-domain.beta.kubernetes.io/zone; "" for none.
func Zone(labels map[string]string) string {
	if z := labels[corev1.LabelTopologyZone]; z != "" {
		return z
	}
	return labels[corev1.LabelFailureDomainBetaZone]
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
