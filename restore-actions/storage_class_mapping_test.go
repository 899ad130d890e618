package restoreactions

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sirupsen/logrus/hooks/test"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

func TestStorageClassMapping(t *testing.T) {
	const mapping = `
old-disk: alicloud-disk-topology-alltype
old-nas: alibabacloud-cnfs-nas
to-immediate: alicloud-disk-immediate
to-missing: not-here
to-ebs: gp3
to-shared: alicloud-disk-shared
`
	cluster := []runtime.Object{
		storageClass("alicloud-disk-topology-alltype", diskpv.CSIDriver, storagev1.VolumeBindingWaitForFirstConsumer, false),
		storageClass("alicloud-disk-immediate", diskpv.CSIDriver, storagev1.VolumeBindingImmediate, false),
		storageClass("alibabacloud-cnfs-nas", NASCSIDriver, storagev1.VolumeBindingImmediate, false),
		storageClass("gp3", "ebs.csi.aws.com", "", false),
		multiAttachClass("alicloud-disk-shared", "true"),
		multiAttachClass("alicloud-disk-shared-enabled", "Enabled"),
		multiAttachClass("alicloud-disk-not-shared", "false"),
		pluginCM("scm", NameStorageClassMapping, map[string]string{KeyStorageClassMapping: mapping}),
	}
	oneZone := []runtime.Object{node("n1", "cn-hangzhou-h"), node("n2", "cn-hangzhou-h")}
	twoZones := []runtime.Object{node("n1", "cn-hangzhou-h"), node("n2", "cn-hangzhou-i")}
	rwx := corev1.ReadWriteMany
	rox := corev1.ReadOnlyMany
	defaultDisk := []runtime.Object{storageClass("alicloud-disk-default", diskpv.CSIDriver, storagev1.VolumeBindingWaitForFirstConsumer, true)}

	tests := []struct {
		name      string
		nodes     []runtime.Object
		extra     []runtime.Object // per-restore ConfigMap mig and more
		classes   []runtime.Object // more StorageClasses
		item      runtime.Object
		wantClass string // "" = item unchanged
		wantSize  string
		check     func(t *testing.T, out runtime.Object)
		wantErr   []string
		wantWarn  []string // parts of the one warning expected; none when nil
		maxCalls  int
	}{
		{name: "PVC of unmapped class missing in the cluster: untouched, warned", item: pvc("c", ptr("old-nas-x"), "1Gi", nil),
			wantWarn: []string{"PVC app/c", "storageclass old-nas-x does not exist", "will stay Pending; add a storageClassMapping entry", `"old-nas-x: `}, maxCalls: 2},
		{name: "PVC of unmapped existing class untouched, no warning", item: pvc("c", ptr("alicloud-disk-topology-alltype"), "30Gi", nil), maxCalls: 2},
		{name: "unmapped RWX PVC on a disk class", item: pvc("c", ptr("alicloud-disk-topology-alltype"), "30Gi", nil, rwx),
			wantErr: []string{"PVC app/c: accessMode of PVC app/c is ReadWriteMany, which a disk storageclass alicloud-disk-topology-alltype cannot serve", "alibabacloud-cnfs-nas"}},
		{name: "unmapped ROX PVC on a disk class", item: pvc("c", ptr("alicloud-disk-immediate"), "30Gi", nil, corev1.ReadWriteOnce, rox),
			wantErr: []string{"accessMode of PVC app/c is ReadOnlyMany", "alicloud-disk-immediate"}},
		{name: "unmapped RWX PVC on a multiAttach disk class untouched", item: pvc("c", ptr("alicloud-disk-shared"), "30Gi", nil, rwx), maxCalls: 2},
		{name: "multiAttach Enabled counts too", item: pvc("c", ptr("alicloud-disk-shared-enabled"), "30Gi", nil, rox), maxCalls: 2},
		{name: "multiAttach false does not", item: pvc("c", ptr("alicloud-disk-not-shared"), "30Gi", nil, rwx),
			wantErr: []string{"accessMode of PVC app/c is ReadWriteMany", "alicloud-disk-not-shared"}},
		{name: "unmapped RWX PVC on a NAS class untouched", item: pvc("c", ptr("alibabacloud-cnfs-nas"), "1Gi", nil, rwx), maxCalls: 2},
		{name: "unmapped RWX PVC of a missing class warned only", item: pvc("c", ptr("gone"), "1Gi", nil, rwx),
			wantWarn: []string{"storageclass gone does not exist"}, maxCalls: 2},
		{name: "RWX PVC without class onto a default disk class", classes: defaultDisk, item: pvc("c", nil, "1Gi", nil, rwx),
			wantErr: []string{"accessMode of PVC app/c is ReadWriteMany", "alicloud-disk-default"}},
		{name: "RWX PVC without class, no default class: untouched", item: pvc("c", nil, "1Gi", nil, rwx), maxCalls: 1},
		{name: "RWO PVC without class, default disk class: no API call", classes: defaultDisk, item: pvc("c", nil, "1Gi", nil), maxCalls: 0},
		{name: "RWX PVC mapped onto a multiAttach disk class", item: pvc("c", ptr("to-shared"), "30Gi", nil, rwx),
			wantClass: "alicloud-disk-shared", wantSize: "30Gi", maxCalls: 2},
		{name: "PVC mapped to disk class and raised",
			item:      pvc("c", ptr("old-disk"), "10Gi", map[string]string{annStorageProvisioner: "old.provisioner", annBetaStorageProvisioner: "old.provisioner"}),
			wantClass: "alicloud-disk-topology-alltype", wantSize: "20Gi",
			check: func(t *testing.T, out runtime.Object) {
				p := out.(*corev1.PersistentVolumeClaim)
				for _, k := range []string{annStorageProvisioner, annBetaStorageProvisioner} {
					if p.Annotations[k] != diskpv.CSIDriver {
						t.Errorf("annotation %s = %q, want %s", k, p.Annotations[k], diskpv.CSIDriver)
					}
				}
			},
			maxCalls: 2},
		{name: "RWX PVC to NAS class keeps size", item: pvc("c", ptr("old-nas"), "1Gi", nil, rwx),
			wantClass: "alibabacloud-cnfs-nas", wantSize: "1Gi", maxCalls: 2},
		{name: "disk Immediate class in one-zone cluster allowed", nodes: oneZone, item: pvc("c", ptr("to-immediate"), "30Gi", nil),
			wantClass: "alicloud-disk-immediate", wantSize: "30Gi", maxCalls: 3},
		{name: "PVC without class untouched, no API call", item: pvc("c", nil, "1Gi", nil), maxCalls: 0},
		{name: "PVC with empty class untouched, no API call", item: pvc("c", ptr(""), "1Gi", nil), maxCalls: 0},
		{name: "missing target class", item: pvc("c", ptr("to-missing"), "1Gi", nil),
			wantErr: []string{"PVC app/c", "storageclass not-here not exists"}},
		{name: "target provisioner not disk or NAS", item: pvc("c", ptr("to-ebs"), "1Gi", nil),
			wantErr: []string{"PVC app/c", "only support convert to storageclass with CSI diskplugin or nasplugin provisioner", "ebs.csi.aws.com"}},
		{name: "disk Immediate class in multi-zone cluster", nodes: twoZones, item: pvc("c", ptr("to-immediate"), "30Gi", nil),
			wantErr: []string{"PVC app/c", "current cluster is multi-zoned", "alicloud-disk-immediate", "WaitForFirstConsumer"}},
		{name: "RWX claim onto disk class", item: pvc("c", ptr("old-disk"), "30Gi", nil, rwx),
			wantErr: []string{"accessMode of PVC app/c is ReadWriteMany"}},
		{name: "ROX claim onto disk class", item: pvc("c", ptr("old-disk"), "30Gi", nil, rox),
			wantErr: []string{"accessMode of PVC app/c is ReadOnlyMany"}},
		{name: "malformed mapping", extra: []runtime.Object{restoreCM("mig", map[string]string{KeyStorageClassMapping: "- a"})},
			item: pvc("c", ptr("old-disk"), "30Gi", nil), wantErr: []string{"ConfigMap velero/mig", KeyStorageClassMapping, "YAML map"}},
		{name: "disk PV mapped and raised", item: testutil.DiskPV("pv", "vol-1", testutil.WithSize("10Gi"), testutil.WithStorageClass("old-disk"), rwo),
			wantClass: "alicloud-disk-topology-alltype", wantSize: "20Gi", maxCalls: 2},
		{name: "FlexVolume disk PV mapped to CSI disk class", item: func() runtime.Object {
			p := testutil.DiskPV("pv", "d-flex1", testutil.AsFlexVolume(), testutil.WithFSType("ext4"), testutil.WithSize("30Gi"), rwo)
			p.Spec.StorageClassName = "old-disk"
			return p
		}(), wantClass: "alicloud-disk-topology-alltype", wantSize: "30Gi", maxCalls: 2},
		{name: "NAS PV cannot become a disk class", item: testutil.DiskPV("pv", "vol-1", testutil.WithDriver(NASCSIDriver), testutil.WithSize("10Gi"), testutil.WithStorageClass("old-disk"), rwo),
			wantErr: []string{"PV pv", NASCSIDriver, "file-system backup or data mover"}},
		{name: "PV without class untouched, no API call", item: testutil.DiskPV("pv", "vol-1", testutil.WithSize("1Gi"), rwo), maxCalls: 0},
		{name: "PV of unmapped class untouched", item: testutil.DiskPV("pv", "vol-1", testutil.WithSize("1Gi"), testutil.WithStorageClass("other"), rwo), maxCalls: 1},
		{name: "StatefulSet templates mapped",
			item: statefulSet(
				template("data", ptr("old-disk"), "10Gi"),
				template("shared", ptr("old-nas"), "1Gi", rwx),
				template("keep", ptr("unmapped"), "1Gi"),
				template("nil", nil, "1Gi"),
			),
			wantWarn: []string{"volumeClaimTemplate keep", "storageclass unmapped does not exist"},
			check: func(t *testing.T, out runtime.Object) {
				s := out.(*appsv1.StatefulSet)
				want := []struct{ class, size string }{
					{"alicloud-disk-topology-alltype", "20Gi"}, {"alibabacloud-cnfs-nas", "1Gi"}, {"unmapped", "1Gi"}, {"", "1Gi"},
				}
				for i, w := range want {
					tpl := s.Spec.VolumeClaimTemplates[i]
					class := ""
					if tpl.Spec.StorageClassName != nil {
						class = *tpl.Spec.StorageClassName
					}
					q := tpl.Spec.Resources.Requests[corev1.ResourceStorage]
					if class != w.class || q.String() != w.size {
						t.Errorf("template %s = %s/%s, want %s/%s", tpl.Name, class, q.String(), w.class, w.size)
					}
				}
			},
			maxCalls: 2},
		{name: "StatefulSet RWX template onto disk class", item: statefulSet(template("data", ptr("old-disk"), "10Gi", rwx)),
			wantErr: []string{"StatefulSet app/web volumeClaimTemplate data", "accessMode", "ReadWriteMany"}},
		{name: "StatefulSet unmapped RWX template on a disk class",
			item:    statefulSet(template("ok", ptr("old-disk"), "10Gi"), template("shared", ptr("alicloud-disk-topology-alltype"), "30Gi", rwx)),
			wantErr: []string{"StatefulSet app/web volumeClaimTemplate shared: accessMode of StatefulSet app/web volumeClaimTemplate shared is ReadWriteMany"}},
		{name: "StatefulSet RWX template without class onto a default disk class", classes: defaultDisk,
			item:    statefulSet(template("shared", nil, "30Gi", rwx)),
			wantErr: []string{"volumeClaimTemplate shared", "ReadWriteMany", "alicloud-disk-default"}},
		{name: "StatefulSet without mapped templates untouched", item: statefulSet(template("keep", ptr("unmapped"), "1Gi")),
			wantWarn: []string{"StatefulSet app/web volumeClaimTemplate keep", "storageclass unmapped does not exist", "will stay Pending"}, maxCalls: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := append(append(append(append([]runtime.Object{}, cluster...), tc.nodes...), tc.extra...), tc.classes...)
			r := testRestore("r1", "")
			if tc.extra != nil {
				r = testRestore("r1", "mig")
			}
			logger, hook := test.NewNullLogger()
			in, out, ok := actionCase{objs: objs, item: tc.item, restore: r, wantErr: tc.wantErr, maxCalls: tc.maxCalls, log: logger}.
				execute(t, func(b base) executor { return &StorageClassMappingAction{b} })
			if !ok {
				return
			}
			switch w := warnings(hook); {
			case tc.wantWarn == nil && len(w) > 0:
				t.Errorf("unexpected warnings: %q", w)
			case tc.wantWarn != nil && len(w) != 1:
				t.Errorf("warnings = %q, want one", w)
			case tc.wantWarn != nil:
				for _, part := range tc.wantWarn {
					if !strings.Contains(w[0], part) {
						t.Errorf("warning %q does not contain %q", w[0], part)
					}
				}
			}
			if tc.wantClass == "" && tc.check == nil {
				assertSame(t, in, out)
			}
			if tc.wantClass != "" {
				class, _, _ := unstructured.NestedString(out.Object, "spec", "storageClassName")
				if class != tc.wantClass {
					t.Errorf("class = %q, want %q", class, tc.wantClass)
				}
				if got := sizesOf(t, out); got != tc.wantSize {
					t.Errorf("size = %s, want %s", got, tc.wantSize)
				}
			}
			if tc.check != nil {
				typed := tc.item.DeepCopyObject()
				fromItem(t, out, typed)
				tc.check(t, typed)
			}
		})
	}
}

func multiAttachClass(name, value string) *storagev1.StorageClass {
	sc := storageClass(name, diskpv.CSIDriver, storagev1.VolumeBindingWaitForFirstConsumer, false)
	sc.Parameters = map[string]string{"type": "cloud_essd", paramMultiAttach: value}
	return sc
}

// The checks on every claim read the StorageClasses once per restore: 50
// claims of one restore, mapped or not, with missing classes or not, cost the
// ConfigMap listing and the StorageClass listing (and one node listing for
// the Immediate class), not one call a claim.
func TestStorageClassMappingChecksEveryClaimWithBoundedCalls(t *testing.T) {
	env, client := newTestEnv(
		storageClass("alicloud-disk-topology-alltype", diskpv.CSIDriver, storagev1.VolumeBindingWaitForFirstConsumer, true),
		storageClass("alicloud-disk-immediate", diskpv.CSIDriver, storagev1.VolumeBindingImmediate, false),
		multiAttachClass("alicloud-disk-shared", "true"),
		node("n1", "cn-hangzhou-h"),
		pluginCM("scm", NameStorageClassMapping, map[string]string{KeyStorageClassMapping: "old: alicloud-disk-immediate\n"}),
	)
	logger, hook := test.NewNullLogger()
	a := &StorageClassMappingAction{base{log: logger, env: env}}
	r := testRestore("r1", "")
	classes := []*string{ptr("old"), ptr("alicloud-disk-topology-alltype"), ptr("missing"), nil, ptr("alicloud-disk-shared")}
	for i := range 50 {
		modes := []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
		if i%5 == 3 || i%5 == 4 {
			modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}
		class := classes[i%5]
		if class == nil {
			// A claim without a class gets the default disk class: only an
			// RWO one passes.
			modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
		}
		if _, err := run(t, a, testutil.Unstructured(pvc(fmt.Sprintf("c%d", i), class, "30Gi", nil, modes...)), r); err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
	}
	_, err := run(t, a, testutil.Unstructured(pvc("rwx", ptr("alicloud-disk-topology-alltype"), "30Gi", nil, corev1.ReadWriteMany)), r)
	assertErrContains(t, err, "accessMode of PVC app/rwx is ReadWriteMany")
	if n := len(client.Actions()); n > 3 {
		t.Errorf("%d API calls for 51 claims, want at most 3: %v", n, client.Actions())
	}
	if w := warnings(hook); len(w) != 10 {
		t.Errorf("%d warnings, want 10 (one per claim of the missing class): %q", len(w), w)
	}
}
