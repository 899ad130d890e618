package diskpv

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func csi(driver, handle string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
		CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle},
	}}}
}

func flex(driver string, opts map[string]string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
		FlexVolume: &corev1.FlexPersistentVolumeSource{Driver: driver, Options: opts},
	}}}
}

func withAffinity(pv *corev1.PersistentVolume, exprs ...corev1.NodeSelectorRequirement) *corev1.PersistentVolume {
	pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: exprs}},
	}}
	return pv
}

func in(key, value string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: corev1.NodeSelectorOpIn, Values: []string{value}}
}

func TestDiskID(t *testing.T) {
	tests := []struct {
		name string
		pv   *corev1.PersistentVolume
		want string
	}{
		{"CSI disk", csi(CSIDriver, "d-1"), "d-1"},
		{"CSI NAS", csi("nasplugin.csi.alibabacloud.com", "nas-1"), ""},
		{"EBS", csi("ebs.csi.aws.com", "vol-1"), ""},
		{"FlexVolume VolumeId", flex(FlexDriver, map[string]string{"VolumeId": "d-2"}), "d-2"},
		{"FlexVolume volumeId", flex(FlexDriver, map[string]string{"volumeId": "d-3"}), "d-3"},
		{"FlexVolume both", flex(FlexDriver, map[string]string{"VolumeId": "d-4", "volumeId": "d-5"}), "d-4"},
		{"FlexVolume NAS", flex("alicloud/nas", map[string]string{"volumeId": "x"}), ""},
		{"hostPath", &corev1.PersistentVolume{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ID(tt.pv); got != tt.want {
				t.Errorf("ID = %q, want %q", got, tt.want)
			}
			if IsDisk(tt.pv) != (tt.want != "") {
				t.Errorf("IsDisk = %v for ID %q", IsDisk(tt.pv), tt.want)
			}
			if ok := SetID(tt.pv, "d-new"); ok != (tt.want != "") || ok && ID(tt.pv) != "d-new" {
				t.Errorf("SetID = %v, then ID = %q", ok, ID(tt.pv))
			}
		})
	}
}

func TestZoneAndRegion(t *testing.T) {
	tests := []struct {
		name         string
		labels       map[string]string
		affinity     []corev1.NodeSelectorRequirement
		wantZ, wantR string
	}{
		{name: "nothing"},
		{name: "topology labels", labels: map[string]string{corev1.LabelTopologyZone: "cn-hangzhou-h", corev1.LabelTopologyRegion: "cn-hangzhou"}, wantZ: "cn-hangzhou-h", wantR: "cn-hangzhou"},
		{name: "deprecated labels", labels: map[string]string{corev1.LabelFailureDomainBetaZone: "cn-hangzhou-i", corev1.LabelFailureDomainBetaRegion: "cn-hangzhou"}, wantZ: "cn-hangzhou-i", wantR: "cn-hangzhou"},
		{name: "empty topology label falls through", labels: map[string]string{corev1.LabelTopologyZone: "", corev1.LabelFailureDomainBetaZone: "cn-hangzhou-i"}, wantZ: "cn-hangzhou-i"},
		{name: "CSI affinity", affinity: []corev1.NodeSelectorRequirement{in(ZoneKey, "cn-beijing-a"), in(RegionKey, "cn-beijing")}, wantZ: "cn-beijing-a", wantR: "cn-beijing"},
		{name: "labels before affinity", labels: map[string]string{corev1.LabelTopologyZone: "cn-hangzhou-h"}, affinity: []corev1.NodeSelectorRequirement{in(ZoneKey, "cn-hangzhou-i")}, wantZ: "cn-hangzhou-h"},
		{name: "ambiguous affinity", affinity: []corev1.NodeSelectorRequirement{in(ZoneKey, "cn-hangzhou-h"), in(corev1.LabelTopologyZone, "cn-hangzhou-i")}},
		{name: "zone name gives no region", labels: map[string]string{corev1.LabelTopologyZone: "cn-hangzhou-h"}, wantZ: "cn-hangzhou-h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := withAffinity(csi(CSIDriver, "d-1"), tt.affinity...)
			pv.Labels = tt.labels
			if z, r := Zone(pv), Region(pv); z != tt.wantZ || r != tt.wantR {
				t.Errorf("Zone, Region = %q, %q; want %q, %q", z, r, tt.wantZ, tt.wantR)
			}
		})
	}
}

func TestMoveToZone(t *testing.T) {
	pv := withAffinity(csi(CSIDriver, "d-1"), in(ZoneKey, "cn-hangzhou-h"), in(corev1.LabelTopologyRegion, "cn-hangzhou"))
	pv.Labels = map[string]string{corev1.LabelTopologyZone: "cn-hangzhou-h", corev1.LabelTopologyRegion: "cn-hangzhou", "app": "web"}
	pv.Spec.NodeAffinity.Required.NodeSelectorTerms = append(pv.Spec.NodeAffinity.Required.NodeSelectorTerms,
		corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{in("node-pool", "a")}})
	MoveToZone(pv, "cn-beijing", "cn-beijing-a")
	if Zone(pv) != "cn-beijing-a" || Region(pv) != "cn-beijing" || pv.Labels["app"] != "web" {
		t.Errorf("labels %v, zone %q, region %q", pv.Labels, Zone(pv), Region(pv))
	}
	want := []corev1.NodeSelectorTerm{
		{MatchExpressions: []corev1.NodeSelectorRequirement{in(ZoneKey, "cn-beijing-a"), in(corev1.LabelTopologyRegion, "cn-beijing")}},
		{MatchExpressions: []corev1.NodeSelectorRequirement{in("node-pool", "a"), in(corev1.LabelTopologyZone, "cn-beijing-a")}},
	}
	if got := pv.Spec.NodeAffinity.Required.NodeSelectorTerms; !reflect.DeepEqual(got, want) {
		t.Errorf("terms = %+v, want %+v", got, want)
	}

	bare := csi(CSIDriver, "d-2")
	MoveToZone(bare, "cn-beijing", "cn-beijing-a")
	if Zone(bare) != "cn-beijing-a" {
		t.Errorf("a PV without affinity is not pinned to its zone: %+v", bare.Spec.NodeAffinity)
	}
}

func TestNodeZones(t *testing.T) {
	node := func(zone string) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{corev1.LabelTopologyZone: zone}}}
	}
	nodes := []corev1.Node{node("cn-hangzhou-i"), node("cn-hangzhou-h"), node("cn-hangzhou-i"), node("cn-hangzhou-k"), {}}
	if got, want := NodeZones(nodes), []string{"cn-hangzhou-i", "cn-hangzhou-h", "cn-hangzhou-k"}; !reflect.DeepEqual(got, want) {
		t.Errorf("NodeZones = %v, want %v", got, want)
	}
}
