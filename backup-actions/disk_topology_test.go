package backupactions

import (
	"testing"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

func TestDiskTopology(t *testing.T) {
	tests := []struct {
		name       string
		pv         *corev1.PersistentVolume
		wantLabels map[string]string // nil = item unchanged
		wantZone   string            // the AZ Velero records
	}{
		{name: "zone only in CSI node affinity: label added",
			pv: testutil.DiskPV("d-1", "d-1", testutil.WithSize("20Gi"),
				testutil.WithVolumeAttributes(map[string]string{"type": "cloud_essd", "performanceLevel": "PL1"}),
				testutil.WithAffinity(diskpv.ZoneKey, "cn-hangzhou-h"), testutil.WithAffinity(corev1.LabelTopologyRegion, "cn-hangzhou")),
			wantLabels: map[string]string{corev1.LabelTopologyZone: "cn-hangzhou-h"},
			wantZone:   "cn-hangzhou-h"},
		{name: "existing deprecated zone label kept, not duplicated: unchanged",
			pv: testutil.DiskPV("d-1", "d-1", testutil.WithSize("20Gi"),
				testutil.WithLabels(map[string]string{corev1.LabelFailureDomainBetaZone: "cn-beijing-a", corev1.LabelFailureDomainBetaRegion: "cn-beijing"}),
				testutil.WithAffinity(diskpv.ZoneKey, "cn-beijing-a"))},
		{name: "ambiguous zone affinity records nothing",
			pv: testutil.DiskPV("d-1", "d-1", testutil.WithSize("20Gi"), testutil.WithAffinity(diskpv.ZoneKey, "cn-hangzhou-h", "cn-hangzhou-i"))},
		{name: "zone label already there: unchanged",
			pv: testutil.DiskPV("d-1", "d-1", testutil.WithSize("20Gi"), testutil.InZone("cn-hangzhou-h"))},
		{name: "FlexVolume disk with zone affinity",
			pv: testutil.DiskPV("d-1", "d-1", testutil.AsFlexVolume(), testutil.WithSize("20Gi"),
				testutil.WithAffinity(corev1.LabelFailureDomainBetaZone, "cn-shanghai-b")),
			wantLabels: map[string]string{corev1.LabelTopologyZone: "cn-shanghai-b"},
			wantZone:   "cn-shanghai-b"},
		{name: "EBS PV untouched",
			pv: testutil.DiskPV("d-1", "d-1", testutil.WithDriver("ebs.csi.aws.com"), testutil.WithSize("20Gi"),
				testutil.WithVolumeAttributes(map[string]string{"type": "cloud_essd"}), testutil.WithAffinity("topology.ebs.csi.aws.com/zone", "us-east-1a"))},
		{name: "NAS PV untouched",
			pv: testutil.DiskPV("d-1", "d-1", testutil.WithDriver("nasplugin.csi.alibabacloud.com"), testutil.WithSize("20Gi"),
				testutil.WithAffinity(diskpv.ZoneKey, "cn-hangzhou-h"))},
	}
	a := &DiskTopologyAction{pvAction{log: logrus.New()}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig, u := execute(t, a, tc.pv)
			if tc.wantLabels == nil {
				if !equality.Semantic.DeepEqual(orig.Object, u.Object) {
					t.Errorf("item changed: %v", u.Object)
				}
				return
			}
			if got := u.GetLabels(); !equality.Semantic.DeepEqual(got, tc.wantLabels) {
				t.Errorf("labels = %v, want %v", got, tc.wantLabels)
			}
			if got := u.GetAnnotations(); len(got) != 0 {
				t.Errorf("annotations = %v, want none", got)
			}
			// Velero reads the zone from this label (or the deprecated one).
			zone := u.GetLabels()[corev1.LabelTopologyZone]
			if zone == "" {
				zone = u.GetLabels()[corev1.LabelFailureDomainBetaZone]
			}
			if zone != tc.wantZone {
				t.Errorf("Velero would record AZ %q, want %q", zone, tc.wantZone)
			}
		})
	}
}

func TestDiskTopologyAppliesTo(t *testing.T) {
	sel, err := (&DiskTopologyAction{}).AppliesTo()
	if err != nil || len(sel.IncludedResources) != 1 || sel.IncludedResources[0] != "persistentvolumes" {
		t.Fatalf("AppliesTo = %+v, %v; want persistentvolumes only", sel, err)
	}
}
