package restoreactions

import (
	"context"
	"fmt"
	"strings"

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
	if err := checkDiskAccessModes(what, sc, modes); err != nil {
		return target{}, err
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
	s := a.env.forRestore(input.Restore)
	what := fmt.Sprintf("PVC %s/%s", pvc.Namespace, pvc.Name)
	log := a.itemLog(a.Name(), input.Item.(*unstructured.Unstructured))
	if pvc.Spec.StorageClassName == nil {
		return unchanged(input), a.checkUnmapped(ctx, s, log, what, nil, pvc.Spec.AccessModes)
	}
	from := *pvc.Spec.StorageClassName
	to, err := a.mapping(ctx, s, from)
	if err != nil {
		return nil, err
	}
	if to == "" {
		return unchanged(input), a.checkUnmapped(ctx, s, log, what, &from, pvc.Spec.AccessModes)
	}
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
	log.Infof("changing storageclass from %s to %s", from, to)
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
		what := fmt.Sprintf("StatefulSet %s/%s volumeClaimTemplate %s", sts.Namespace, sts.Name, tpl.Name)
		if tpl.Spec.StorageClassName == nil {
			if err := a.checkUnmapped(ctx, s, log, what, nil, tpl.Spec.AccessModes); err != nil {
				return nil, err
			}
			continue
		}
		from := *tpl.Spec.StorageClassName
		to, err := a.mapping(ctx, s, from)
		if err != nil {
			return nil, err
		}
		if to == "" {
			if err := a.checkUnmapped(ctx, s, log, what, &from, tpl.Spec.AccessModes); err != nil {
				return nil, err
			}
			continue
		}
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

// checkUnmapped checks a claim that storageClassMapping leaves as it is (what
// names it; className is its storageClassName, nil when unset). A claim whose
// class is a disk class that cannot attach to several nodes fails on
// ReadWriteMany and ReadOnlyMany, as a mapped one does: the disk CSI driver
// refuses to provision it, so it would stay Pending. A named class missing in
// the target cluster is only warned about: the claim may still bind to a PV
// the restore brings, but one provisioned anew stays Pending. The StorageClass
// listing is read once per restore; a claim without a class reads the default
// class only when its access modes need the check, so an RWO claim without a
// class costs no API call.
func (a *StorageClassMappingAction) checkUnmapped(ctx context.Context, s *restoreState, log logrus.FieldLogger, what string, className *string, modes []corev1.PersistentVolumeAccessMode) error {
	if className == nil && !multiNode(modes) {
		return nil
	}
	sc, err := claimClass(ctx, s, className)
	if err != nil {
		return err
	}
	if sc == nil {
		if className != nil && *className != "" {
			log.Warnf("%s: storageclass %s does not exist in the target cluster; a claim provisioned anew will stay Pending; add a %s entry \"%s: <class of this cluster>\" or create the class",
				what, *className, KeyStorageClassMapping, *className)
		}
		return nil
	}
	return checkDiskAccessModes(what, sc, modes)
}

// checkDiskAccessModes refuses ReadWriteMany and ReadOnlyMany claims (what
// names one) on a disk class sc, unless sc enables multi-attach.
func checkDiskAccessModes(what string, sc *storagev1.StorageClass, modes []corev1.PersistentVolumeAccessMode) error {
	if sc.Provisioner != diskpv.CSIDriver || multiAttach(sc) {
		return nil
	}
	for _, m := range modes {
		if multiNode([]corev1.PersistentVolumeAccessMode{m}) {
			return fmt.Errorf("%s: accessMode of %s is %s, which a disk storageclass %s cannot serve; map it to a NAS class such as alibabacloud-cnfs-nas", what, what, m, sc.Name)
		}
	}
	return nil
}

func multiNode(modes []corev1.PersistentVolumeAccessMode) bool {
	for _, m := range modes {
		if m == corev1.ReadWriteMany || m == corev1.ReadOnlyMany {
			return true
		}
	}
	return false
}

// paramMultiAttach is the disk CSI StorageClass parameter that provisions
// disks with ECS multi-attach; the driver (pkg/disk/utils.go) accepts "true"
// or "enabled", in any case, and then serves multi-node access modes (writes
// only on block volumes).
const paramMultiAttach = "multiAttach"

func multiAttach(sc *storagev1.StorageClass) bool {
	switch strings.ToLower(strings.TrimSpace(sc.Parameters[paramMultiAttach])) {
	case "true", "enabled":
		return true
	}
	return false
}
