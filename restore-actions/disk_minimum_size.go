package restoreactions

import (
	"context"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
)

// DiskMinimumSizeAction raises Alibaba Cloud disk claims and volumes below
// the minimum disk size (20 GiB unless diskMinimumSize says otherwise) to that
// size: the CSI plugin cannot create a smaller ESSD, so the claim would stay
// Pending. Only disks are touched; an EBS, NAS or OSS volume keeps its size.
type DiskMinimumSizeAction struct{ base }

// NewDiskMinimumSizeAction is the initializer registered with Velero.
func NewDiskMinimumSizeAction(log logrus.FieldLogger) (any, error) {
	return &DiskMinimumSizeAction{base{log: log, env: DefaultEnv()}}, nil
}

func (a *DiskMinimumSizeAction) Name() string { return NameDiskMinimumSize }

func (a *DiskMinimumSizeAction) AppliesTo() (velero.ResourceSelector, error) {
	return volumeItems(), nil
}

func (a *DiskMinimumSizeAction) Execute(input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	return executeVolumeItem(a, input)
}

func (a *DiskMinimumSizeAction) executePV(ctx context.Context, input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	pv := new(corev1.PersistentVolume)
	if err := toTyped(input, pv); err != nil {
		return nil, err
	}
	if !diskpv.IsDisk(pv) {
		return unchanged(input), nil
	}
	min, err := a.env.forRestore(input.Restore).diskMinimumSize(ctx)
	if err != nil {
		return nil, err
	}
	old := pv.Spec.Capacity[corev1.ResourceStorage]
	if !raisePV(pv, min) {
		return unchanged(input), nil
	}
	a.itemLog(a.Name(), input.Item.(*unstructured.Unstructured)).
		Infof("raising disk capacity from %s to the %s minimum", old.String(), min.String())
	return fromTyped(pv)
}

func (a *DiskMinimumSizeAction) executePVC(ctx context.Context, input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	pvc := new(corev1.PersistentVolumeClaim)
	if err := toTyped(input, pvc); err != nil {
		return nil, err
	}
	if _, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		return unchanged(input), nil
	}
	s := a.env.forRestore(input.Restore)
	disk, err := claimIsDisk(ctx, s, pvc.Annotations, pvc.Spec.StorageClassName)
	if err != nil || !disk {
		return unchanged(input), err
	}
	min, err := s.diskMinimumSize(ctx)
	if err != nil {
		return nil, err
	}
	old := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !raiseClaim(&pvc.Spec, min) {
		return unchanged(input), nil
	}
	a.itemLog(a.Name(), input.Item.(*unstructured.Unstructured)).
		Infof("raising disk request from %s to the %s minimum", old.String(), min.String())
	return fromTyped(pvc)
}

func (a *DiskMinimumSizeAction) executeStatefulSet(ctx context.Context, input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	sts := new(appsv1.StatefulSet)
	if err := toTyped(input, sts); err != nil {
		return nil, err
	}
	if len(sts.Spec.VolumeClaimTemplates) == 0 {
		return unchanged(input), nil
	}
	s := a.env.forRestore(input.Restore)
	log := a.itemLog(a.Name(), input.Item.(*unstructured.Unstructured))
	changed := false
	for i := range sts.Spec.VolumeClaimTemplates {
		t := &sts.Spec.VolumeClaimTemplates[i]
		if _, ok := t.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
			continue
		}
		disk, err := claimIsDisk(ctx, s, t.Annotations, t.Spec.StorageClassName)
		if err != nil {
			return nil, err
		}
		if !disk {
			continue
		}
		min, err := s.diskMinimumSize(ctx)
		if err != nil {
			return nil, err
		}
		old := t.Spec.Resources.Requests[corev1.ResourceStorage]
		if raiseClaim(&t.Spec, min) {
			log.Infof("raising volumeClaimTemplate %s from %s to the %s minimum", t.Name, old.String(), min.String())
			changed = true
		}
	}
	if !changed {
		return unchanged(input), nil
	}
	return fromTyped(sts)
}

// claimIsDisk reports whether a claim will be an Alibaba Cloud disk: by the
// provisioner the PV controller recorded on it when there is one (no API
// call), else by the provisioner of its StorageClass in the target cluster.
func claimIsDisk(ctx context.Context, s *restoreState, annotations map[string]string, className *string) (bool, error) {
	if p := pvcProvisionerAnnotation(annotations); p != "" {
		return diskpv.IsDiskDriver(p), nil
	}
	sc, err := claimClass(ctx, s, className)
	if err != nil || sc == nil {
		return false, err
	}
	return diskpv.IsDiskDriver(sc.Provisioner), nil
}
