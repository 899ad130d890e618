package restoreactions

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

func TestDiskMinimumSize(t *testing.T) {
	classes := []runtime.Object{
		storageClass("alicloud-disk-essd", diskpv.CSIDriver, storagev1.VolumeBindingWaitForFirstConsumer, true),
		storageClass("alicloud-disk-flex", diskpv.FlexDriver, "", false),
		storageClass("alibabacloud-cnfs-nas", NASCSIDriver, "", false),
		storageClass("gp3", "ebs.csi.aws.com", "", false),
	}
	nasOnlyDefault := []runtime.Object{storageClass("nas", NASCSIDriver, "", true)}

	tests := []struct {
		name     string
		objs     []runtime.Object // cluster objects besides the classes
		noClass  bool             // cluster without the classes above
		extra    []runtime.Object
		config   string // per-restore ConfigMap name
		item     runtime.Object
		wantSize string   // expected storage after; "" = item unchanged
		wantErr  []string // error substrings
		maxCalls int      // API calls allowed
	}{
		{name: "CSI disk PV below minimum raised", item: testutil.DiskPV("pv1", "vol-1", testutil.WithSize("10Gi"), rwo), wantSize: "20Gi", maxCalls: 1},
		{name: "FlexVolume disk PV below minimum raised", item: testutil.DiskPV("pv1", "d-flex1", testutil.AsFlexVolume(), testutil.WithFSType("ext4"), testutil.WithSize("5Gi"), rwo), wantSize: "20Gi", maxCalls: 1},
		{name: "disk PV at minimum untouched", item: testutil.DiskPV("pv1", "vol-1", testutil.WithSize("20Gi"), rwo), maxCalls: 1},
		{name: "EBS PV untouched, no API call", item: testutil.DiskPV("pv1", "vol-1", testutil.WithDriver("ebs.csi.aws.com"), testutil.WithSize("1Gi"), rwo), maxCalls: 0},
		{name: "NAS PV untouched, no API call", item: testutil.DiskPV("pv1", "vol-1", testutil.WithDriver(NASCSIDriver), testutil.WithSize("1Gi"), rwo), maxCalls: 0},
		{name: "OSS PV untouched, no API call", item: testutil.DiskPV("pv1", "vol-1", testutil.WithDriver("ossplugin.csi.alibabacloud.com"), testutil.WithSize("1Gi"), rwo), maxCalls: 0},
		{name: "PVC with disk provisioner annotation raised without reading classes",
			item:     pvc("c", ptr("gone"), "1Gi", map[string]string{annStorageProvisioner: diskpv.CSIDriver}),
			wantSize: "20Gi", maxCalls: 1},
		{name: "PVC with beta FlexVolume provisioner annotation raised",
			item:     pvc("c", ptr("x"), "1Gi", map[string]string{annBetaStorageProvisioner: diskpv.FlexDriver}),
			wantSize: "20Gi", maxCalls: 1},
		{name: "PVC with EBS provisioner annotation untouched, no API call",
			item:     pvc("c", ptr("alicloud-disk-essd"), "1Gi", map[string]string{annStorageProvisioner: "ebs.csi.aws.com"}),
			maxCalls: 0},
		{name: "PVC of disk class raised", item: pvc("c", ptr("alicloud-disk-essd"), "10Gi", nil), wantSize: "20Gi", maxCalls: 2},
		{name: "PVC of FlexVolume disk class raised", item: pvc("c", ptr("alicloud-disk-flex"), "10Gi", nil), wantSize: "20Gi", maxCalls: 2},
		{name: "PVC without class uses default disk class", item: pvc("c", nil, "10Gi", nil), wantSize: "20Gi", maxCalls: 2},
		{name: "PVC without class, default is NAS: untouched", noClass: true, extra: nasOnlyDefault, item: pvc("c", nil, "10Gi", nil), maxCalls: 1},
		{name: "PVC of NAS class untouched", item: pvc("c", ptr("alibabacloud-cnfs-nas"), "1Gi", nil), maxCalls: 1},
		{name: "PVC of EBS class untouched", item: pvc("c", ptr("gp3"), "1Gi", nil), maxCalls: 1},
		{name: "PVC of missing class untouched", item: pvc("c", ptr("missing"), "1Gi", nil), maxCalls: 1},
		{name: "PVC with empty class untouched, no API call", item: pvc("c", ptr(""), "1Gi", nil), maxCalls: 0},
		{name: "PVC without request untouched, no API call", item: pvc("c", ptr("alicloud-disk-essd"), "", nil), maxCalls: 0},
		{name: "PVC above minimum untouched", item: pvc("c", ptr("alicloud-disk-essd"), "50Gi", nil), maxCalls: 2},
		{name: "configured minimum 40Gi", extra: []runtime.Object{pluginCM("min", NameDiskMinimumSize, map[string]string{KeyDiskMinimumSize: "40Gi"})},
			item: testutil.DiskPV("pv1", "vol-1", testutil.WithSize("30Gi"), rwo), wantSize: "40Gi", maxCalls: 1},
		{name: "per-restore minimum overrides cluster-wide", config: "mig",
			extra: []runtime.Object{
				pluginCM("min", NameDiskMinimumSize, map[string]string{KeyDiskMinimumSize: "40Gi"}),
				restoreCM("mig", map[string]string{KeyDiskMinimumSize: "25Gi"}),
			},
			item: testutil.DiskPV("pv1", "vol-1", testutil.WithSize("10Gi"), rwo), wantSize: "25Gi", maxCalls: 2},
		{name: "minimum 0 turns it off", extra: []runtime.Object{pluginCM("min", NameDiskMinimumSize, map[string]string{KeyDiskMinimumSize: "0"})},
			item: testutil.DiskPV("pv1", "vol-1", testutil.WithSize("1Gi"), rwo), maxCalls: 1},
		{name: "malformed minimum fails the item", extra: []runtime.Object{pluginCM("min", NameDiskMinimumSize, map[string]string{KeyDiskMinimumSize: "twenty"})},
			item:    testutil.DiskPV("pv1", "vol-1", testutil.WithSize("1Gi"), rwo),
			wantErr: []string{"ConfigMap velero/min", KeyDiskMinimumSize, `"twenty"`, "20Gi"}},
		{name: "negative minimum fails the item", config: "mig", extra: []runtime.Object{restoreCM("mig", map[string]string{KeyDiskMinimumSize: "-1Gi"})},
			item:    pvc("c", ptr("alicloud-disk-essd"), "1Gi", nil),
			wantErr: []string{"ConfigMap velero/mig", KeyDiskMinimumSize}},
		{name: "StatefulSet disk template raised, NAS and EBS templates kept",
			item: statefulSet(
				template("data", ptr("alicloud-disk-essd"), "10Gi"),
				template("shared", ptr("alibabacloud-cnfs-nas"), "1Gi", corev1.ReadWriteMany),
				template("other", ptr("gp3"), "1Gi"),
			),
			wantSize: "20Gi,1Gi,1Gi", maxCalls: 2},
		{name: "StatefulSet without templates untouched, no API call", item: statefulSet(), maxCalls: 0},
		{name: "StatefulSet with only NAS template untouched",
			item: statefulSet(template("shared", ptr("alibabacloud-cnfs-nas"), "1Gi", corev1.ReadWriteMany)), maxCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := append([]runtime.Object{}, tc.extra...)
			if !tc.noClass {
				objs = append(objs, classes...)
			}
			in, out, ok := actionCase{objs: objs, item: tc.item, restore: testRestore("r1", tc.config), wantErr: tc.wantErr, maxCalls: tc.maxCalls}.
				execute(t, func(b base) executor { return &DiskMinimumSizeAction{b} })
			if !ok {
				return
			}
			if tc.wantSize == "" {
				assertSame(t, in, out)
			} else if got := sizesOf(t, out); got != tc.wantSize {
				t.Errorf("size = %s, want %s", got, tc.wantSize)
			}
		})
	}
}

// sizesOf returns the storage size of a PV, PVC or each template of a
// StatefulSet, comma-separated.
func sizesOf(t *testing.T, u interface {
	GetKind() string
	UnstructuredContent() map[string]any
}) string {
	t.Helper()
	switch u.GetKind() {
	case "PersistentVolume":
		pv := new(corev1.PersistentVolume)
		mustFrom(t, u.UnstructuredContent(), pv)
		q := pv.Spec.Capacity[corev1.ResourceStorage]
		return q.String()
	case "PersistentVolumeClaim":
		p := new(corev1.PersistentVolumeClaim)
		mustFrom(t, u.UnstructuredContent(), p)
		q := p.Spec.Resources.Requests[corev1.ResourceStorage]
		return q.String()
	case "StatefulSet":
		s := new(appsv1.StatefulSet)
		mustFrom(t, u.UnstructuredContent(), s)
		out := ""
		for i, tpl := range s.Spec.VolumeClaimTemplates {
			if i > 0 {
				out += ","
			}
			q := tpl.Spec.Resources.Requests[corev1.ResourceStorage]
			out += q.String()
		}
		return out
	}
	t.Fatalf("unexpected kind %s", u.GetKind())
	return ""
}

func mustFrom(t *testing.T, m map[string]any, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, into); err != nil {
		t.Fatal(err)
	}
}

// Many items of one restore read the cluster once: the ConfigMaps and
// StorageClasses are cached per restore, and a new restore reads them again.
func TestDiskMinimumSizeCachesPerRestore(t *testing.T) {
	env, client := newTestEnv(
		storageClass("alicloud-disk-essd", diskpv.CSIDriver, storagev1.VolumeBindingWaitForFirstConsumer, false),
		restoreCM("mig", map[string]string{KeyDiskMinimumSize: "30Gi"}),
	)
	a := &DiskMinimumSizeAction{base{log: testLog(), env: env}}
	r1 := testRestore("r1", "mig")
	for i := 0; i < 50; i++ {
		out, err := run(t, a, testutil.Unstructured(pvc("c", ptr("alicloud-disk-essd"), "1Gi", nil)), r1)
		if err != nil {
			t.Fatal(err)
		}
		if got := sizesOf(t, out); got != "30Gi" {
			t.Fatalf("size = %s, want 30Gi", got)
		}
	}
	// One StorageClass list, one per-restore Get, one plugin ConfigMap list
	// is not needed because the per-restore ConfigMap sets the key.
	if n := len(client.Actions()); n != 2 {
		t.Fatalf("%d API calls for 50 items, want 2: %v", n, client.Actions())
	}
	if _, err := run(t, a, testutil.Unstructured(pvc("c", ptr("alicloud-disk-essd"), "1Gi", nil)), testRestore("r2", "mig")); err != nil {
		t.Fatal(err)
	}
	if n := len(client.Actions()); n != 4 {
		t.Fatalf("%d API calls after a second restore, want 4", n)
	}
}

func TestDiskMinimumSizeAppliesTo(t *testing.T) {
	a := &DiskMinimumSizeAction{}
	sel, err := a.AppliesTo()
	if err != nil {
		t.Fatal(err)
	}
	want := "persistentvolumeclaims,persistentvolumes,statefulsets.apps"
	if got := joined(sel.IncludedResources); got != want {
		t.Errorf("AppliesTo = %s, want %s", got, want)
	}
}

func joined(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

// Concurrent items of one restore share one cache and read the cluster once.
func TestDiskMinimumSizeConcurrent(t *testing.T) {
	env, client := newTestEnv(
		storageClass("alicloud-disk-essd", diskpv.CSIDriver, storagev1.VolumeBindingWaitForFirstConsumer, false),
		restoreCM("mig", map[string]string{KeyDiskMinimumSize: "30Gi"}),
	)
	a := &DiskMinimumSizeAction{base{log: testLog(), env: env}}
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func() {
			_, err := run(t, a, testutil.Unstructured(pvc("c", ptr("alicloud-disk-essd"), "1Gi", nil)), testRestore("r1", "mig"))
			errs <- err
		}()
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(client.Actions()); n != 2 {
		t.Fatalf("%d API calls for 20 concurrent items, want 2", n)
	}
}
