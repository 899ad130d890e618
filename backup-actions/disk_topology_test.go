package backupactions

import (
	"testing"

	"github.com/sirupsen/logrus"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
)

func diskPV(labels map[string]string, attrs map[string]string, affinity map[string][]string) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolume"},
		ObjectMeta: metav1.ObjectMeta{Name: "d-1", Labels: labels},
		Spec: corev1.PersistentVolumeSpec{
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("20Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				CSI: &corev1.CSIPersistentVolumeSource{Driver: diskpv.CSIDriver, VolumeHandle: "d-1", VolumeAttributes: attrs},
			},
		},
	}
	if affinity != nil {
		term := corev1.NodeSelectorTerm{}
		for k, v := range affinity {
			term.MatchExpressions = append(term.MatchExpressions, corev1.NodeSelectorRequirement{Key: k, Operator: corev1.NodeSelectorOpIn, Values: v})
		}
		pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term}}}
	}
	return pv
}

func TestDiskTopology(t *testing.T) {
	tests := []struct {
		name       string
		pv         *corev1.PersistentVolume
		wantLabels map[string]string // nil = item unchanged
		wantZone   string            // the AZ Velero records
	}{
		{name: "zone only in CSI node affinity: label added",
			pv: diskPV(nil, map[string]string{"type": "cloud_essd", "performanceLevel": "PL1"},
				map[string][]string{diskpv.ZoneKey: {"cn-hangzhou-h"}, corev1.LabelTopologyRegion: {"cn-hangzhou"}}),
			wantLabels: map[string]string{corev1.LabelTopologyZone: "cn-hangzhou-h"},
			wantZone:   "cn-hangzhou-h"},
		{name: "existing deprecated zone label kept, not duplicated: unchanged",
			pv: diskPV(map[string]string{corev1.LabelFailureDomainBetaZone: "cn-beijing-a", corev1.LabelFailureDomainBetaRegion: "cn-beijing"}, nil,
				map[string][]string{diskpv.ZoneKey: {"cn-beijing-a"}})},
		{name: "ambiguous zone affinity records nothing",
			pv: diskPV(nil, nil, map[string][]string{diskpv.ZoneKey: {"cn-hangzhou-h", "cn-hangzhou-i"}})},
		{name: "zone label already there: unchanged",
			pv: diskPV(map[string]string{corev1.LabelTopologyZone: "cn-hangzhou-h"}, nil, map[string][]string{diskpv.ZoneKey: {"cn-hangzhou-h"}})},
		{name: "FlexVolume disk with zone affinity",
			pv: func() *corev1.PersistentVolume {
				p := diskPV(nil, nil, map[string][]string{corev1.LabelFailureDomainBetaZone: {"cn-shanghai-b"}})
				p.Spec.CSI = nil
				p.Spec.FlexVolume = &corev1.FlexPersistentVolumeSource{Driver: diskpv.FlexDriver, Options: map[string]string{"volumeId": "d-1"}}
				return p
			}(),
			wantLabels: map[string]string{corev1.LabelTopologyZone: "cn-shanghai-b"},
			wantZone:   "cn-shanghai-b"},
		{name: "EBS PV untouched",
			pv: func() *corev1.PersistentVolume {
				p := diskPV(nil, map[string]string{"type": "cloud_essd"}, map[string][]string{"topology.ebs.csi.aws.com/zone": {"us-east-1a"}})
				p.Spec.CSI.Driver = "ebs.csi.aws.com"
				return p
			}()},
		{name: "NAS PV untouched",
			pv: func() *corev1.PersistentVolume {
				p := diskPV(nil, nil, map[string][]string{diskpv.ZoneKey: {"cn-hangzhou-h"}})
				p.Spec.CSI.Driver = "nasplugin.csi.alibabacloud.com"
				return p
			}()},
	}
	a := &DiskTopologyAction{log: logrus.New()}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tc.pv)
			if err != nil {
				t.Fatal(err)
			}
			in := &unstructured.Unstructured{Object: m}
			orig := in.DeepCopy()
			out, extra, opID, post, err := a.Execute(in, &velerov1.Backup{})
			if err != nil {
				t.Fatal(err)
			}
			if extra != nil || opID != "" || post != nil {
				t.Errorf("unexpected additional items or operation: %v %q %v", extra, opID, post)
			}
			if !equality.Semantic.DeepEqual(orig.Object, in.Object) {
				t.Error("input item modified in place")
			}
			u := &unstructured.Unstructured{Object: out.UnstructuredContent()}
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
