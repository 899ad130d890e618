package testutil

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
)

var pvType = metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolume"}

func TestDiskPV(t *testing.T) {
	tests := []struct {
		name string
		got  *corev1.PersistentVolume
		want *corev1.PersistentVolume
	}{
		{name: "bare CSI disk",
			got: DiskPV("pv", "d-1"),
			want: &corev1.PersistentVolume{TypeMeta: pvType, ObjectMeta: metav1.ObjectMeta{Name: "pv"},
				Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
					CSI: &corev1.CSIPersistentVolumeSource{Driver: diskpv.CSIDriver, VolumeHandle: "d-1"}}}}},
		{name: "CSI disk in a zone, options in any order",
			got: DiskPV("pv", "d-1", WithFSType("ext4"), InZone("cn-hangzhou-h"), WithSize("10Gi"),
				WithLabels(map[string]string{corev1.LabelTopologyRegion: "cn-hangzhou"})),
			want: &corev1.PersistentVolume{TypeMeta: pvType,
				ObjectMeta: metav1.ObjectMeta{Name: "pv", Labels: map[string]string{
					corev1.LabelTopologyZone: "cn-hangzhou-h", corev1.LabelTopologyRegion: "cn-hangzhou"}},
				Spec: corev1.PersistentVolumeSpec{
					Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
					PersistentVolumeSource: corev1.PersistentVolumeSource{
						CSI: &corev1.CSIPersistentVolumeSource{Driver: diskpv.CSIDriver, VolumeHandle: "d-1", FSType: "ext4"}},
					NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
						MatchExpressions: []corev1.NodeSelectorRequirement{{Key: diskpv.ZoneKey, Operator: corev1.NodeSelectorOpIn, Values: []string{"cn-hangzhou-h"}}},
					}}}},
				}}},
		{name: "FlexVolume disk",
			got: DiskPV("pv", "d-flex1", WithFSType("ext4"), AsFlexVolume(), WithSize("20Gi"), WithStorageClass("sc"),
				WithAccessModes(corev1.ReadWriteOnce), WithAffinity(corev1.LabelFailureDomainBetaZone, "a", "b")),
			want: &corev1.PersistentVolume{TypeMeta: pvType, ObjectMeta: metav1.ObjectMeta{Name: "pv"},
				Spec: corev1.PersistentVolumeSpec{
					Capacity:         corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("20Gi")},
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: "sc",
					PersistentVolumeSource: corev1.PersistentVolumeSource{FlexVolume: &corev1.FlexPersistentVolumeSource{
						Driver: diskpv.FlexDriver, FSType: "ext4", Options: map[string]string{"volumeId": "d-flex1"}}},
					NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
						MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelFailureDomainBetaZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}},
					}}}},
				}}},
		{name: "other driver with attributes",
			got: DiskPV("", "nas-1", WithDriver("nasplugin.csi.alibabacloud.com"), WithVolumeAttributes(map[string]string{"k": "v"})),
			want: &corev1.PersistentVolume{TypeMeta: pvType,
				Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
					CSI: &corev1.CSIPersistentVolumeSource{Driver: "nasplugin.csi.alibabacloud.com", VolumeHandle: "nas-1",
						VolumeAttributes: map[string]string{"k": "v"}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !equality.Semantic.DeepEqual(tt.got, tt.want) {
				t.Errorf("DiskPV =\n%+v\nwant\n%+v", tt.got, tt.want)
			}
			if got, want := Unstructured(tt.got), Unstructured(tt.want); !equality.Semantic.DeepEqual(got.Object, want.Object) {
				t.Errorf("Unstructured(DiskPV) =\n%v\nwant\n%v", got.Object, want.Object)
			}
		})
	}
	if u := Unstructured(DiskPV("pv", "d-1")); u.GetKind() != "PersistentVolume" || u.GetAPIVersion() != "v1" || u.GetName() != "pv" {
		t.Errorf("Unstructured = %v", u.Object)
	}
}
