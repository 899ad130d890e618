// Package backupactions holds the BackupItemActions (Velero v2 interface)
// that record, at backup time, what a restore in another cluster, zone or
// region needs and the backed-up objects would otherwise not say.
package backupactions

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	biav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/backupitemaction/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/kube"
)

// NameDiskTopology is the action's registered name.
const NameDiskTopology = "alibabacloud.com/disk-topology"

// Annotations recorded on Alibaba Cloud disk PVs in the backup, for the
// VolumeSnapshotter and restore actions (and people) reading the backup.
const (
	AnnDiskZone             = "alibabacloud.com/disk-zone"
	AnnDiskRegion           = "alibabacloud.com/disk-region"
	AnnDiskCategory         = "alibabacloud.com/disk-category"
	AnnDiskPerformanceLevel = "alibabacloud.com/disk-performance-level"
)

// categoryPattern matches one ECS disk category (cloud_essd, cloud_auto,
// cloud_essd_entry, ...). A StorageClass may list several ("cloud_essd,
// cloud_ssd"); then the PV alone does not say which one the disk is.
var categoryPattern = regexp.MustCompile(`^cloud(_[a-z0-9]+)*$`)

// DiskTopologyAction records the zone, region and category of Alibaba Cloud
// disk PVs in the backup.
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
// unchanged) and annotations naming the zone, region and disk category, which
// the restored PV would otherwise only hint at. Only the backed-up copy is
// changed, never the live PV; non-disk PVs are not touched.
type DiskTopologyAction struct {
	log logrus.FieldLogger
}

// NewDiskTopologyAction is the initializer registered with Velero.
func NewDiskTopologyAction(log logrus.FieldLogger) (any, error) {
	return &DiskTopologyAction{log: log}, nil
}

var _ biav2.BackupItemAction = (*DiskTopologyAction)(nil)

func (a *DiskTopologyAction) Name() string { return NameDiskTopology }

func (a *DiskTopologyAction) AppliesTo() (velero.ResourceSelector, error) {
	return velero.ResourceSelector{IncludedResources: []string{"persistentvolumes"}}, nil
}

func (a *DiskTopologyAction) Execute(item runtime.Unstructured, backup *velerov1.Backup) (runtime.Unstructured, []velero.ResourceIdentifier, string, []velero.ResourceIdentifier, error) {
	pv := new(corev1.PersistentVolume)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.UnstructuredContent(), pv); err != nil {
		return nil, nil, "", nil, fmt.Errorf("decoding PersistentVolume: %w", err)
	}
	if !isDisk(pv) {
		return item, nil, "", nil, nil
	}
	facts := diskFacts(pv)
	labels, ann := pv.Labels, pv.Annotations
	changed := false
	set := func(m *map[string]string, k, v string) {
		if v == "" || (*m)[k] != "" {
			return
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[k] = v
		changed = true
	}
	// The label Velero reads first; an existing zone label is the truth.
	if kube.Zone(labels) == "" {
		set(&labels, corev1.LabelTopologyZone, facts.zone)
	}
	set(&ann, AnnDiskZone, facts.zone)
	set(&ann, AnnDiskRegion, facts.region)
	set(&ann, AnnDiskCategory, facts.category)
	set(&ann, AnnDiskPerformanceLevel, facts.performanceLevel)
	if !changed {
		return item, nil, "", nil, nil
	}
	out := &unstructured.Unstructured{Object: item.UnstructuredContent()}
	out = out.DeepCopy()
	out.SetLabels(labels)
	out.SetAnnotations(ann)
	a.log.WithFields(logrus.Fields{"action": NameDiskTopology, "kind": "PersistentVolume", "name": pv.Name}).
		Infof("recording disk zone %q, region %q, category %q", facts.zone, facts.region, facts.category)
	return out, nil, "", nil, nil
}

func (a *DiskTopologyAction) Progress(string, *velerov1.Backup) (velero.OperationProgress, error) {
	return velero.OperationProgress{}, biav2.AsyncOperationsNotSupportedError()
}

func (a *DiskTopologyAction) Cancel(string, *velerov1.Backup) error { return nil }

func isDisk(pv *corev1.PersistentVolume) bool {
	return (pv.Spec.CSI != nil && pv.Spec.CSI.Driver == kube.DiskCSIDriver) ||
		(pv.Spec.FlexVolume != nil && pv.Spec.FlexVolume.Driver == kube.DiskFlexDriver)
}

type facts struct{ zone, region, category, performanceLevel string }

// diskFacts reads what the PV itself says about its disk; it guesses nothing
// (a region is not derived from a zone name).
func diskFacts(pv *corev1.PersistentVolume) facts {
	f := facts{
		zone:   cmp.Or(kube.Zone(pv.Labels), affinityValue(pv, kube.DiskZoneKey, corev1.LabelTopologyZone, corev1.LabelFailureDomainBetaZone)),
		region: cmp.Or(pv.Labels[corev1.LabelTopologyRegion], pv.Labels[corev1.LabelFailureDomainBetaRegion], affinityValue(pv, corev1.LabelTopologyRegion)),
	}
	if pv.Spec.CSI != nil {
		attrs := pv.Spec.CSI.VolumeAttributes
		if c := strings.TrimSpace(attrs["type"]); categoryPattern.MatchString(c) {
			f.category = c
		}
		f.performanceLevel = strings.TrimSpace(attrs["performanceLevel"])
	}
	return f
}

// affinityValue returns the single value of an "In" requirement on one of
// keys, "" when there is none or it is ambiguous.
func affinityValue(pv *corev1.PersistentVolume, keys ...string) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	found := ""
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Operator != corev1.NodeSelectorOpIn || len(e.Values) != 1 || !slices.Contains(keys, e.Key) {
				continue
			}
			if found != "" && found != e.Values[0] {
				return ""
			}
			found = e.Values[0]
		}
	}
	return found
}
