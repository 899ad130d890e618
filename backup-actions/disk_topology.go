// Package backupactions holds the BackupItemActions (Velero v2 interface)
// that record, at backup time, what a restore in another cluster, zone or
// region needs and the backed-up objects would otherwise not say.
package backupactions

import (
	"github.com/sirupsen/logrus"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	biav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/backupitemaction/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
)

// NameDiskTopology is the action's registered name.
const NameDiskTopology = "alibabacloud.com/disk-topology"

// DiskTopologyAction records the zone of Alibaba Cloud disk PVs in the
// backup where Velero looks for it.
//
// Why: Velero takes a PV's availability zone for the snapshot (VolumeBackup
// VolumeAZ, which CreateVolumeFromSnapshot later receives) from the PV *after*
// the BackupItemActions ran (pkg/backup/item_backupper.go, takePVSnapshot
// reads the updated item), looking only at the labels topology.kubernetes.io/zone
// and failure-domain.beta.kubernetes.io/zone and at node affinity under the
// AWS, Azure, GKE, Cinder/Manila and generic zone keys. The Alibaba CSI disk
// plugin records the zone only as node affinity under
// topology.diskplugin.csi.alibabacloud.com/zone, so without this action
// Velero records an empty AZ and a restore elsewhere cannot tell which zone
// the disk came from. The action adds the topology.kubernetes.io/zone label
// (a PV label, which the scheduler ignores, so the cluster's behaviour is
// unchanged). Only the backed-up copy is
// changed, never the live PV; non-disk PVs are not touched.
type DiskTopologyAction struct{ pvAction }

// NewDiskTopologyAction is the initializer registered with Velero.
func NewDiskTopologyAction(log logrus.FieldLogger) (any, error) {
	return &DiskTopologyAction{pvAction{log: log}}, nil
}

var _ biav2.BackupItemAction = (*DiskTopologyAction)(nil)

func (a *DiskTopologyAction) Name() string { return NameDiskTopology }

func (a *DiskTopologyAction) Execute(item runtime.Unstructured, backup *velerov1.Backup) (runtime.Unstructured, []velero.ResourceIdentifier, string, []velero.ResourceIdentifier, error) {
	pv, err := decodePV(item)
	if err != nil {
		return nil, nil, "", nil, err
	}
	if !diskpv.IsDisk(pv) {
		return item, nil, "", nil, nil
	}
	// An existing zone label is the truth: Velero reads it first.
	zone := diskpv.Zone(pv)
	if diskpv.LabelZone(pv.Labels) != "" || zone == "" {
		return item, nil, "", nil, nil
	}
	out := (&unstructured.Unstructured{Object: item.UnstructuredContent()}).DeepCopy()
	labels := out.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[corev1.LabelTopologyZone] = zone
	out.SetLabels(labels)
	a.log.WithFields(logrus.Fields{"action": NameDiskTopology, "kind": "PersistentVolume", "name": pv.Name, "zone": zone}).
		Info("recording the disk's zone as the topology.kubernetes.io/zone label")
	return out, nil, "", nil, nil
}
