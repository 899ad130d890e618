package restoreactions

import (
	"context"
	"fmt"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
)

// StorageClassMappingAction rewrites the StorageClass of PVCs, PVs and
// StatefulSet volumeClaimTemplates by storageClassMapping (old: new), and
// refuses conversions the target class cannot serve, with the ACK Backup
// Center's messages. A conversion to a disk class also applies the disk
// minimum size. It changes names only: data moves between volume types only
// with Velero's file-system backup or data mover.
type StorageClassMappingAction struct{ base }

// NewStorageClassMappingAction is the initializer registered with Velero.
func NewStorageClassMappingAction(log logrus.FieldLogger) (any, error) {
	return &StorageClassMappingAction{base{log: log, env: DefaultEnv()}}, nil
}

func (a *StorageClassMappingAction) Name() string { return NameStorageClassMapping }

func (a *StorageClassMappingAction) AppliesTo() (velero.ResourceSelector, error) {
	return volumeItems(), nil
}

func (a *StorageClassMappingAction) Execute(input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	return executeVolumeItem(a, input)
}

// target is a validated conversion.
type target struct {
	class *storagev1.StorageClass
	min   resource.Quantity // zero unless the target is a disk class
}

func (t target) disk() bool { return t.class.Provisioner == diskpv.CSIDriver }

// mapping returns the class that from maps to, "" when none. It reads the
// configuration only for a claim that names a class.
func (a *StorageClassMappingAction) mapping(ctx context.Context, s *restoreState, from string) (string, error) {
	if from == "" {
		return "", nil
	}
	st, err := s.lookup(ctx, KeyStorageClassMapping)
	if err != nil || !st.set {
		return "", err
	}
	m, err := parseMapping(st.source, KeyStorageClassMapping, st.value)
	if err != nil {
		return "", err
	}
	return m[from], nil
}

// resolve validates the target class for a claim (what names it, e.g.
// "PVC ns/name") with the given access modes.
func (a *StorageClassMappingAction) resolve(ctx context.Context, s *restoreState, what, to string, modes []corev1.PersistentVolumeAccessMode) (target, error) {
	sc, err := s.storageClass(ctx, to)
	if err != nil {
		return target{}, err
	}
	if sc == nil {
		return target{}, fmt.Errorf("%s: storageclass %s not exists; create it in the target cluster or change %s", what, to, KeyStorageClassMapping)
	}
	if sc.Provisioner != diskpv.CSIDriver && sc.Provisioner != NASCSIDriver {
		return target{}, fmt.Errorf("%s: storageclass %s has provisioner %s: only support convert to storageclass with CSI diskplugin or nasplugin provisioner (%s, %s)",
			what, to, sc.Provisioner, diskpv.CSIDriver, NASCSIDriver)
	}
	t := target{class: sc}
	if !t.disk() {
		return t, nil
	}
	for _, m := range modes {
		if m == corev1.ReadWriteMany || m == corev1.ReadOnlyMany {
			return target{}, fmt.Errorf("%s: accessMode of %s is %s, which a disk storageclass %s cannot serve; map it to a NAS class such as alibabacloud-cnfs-nas", what, what, m, to)
		}
	}
	if sc.VolumeBindingMode == nil || *sc.VolumeBindingMode == storagev1.VolumeBindingImmediate {
		zones, err := s.nodeZones(ctx)
		if err != nil {
			return target{}, err
		}
		if len(zones) > 1 {
			return target{}, fmt.Errorf("%s: current cluster is multi-zoned (%d zones) and disk storageclass %s binds Immediate; use a class with volumeBindingMode WaitForFirstConsumer such as alicloud-disk-topology-alltype", what, len(zones), to)
		}
	}
	if t.min, err = s.diskMinimumSize(ctx); err != nil {
		return target{}, err
	}
	return t, nil
}

func (a *StorageClassMappingAction) executePVC(ctx context.Context, input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	pvc := new(corev1.PersistentVolumeClaim)
	if err := toTyped(input, pvc); err != nil {
		return nil, err
	}
	if pvc.Spec.StorageClassName == nil {
		return unchanged(input), nil
	}
	s := a.env.forRestore(input.Restore)
	from := *pvc.Spec.StorageClassName
	to, err := a.mapping(ctx, s, from)
	if err != nil || to == "" {
		return unchanged(input), err
	}
	what := fmt.Sprintf("PVC %s/%s", pvc.Namespace, pvc.Name)
	t, err := a.resolve(ctx, s, what, to, pvc.Spec.AccessModes)
	if err != nil {
		return nil, err
	}
	pvc.Spec.StorageClassName = &to
	// The PV controller recorded the old class's provisioner; a claim that
	// is provisioned again must name the new one.
	for _, k := range []string{annStorageProvisioner, annBetaStorageProvisioner} {
		if _, ok := pvc.Annotations[k]; ok {
			pvc.Annotations[k] = t.class.Provisioner
		}
	}
	if t.disk() {
		raiseClaim(&pvc.Spec, t.min)
	}
	a.itemLog(a.Name(), input.Item.(*unstructured.Unstructured)).Infof("changing storageclass from %s to %s", from, to)
	return fromTyped(pvc)
}

func (a *StorageClassMappingAction) executePV(ctx context.Context, input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	pv := new(corev1.PersistentVolume)
	if err := toTyped(input, pv); err != nil {
		return nil, err
	}
	s := a.env.forRestore(input.Restore)
	from := pv.Spec.StorageClassName
	to, err := a.mapping(ctx, s, from)
	if err != nil || to == "" {
		return unchanged(input), err
	}
	what := fmt.Sprintf("PV %s", pv.Name)
	t, err := a.resolve(ctx, s, what, to, pv.Spec.AccessModes)
	if err != nil {
		return nil, err
	}
	// A PV restored as it is keeps its volume source: relabelling a NAS
	// volume as a disk class (or the reverse) would describe a volume that
	// does not exist.
	if !sameVolumeFamily(diskpv.Driver(pv), t.class.Provisioner) {
		return nil, fmt.Errorf("%s: volume driver %q cannot become storageclass %s (provisioner %s): conversion between volume types moves data only with Velero's file-system backup or data mover",
			what, diskpv.Driver(pv), to, t.class.Provisioner)
	}
	pv.Spec.StorageClassName = to
	if t.disk() {
		raisePV(pv, t.min)
	}
	a.itemLog(a.Name(), input.Item.(*unstructured.Unstructured)).Infof("changing storageclass from %s to %s", from, to)
	return fromTyped(pv)
}

func sameVolumeFamily(driver, provisioner string) bool {
	if diskpv.IsDiskDriver(provisioner) {
		return diskpv.IsDiskDriver(driver)
	}
	return driver == provisioner
}

func (a *StorageClassMappingAction) executeStatefulSet(ctx context.Context, input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	sts := new(appsv1.StatefulSet)
	if err := toTyped(input, sts); err != nil {
		return nil, err
	}
	s := a.env.forRestore(input.Restore)
	log := a.itemLog(a.Name(), input.Item.(*unstructured.Unstructured))
	changed := false
	for i := range sts.Spec.VolumeClaimTemplates {
		tpl := &sts.Spec.VolumeClaimTemplates[i]
		if tpl.Spec.StorageClassName == nil {
			continue
		}
		from := *tpl.Spec.StorageClassName
		to, err := a.mapping(ctx, s, from)
		if err != nil {
			return nil, err
		}
		if to == "" {
			continue
		}
		what := fmt.Sprintf("StatefulSet %s/%s volumeClaimTemplate %s", sts.Namespace, sts.Name, tpl.Name)
		t, err := a.resolve(ctx, s, what, to, tpl.Spec.AccessModes)
		if err != nil {
			return nil, err
		}
		tpl.Spec.StorageClassName = &to
		if t.disk() {
			raiseClaim(&tpl.Spec, t.min)
		}
		log.Infof("changing volumeClaimTemplate %s storageclass from %s to %s", tpl.Name, from, to)
		changed = true
	}
	if !changed {
		return unchanged(input), nil
	}
	return fromTyped(sts)
}
