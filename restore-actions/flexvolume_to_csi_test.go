package restoreactions

import (
	"maps"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

func TestFlexVolumeToCSI(t *testing.T) {
	// flexPV is the 20Gi ext4 FlexVolume disk PV of disk d-flex1 the cases vary.
	flexPV := func() *corev1.PersistentVolume {
		return testutil.DiskPV("pv", "d-flex1", testutil.AsFlexVolume(), testutil.WithFSType("ext4"), testutil.WithSize("20Gi"), rwo)
	}
	withLabels := func(p *corev1.PersistentVolume, l map[string]string) *corev1.PersistentVolume {
		p.Labels = l
		return p
	}
	withAffinity := func(p *corev1.PersistentVolume, key, zone string) *corev1.PersistentVolume {
		p.Spec.NodeAffinity = diskpv.ZoneAffinity(zone)
		p.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Key = key
		return p
	}
	noID := flexPV()
	delete(noID.Spec.FlexVolume.Options, "volumeId")
	// The VolumeSnapshotter reads VolumeId too: both plugins must agree.
	upperID := flexPV()
	delete(upperID.Spec.FlexVolume.Options, "volumeId")
	upperID.Spec.FlexVolume.Options["VolumeId"] = "d-flex2"
	optFS := flexPV()
	optFS.Spec.FlexVolume.FSType = ""
	optFS.Spec.FlexVolume.Options["fsType"] = "xfs"
	optFS.Spec.FlexVolume.ReadOnly = true

	tests := []struct {
		name     string
		objs     []runtime.Object
		config   string
		item     runtime.Object
		wantCSI  *corev1.CSIPersistentVolumeSource // nil = unchanged
		wantZone string
		wantAnn  map[string]string
		wantErr  []string
		maxCalls int
	}{
		{name: "FlexVolume disk PV with zone label",
			item:    withLabels(flexPV(), map[string]string{corev1.LabelTopologyZone: "cn-beijing-a"}),
			wantCSI: &corev1.CSIPersistentVolumeSource{Driver: diskpv.CSIDriver, VolumeHandle: "d-flex1", FSType: "ext4"}, wantZone: "cn-beijing-a", maxCalls: 1},
		{name: "zone from the deprecated label",
			item:    withLabels(flexPV(), map[string]string{corev1.LabelFailureDomainBetaZone: "cn-hangzhou-h"}),
			wantCSI: &corev1.CSIPersistentVolumeSource{Driver: diskpv.CSIDriver, VolumeHandle: "d-flex1", FSType: "ext4"}, wantZone: "cn-hangzhou-h", maxCalls: 1},
		{name: "zone from node affinity",
			item:    withAffinity(flexPV(), corev1.LabelFailureDomainBetaZone, "cn-hangzhou-i"),
			wantCSI: &corev1.CSIPersistentVolumeSource{Driver: diskpv.CSIDriver, VolumeHandle: "d-flex1", FSType: "ext4"}, wantZone: "cn-hangzhou-i", maxCalls: 1},
		{name: "fsType from options, read-only kept, no zone",
			item:    optFS,
			wantCSI: &corev1.CSIPersistentVolumeSource{Driver: diskpv.CSIDriver, VolumeHandle: "d-flex1", FSType: "xfs", ReadOnly: true}, maxCalls: 1},
		{name: "disk ID in options.VolumeId",
			item:    upperID,
			wantCSI: &corev1.CSIPersistentVolumeSource{Driver: diskpv.CSIDriver, VolumeHandle: "d-flex2", FSType: "ext4"}, maxCalls: 1},
		{name: "FlexVolume without volumeId", item: noID, wantErr: []string{"PV pv", "options.VolumeId", "options.volumeId"}},
		{name: "opted out per restore", config: "mig",
			objs: []runtime.Object{restoreCM("mig", map[string]string{KeyFlexVolumeToCSI: "false"})},
			item: flexPV(), maxCalls: 1},
		{name: "malformed opt-out",
			objs:    []runtime.Object{pluginCM("flex", NameFlexVolumeToCSI, map[string]string{KeyFlexVolumeToCSI: "si"})},
			item:    flexPV(),
			wantErr: []string{"ConfigMap velero/flex", KeyFlexVolumeToCSI}},
		{name: "CSI disk PV untouched, no API call", item: testutil.DiskPV("pv", "vol-1", testutil.WithSize("20Gi"), rwo), maxCalls: 0},
		{name: "other FlexVolume PV untouched, no API call", item: func() runtime.Object {
			p := flexPV()
			p.Spec.FlexVolume.Driver = "alicloud/nas"
			return p
		}(), maxCalls: 0},
		{name: "FlexVolume PVC gets CSI provisioner annotations",
			item:    pvc("c", ptr("alicloud-disk-efficiency"), "20Gi", map[string]string{annBetaStorageProvisioner: diskpv.FlexDriver, "keep": "me"}),
			wantAnn: map[string]string{annBetaStorageProvisioner: diskpv.CSIDriver, annStorageProvisioner: diskpv.CSIDriver, "keep": "me"}, maxCalls: 1},
		{name: "CSI PVC untouched, no API call",
			item: pvc("c", ptr("x"), "20Gi", map[string]string{annStorageProvisioner: diskpv.CSIDriver}), maxCalls: 0},
		{name: "PVC without annotations untouched, no API call", item: pvc("c", ptr("x"), "20Gi", nil), maxCalls: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, out, ok := actionCase{objs: tc.objs, item: tc.item, restore: testRestore("r1", tc.config), wantErr: tc.wantErr, maxCalls: tc.maxCalls}.
				execute(t, func(b base) executor { return &FlexVolumeToCSIAction{b} })
			if !ok {
				return
			}
			switch {
			case tc.wantCSI != nil:
				pv := new(corev1.PersistentVolume)
				fromItem(t, out, pv)
				if pv.Spec.FlexVolume != nil {
					t.Error("flexVolume kept")
				}
				if !reflect.DeepEqual(pv.Spec.CSI, tc.wantCSI) {
					t.Errorf("csi = %+v, want %+v", pv.Spec.CSI, tc.wantCSI)
				}
				if tc.wantZone == "" {
					if pv.Spec.NodeAffinity != nil {
						t.Errorf("node affinity set without a zone: %+v", pv.Spec.NodeAffinity)
					}
				} else if !reflect.DeepEqual(pv.Spec.NodeAffinity, diskpv.ZoneAffinity(tc.wantZone)) {
					t.Errorf("node affinity = %+v, want zone %s under %s", pv.Spec.NodeAffinity, tc.wantZone, diskpv.ZoneKey)
				}
			case tc.wantAnn != nil:
				if got := out.GetAnnotations(); !maps.Equal(got, tc.wantAnn) {
					t.Errorf("annotations = %v, want %v", got, tc.wantAnn)
				}
			default:
				assertSame(t, in, out)
			}
		})
	}
}
