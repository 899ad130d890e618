package restoreactions

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
)

// MsgCrossRegionUnsupported is the ACK Backup Center's answer to a NAS or
// OSS volume restored into another region.
const MsgCrossRegionUnsupported = "only disk type PVs support cross-region restore in current version"

// CrossRegionVolumesAction guards restored PVs the way the ACK Backup Center
// does:
//
//   - A NAS or OSS PV whose volume region (the alibabacloud.com/volume-region
//     annotation the volume-region backup action records) differs from the
//     target cluster's region (its nodes' topology.kubernetes.io/region
//     labels) fails: Velero restores such PVs as they are, pointing at the
//     source region's file system or bucket. allowCrossRegionVolumes: "true"
//     restores them anyway, with a warning. Disk PVs pass: the
//     VolumeSnapshotter copies their snapshots into the target region. A PV
//     without the annotation, or a cluster whose nodes name no region,
//     passes.
//   - A disk PV with reclaim policy Retain whose disk is unchanged from the
//     backup (no snapshot was restored for it, so Velero restores it as it
//     is) gets a warning: the source cluster and this one now claim the same
//     disk, and ECS detaches it from one of them whenever the other attaches
//     it. failOnSharedDisk: "true" fails it instead.
//
// The action never changes a PV; other PVs are not looked at further and
// cost no API call.
type CrossRegionVolumesAction struct{ base }

// NewCrossRegionVolumesAction is the initializer registered with Velero.
func NewCrossRegionVolumesAction(log logrus.FieldLogger) (any, error) {
	return &CrossRegionVolumesAction{base{log: log, env: DefaultEnv()}}, nil
}

func (a *CrossRegionVolumesAction) Name() string { return NameCrossRegionVolumes }

func (a *CrossRegionVolumesAction) AppliesTo() (velero.ResourceSelector, error) {
	return velero.ResourceSelector{IncludedResources: []string{"persistentvolumes"}}, nil
}

func (a *CrossRegionVolumesAction) Execute(input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	if kindOf(input) != "PersistentVolume" {
		return unchanged(input), nil
	}
	pv := new(corev1.PersistentVolume)
	if err := toTyped(input, pv); err != nil {
		return nil, err
	}
	kind := diskpv.Kind(pv)
	if kind == "" {
		return unchanged(input), nil
	}
	ctx := context.TODO()
	s := a.env.forRestore(input.Restore)
	log := a.itemLog(a.Name(), input.Item.(*unstructured.Unstructured))
	if err := a.checkRegion(ctx, s, log, pv, kind); err != nil {
		return nil, err
	}
	if kind == diskpv.KindDisk {
		if err := a.checkSharedDisk(ctx, s, log, pv, input.ItemFromBackup); err != nil {
			return nil, err
		}
	}
	return unchanged(input), nil
}

func (a *CrossRegionVolumesAction) checkRegion(ctx context.Context, s *restoreState, log logrus.FieldLogger, pv *corev1.PersistentVolume, kind string) error {
	recorded := pv.Annotations[diskpv.AnnVolumeRegion]
	if recorded == "" {
		log.Infof("the backup does not record the region of the %s volume (annotation %s), so it is not compared with the cluster's region", kind, diskpv.AnnVolumeRegion)
		return nil
	}
	if kind == diskpv.KindDisk {
		return nil // the VolumeSnapshotter copies disk snapshots across regions
	}
	regions, err := s.nodeRegions(ctx)
	if err != nil {
		return err
	}
	if len(regions) == 0 {
		log.Infof("no node of this cluster has a %s label, so the %s volume's region %s is not compared with the cluster's", corev1.LabelTopologyRegion, kind, recorded)
		return nil
	}
	if regions[recorded] {
		return nil
	}
	target := strings.Join(slices.Sorted(maps.Keys(regions)), ", ")
	allow, err := s.boolSetting(ctx, KeyAllowCrossRegionVolumes, false)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("PV %s: the %s volume (%s) is in region %s and this cluster in %s", pv.Name, strings.ToUpper(kind), volumeDescription(pv, kind), recorded, target)
	if allow {
		log.Warnf("%s; restoring it as it is because %s is true: pods in this cluster will mount the volume across regions, if they can reach it at all", what, KeyAllowCrossRegionVolumes)
		return nil
	}
	return fmt.Errorf("%s: %s. Restore it as a statically provisioned PV of region %s: rewrite the PV's %s with a resource modifier "+
		"(velero restore create --resource-modifier-configmap; Velero applies modifiers after item actions, so set %s: \"true\" for that restore too); "+
		"or back the volume's data up with Velero's file-system backup (--default-volumes-to-fs-backup), whose PVs Velero provisions anew "+
		"in the target cluster (storageClassMapping names their class there). %s: \"true\" restores the PV as it is",
		what, MsgCrossRegionUnsupported, target, volumeField(kind), KeyAllowCrossRegionVolumes, KeyAllowCrossRegionVolumes)
}

func (a *CrossRegionVolumesAction) checkSharedDisk(ctx context.Context, s *restoreState, log logrus.FieldLogger, pv *corev1.PersistentVolume, fromBackup runtime.Unstructured) error {
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain || fromBackup == nil {
		return nil
	}
	backedUp := new(corev1.PersistentVolume)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(fromBackup.UnstructuredContent(), backedUp); err != nil {
		return fmt.Errorf("decoding the backed-up PersistentVolume %s: %w", pv.Name, err)
	}
	diskID := diskpv.ID(pv)
	if diskID == "" || diskID != diskpv.ID(backedUp) {
		return nil // restored from a snapshot: a new disk
	}
	fail, err := s.boolSetting(ctx, KeyFailOnSharedDisk, false)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("PV %s is restored without a snapshot, pointing at disk %s, the disk of the backed-up PV (reclaim policy Retain)", pv.Name, diskID)
	risk := "if the source cluster still uses the disk, both clusters claim it and ECS force-detaches it from one node whenever the other attaches it"
	if fail {
		return fmt.Errorf("%s: %s. Back the volume up with a snapshot (the VolumeSnapshotter) or file-system backup, or restore only after the source cluster released the disk; %s is true", what, risk, KeyFailOnSharedDisk)
	}
	log.Warnf("%s: %s; %s: \"true\" fails such PVs", what, risk, KeyFailOnSharedDisk)
	return nil
}

// volumeDescription names the file system or bucket of a NAS or OSS PV.
func volumeDescription(pv *corev1.PersistentVolume, kind string) string {
	get := func(k string) string {
		switch {
		case pv.Spec.CSI != nil:
			return pv.Spec.CSI.VolumeAttributes[k]
		case pv.Spec.FlexVolume != nil:
			return pv.Spec.FlexVolume.Options[k]
		}
		return ""
	}
	if kind == diskpv.KindOSS {
		return fmt.Sprintf("bucket %s at %s", get("bucket"), get("url"))
	}
	return "server " + get("server")
}

func volumeField(kind string) string {
	if kind == diskpv.KindOSS {
		return "volumeAttributes url (and bucket)"
	}
	return "volumeAttributes server"
}
