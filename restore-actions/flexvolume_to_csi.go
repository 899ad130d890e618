package restoreactions

import (
	"context"
	"fmt"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
)

// FlexVolumeToCSIAction restores an alicloud/disk FlexVolume PV as a CSI disk
// PV: current ACK clusters run only the CSI plugin, so a FlexVolume PV would
// never attach. The volume handle is the disk ID, fsType and read-only carry
// over, and the disk's zone (from the PV's zone labels, which the
// VolumeSnapshotter rewrites for a disk restored from a snapshot, or its node
// affinity) becomes CSI zone node affinity. PVCs provisioned by the FlexVolume
// provisioner get the CSI provisioner annotations. flexVolumeToCSI: "false"
// turns it off for a restore.
type FlexVolumeToCSIAction struct{ base }

// NewFlexVolumeToCSIAction is the initializer registered with Velero.
func NewFlexVolumeToCSIAction(log logrus.FieldLogger) (any, error) {
	return &FlexVolumeToCSIAction{base{log: log, env: DefaultEnv()}}, nil
}

func (a *FlexVolumeToCSIAction) Name() string { return NameFlexVolumeToCSI }

func (a *FlexVolumeToCSIAction) AppliesTo() (velero.ResourceSelector, error) {
	return velero.ResourceSelector{IncludedResources: []string{"persistentvolumes", "persistentvolumeclaims"}}, nil
}

func (a *FlexVolumeToCSIAction) Execute(input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	switch kindOf(input) {
	case "PersistentVolume":
		return a.executePV(input)
	case "PersistentVolumeClaim":
		return a.executePVC(input)
	}
	return unchanged(input), nil
}

func (a *FlexVolumeToCSIAction) enabled(input *velero.RestoreItemActionExecuteInput) (bool, error) {
	return a.env.forRestore(input.Restore).boolSetting(context.TODO(), KeyFlexVolumeToCSI, true)
}

func (a *FlexVolumeToCSIAction) executePV(input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	pv := new(corev1.PersistentVolume)
	if err := toTyped(input, pv); err != nil {
		return nil, err
	}
	flex := pv.Spec.FlexVolume
	if flex == nil || flex.Driver != diskpv.FlexDriver {
		return unchanged(input), nil
	}
	if on, err := a.enabled(input); err != nil || !on {
		return unchanged(input), err
	}
	diskID := diskpv.ID(pv)
	if diskID == "" {
		return nil, fmt.Errorf("PV %s: FlexVolume %s has neither options.VolumeId nor options.volumeId, so the disk to convert to CSI is unknown", pv.Name, diskpv.FlexDriver)
	}
	fsType := flex.FSType
	if fsType == "" {
		fsType = flex.Options["fsType"]
	}
	pv.Spec.FlexVolume = nil
	pv.Spec.CSI = &corev1.CSIPersistentVolumeSource{
		Driver:       diskpv.CSIDriver,
		VolumeHandle: diskID,
		FSType:       fsType,
		ReadOnly:     flex.ReadOnly,
	}
	log := a.itemLog(a.Name(), input.Item.(*unstructured.Unstructured))
	if zone := diskpv.Zone(pv); zone != "" {
		pv.Spec.NodeAffinity = diskpv.ZoneAffinity(zone)
		log.Infof("converting FlexVolume disk %s to CSI in zone %s", diskID, zone)
	} else {
		log.Warnf("converting FlexVolume disk %s to CSI without zone node affinity: the PV has no zone label or zone node affinity", diskID)
	}
	return fromTyped(pv)
}

func (a *FlexVolumeToCSIAction) executePVC(input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	ann := input.Item.(*unstructured.Unstructured).GetAnnotations()
	if ann[annStorageProvisioner] != diskpv.FlexDriver && ann[annBetaStorageProvisioner] != diskpv.FlexDriver {
		return unchanged(input), nil
	}
	if on, err := a.enabled(input); err != nil || !on {
		return unchanged(input), err
	}
	out := input.Item.(*unstructured.Unstructured).DeepCopy()
	ann[annStorageProvisioner] = diskpv.CSIDriver
	ann[annBetaStorageProvisioner] = diskpv.CSIDriver
	out.SetAnnotations(ann)
	a.itemLog(a.Name(), out).Info("changing the FlexVolume disk provisioner annotations to CSI")
	return velero.NewRestoreItemActionExecuteOutput(out), nil
}
