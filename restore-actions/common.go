package restoreactions

import (
	"context"
	"fmt"

	"github.com/sirupsen/logrus"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	riav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/restoreitemaction/v2"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
)

// defaultDiskMinimumSize is the smallest disk the restore provisions: ESSD
// PL1 and most categories start at 20 GiB, and the ACK Backup Center raises
// smaller disk volumes to it.
var defaultDiskMinimumSize = *resource.NewQuantity(diskpv.MinSizeGiB<<30, resource.BinarySI)

// base implements the parts of the v2 interface the actions share: none of
// them starts asynchronous operations.
type base struct {
	log logrus.FieldLogger
	env *Env
}

func (base) Progress(string, *velerov1.Restore) (velero.OperationProgress, error) {
	return velero.OperationProgress{}, riav2.AsyncOperationsNotSupportedError()
}

func (base) Cancel(string, *velerov1.Restore) error { return nil }

func (base) AreAdditionalItemsReady([]velero.ResourceIdentifier, *velerov1.Restore) (bool, error) {
	return true, nil
}

func (b base) itemLog(name string, obj *unstructured.Unstructured) logrus.FieldLogger {
	return b.log.WithFields(logrus.Fields{
		"action": name, "kind": obj.GetKind(), "namespace": obj.GetNamespace(), "name": obj.GetName(),
	})
}

// volumeItems is what the actions on claims and volumes apply to: PVs, PVCs
// and the volumeClaimTemplates of StatefulSets.
func volumeItems() velero.ResourceSelector {
	return velero.ResourceSelector{
		IncludedResources: []string{"persistentvolumeclaims", "persistentvolumes", "statefulsets.apps"},
	}
}

// volumeAction is an action on the items of volumeItems, one method a kind.
type volumeAction interface {
	executePV(context.Context, *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error)
	executePVC(context.Context, *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error)
	executeStatefulSet(context.Context, *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error)
}

// executeVolumeItem hands the item to a's method for its kind.
func executeVolumeItem(a volumeAction, input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	ctx := context.TODO()
	switch kindOf(input) {
	case "PersistentVolume":
		return a.executePV(ctx, input)
	case "PersistentVolumeClaim":
		return a.executePVC(ctx, input)
	case "StatefulSet":
		return a.executeStatefulSet(ctx, input)
	}
	return unchanged(input), nil
}

func unchanged(input *velero.RestoreItemActionExecuteInput) *velero.RestoreItemActionExecuteOutput {
	return velero.NewRestoreItemActionExecuteOutput(input.Item)
}

// toTyped converts the restored item into a typed object.
func toTyped(input *velero.RestoreItemActionExecuteInput, into any) error {
	if input == nil || input.Item == nil {
		return fmt.Errorf("restore item action called without an item")
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(input.Item.UnstructuredContent(), into); err != nil {
		return fmt.Errorf("decoding %s: %w", input.Item.GetObjectKind().GroupVersionKind().Kind, err)
	}
	return nil
}

// fromTyped converts a typed object back into the output item.
func fromTyped(obj any) (*velero.RestoreItemActionExecuteOutput, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	return velero.NewRestoreItemActionExecuteOutput(&unstructured.Unstructured{Object: m}), nil
}

func kindOf(input *velero.RestoreItemActionExecuteInput) string {
	if input == nil || input.Item == nil {
		return ""
	}
	return input.Item.GetObjectKind().GroupVersionKind().Kind
}

// pvcProvisionerAnnotation returns the provisioner recorded on a PVC by the
// PV controller, "" when the PVC was never provisioned dynamically.
func pvcProvisionerAnnotation(annotations map[string]string) string {
	if p := annotations[annStorageProvisioner]; p != "" {
		return p
	}
	return annotations[annBetaStorageProvisioner]
}

// claimClass resolves the StorageClass a claim (PVC or volumeClaimTemplate)
// will use in the target cluster: the named one, the default one when the
// name is unset, none when it is "". It returns nil when the class does not
// exist. It reads the cluster only when the claim names or defaults a class.
func claimClass(ctx context.Context, s *restoreState, className *string) (*storagev1.StorageClass, error) {
	if className == nil {
		return s.defaultStorageClass(ctx)
	}
	if *className == "" {
		return nil, nil
	}
	return s.storageClass(ctx, *className)
}

// diskMinimumSize returns the configured minimum disk size; zero turns it off.
func (s *restoreState) diskMinimumSize(ctx context.Context) (resource.Quantity, error) {
	st, err := s.lookup(ctx, KeyDiskMinimumSize)
	if err != nil {
		return resource.Quantity{}, err
	}
	if !st.set {
		return defaultDiskMinimumSize, nil
	}
	return parseSize(st.source, KeyDiskMinimumSize, st.value)
}

// raiseClaim raises a claim's storage request (and limit, if set below) to
// min. It reports whether it changed anything.
func raiseClaim(spec *corev1.PersistentVolumeClaimSpec, min resource.Quantity) bool {
	if min.IsZero() || !raiseStorage(spec.Resources.Requests, min) {
		return false
	}
	raiseStorage(spec.Resources.Limits, min)
	return true
}

// raisePV raises a PV's capacity to min; a PVC raised to min binds only to a
// PV at least that large.
func raisePV(pv *corev1.PersistentVolume, min resource.Quantity) bool {
	return !min.IsZero() && raiseStorage(pv.Spec.Capacity, min)
}

// raiseStorage raises the storage quantity in l, when there is one below
// min, to min and reports whether it did.
func raiseStorage(l corev1.ResourceList, min resource.Quantity) bool {
	q, ok := l[corev1.ResourceStorage]
	if !ok || q.Cmp(min) >= 0 {
		return false
	}
	l[corev1.ResourceStorage] = min.DeepCopy()
	return true
}
