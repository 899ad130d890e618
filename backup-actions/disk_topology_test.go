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

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/kube"
)

func diskPV(labels map[string]string, attrs map[string]string, affinity map[string][]string) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolume"},
		ObjectMeta: metav1.ObjectMeta{Name: "d-1", Labels: labels},
		Spec: corev1.PersistentVolumeSpec{
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("20Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				CSI: &corev1.CSIPersistentVolumeSource{Driver: kube.DiskCSIDriver, VolumeHandle: "d-1", VolumeAttributes: attrs},
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
		wantAnn    map[string]string
	}{
		{name: "zone only in CSI node affinity: label and annotations added",
			pv: diskPV(nil, map[string]string{"type": "cloud_essd", "performanceLevel": "PL1"},
				map[string][]string{kube.DiskZoneKey: {"cn-hangzhou-h"}, corev1.LabelTopologyRegion: {"cn-hangzhou"}}),
			wantLabels: map[string]string{corev1.LabelTopologyZone: "cn-hangzhou-h"},
			wantAnn: map[string]string{AnnDiskZone: "cn-hangzhou-h", AnnDiskRegion: "cn-hangzhou",
				AnnDiskCategory: "cloud_essd", AnnDiskPerformanceLevel: "PL1"}},
		{name: "existing deprecated zone label kept, not duplicated",
			pv:         diskPV(map[string]string{corev1.LabelFailureDomainBetaZone: "cn-beijing-a", corev1.LabelFailureDomainBetaRegion: "cn-beijing"}, nil, nil),
			wantLabels: map[string]string{corev1.LabelFailureDomainBetaZone: "cn-beijing-a", corev1.LabelFailureDomainBetaRegion: "cn-beijing"},
			wantAnn:    map[string]string{AnnDiskZone: "cn-beijing-a", AnnDiskRegion: "cn-beijing"}},
		{name: "category list of a topology-alltype class is not recorded",
			pv:         diskPV(nil, map[string]string{"type": "cloud_essd,cloud_ssd"}, map[string][]string{kube.DiskZoneKey: {"cn-hangzhou-i"}}),
			wantLabels: map[string]string{corev1.LabelTopologyZone: "cn-hangzhou-i"},
			wantAnn:    map[string]string{AnnDiskZone: "cn-hangzhou-i"}},
		{name: "ambiguous zone affinity records nothing",
			pv: diskPV(nil, nil, map[string][]string{kube.DiskZoneKey: {"cn-hangzhou-h", "cn-hangzhou-i"}})},
		{name: "everything already recorded: unchanged",
			pv: func() *corev1.PersistentVolume {
				p := diskPV(map[string]string{corev1.LabelTopologyZone: "cn-hangzhou-h"}, nil, nil)
				p.Annotations = map[string]string{AnnDiskZone: "cn-hangzhou-h"}
				return p
			}()},
		{name: "FlexVolume disk with zone label",
			pv: func() *corev1.PersistentVolume {
				p := diskPV(map[string]string{corev1.LabelTopologyZone: "cn-shanghai-b"}, nil, nil)
				p.Spec.CSI = nil
				p.Spec.FlexVolume = &corev1.FlexPersistentVolumeSource{Driver: kube.DiskFlexDriver, Options: map[string]string{"volumeId": "d-1"}}
				return p
			}(),
			wantLabels: map[string]string{corev1.LabelTopologyZone: "cn-shanghai-b"},
			wantAnn:    map[string]string{AnnDiskZone: "cn-shanghai-b"}},
		{name: "EBS PV untouched",
			pv: func() *corev1.PersistentVolume {
				p := diskPV(nil, map[string]string{"type": "cloud_essd"}, map[string][]string{"topology.ebs.csi.aws.com/zone": {"us-east-1a"}})
				p.Spec.CSI.Driver = "ebs.csi.aws.com"
				return p
			}()},
		{name: "NAS PV untouched",
			pv: func() *corev1.PersistentVolume {
				p := diskPV(nil, nil, map[string][]string{kube.DiskZoneKey: {"cn-hangzhou-h"}})
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
			if got := u.GetAnnotations(); !equality.Semantic.DeepEqual(got, tc.wantAnn) {
				t.Errorf("annotations = %v, want %v", got, tc.wantAnn)
			}
			// Velero reads the zone from this label (or the deprecated one).
			zone := u.GetLabels()[corev1.LabelTopologyZone]
			if zone == "" {
				zone = u.GetLabels()[corev1.LabelFailureDomainBetaZone]
			}
			if zone != tc.wantAnn[AnnDiskZone] {
				t.Errorf("Velero would record AZ %q, want %q", zone, tc.wantAnn[AnnDiskZone])
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
