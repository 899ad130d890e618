package backupactions

import (
	"fmt"

	"github.com/sirupsen/logrus"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	biav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/backupitemaction/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// pvAction is what the bundle's backup actions share: they apply to
// PersistentVolumes and start no asynchronous operations.
type pvAction struct {
	log logrus.FieldLogger
}

func (pvAction) AppliesTo() (velero.ResourceSelector, error) {
	return velero.ResourceSelector{IncludedResources: []string{"persistentvolumes"}}, nil
}

func (pvAction) Progress(string, *velerov1.Backup) (velero.OperationProgress, error) {
	return velero.OperationProgress{}, biav2.AsyncOperationsNotSupportedError()
}

func (pvAction) Cancel(string, *velerov1.Backup) error { return nil }

// decodePV reads the item as a PersistentVolume.
func decodePV(item runtime.Unstructured) (*corev1.PersistentVolume, error) {
	pv := new(corev1.PersistentVolume)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.UnstructuredContent(), pv); err != nil {
		return nil, fmt.Errorf("decoding PersistentVolume: %w", err)
	}
	return pv, nil
}
