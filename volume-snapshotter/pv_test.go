package volumesnapshotter

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

func pvWith(src corev1.PersistentVolumeSource) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolume"},
		ObjectMeta: metav1.ObjectMeta{Name: "pv-1"},
		Spec:       corev1.PersistentVolumeSpec{PersistentVolumeSource: src},
	}
}

// TestGetVolumeID: only ACK disk PVs have a volume ID; every other PV gets "".
func TestGetVolumeID(t *testing.T) {
	tests := []struct {
		name string
		src  corev1.PersistentVolumeSource
		want string
	}{
		{"CSI disk", corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: diskpv.CSIDriver, VolumeHandle: "d-bp1abc"}}, "d-bp1abc"},
		{"FlexVolume VolumeId", corev1.PersistentVolumeSource{FlexVolume: &corev1.FlexPersistentVolumeSource{Driver: "alicloud/disk", Options: map[string]string{"VolumeId": "d-bp1flex"}}}, "d-bp1flex"},
		{"FlexVolume volumeId", corev1.PersistentVolumeSource{FlexVolume: &corev1.FlexPersistentVolumeSource{Driver: "alicloud/disk", Options: map[string]string{"volumeId": "d-bp1lower"}}}, "d-bp1lower"},
		{"CSI NAS", corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "nasplugin.csi.alibabacloud.com", VolumeHandle: "nas-1"}}, ""},
		{"CSI OSS", corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ossplugin.csi.alibabacloud.com", VolumeHandle: "oss-1"}}, ""},
		{"CSI EBS", corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-0abc"}}, ""},
		{"in-tree EBS", corev1.PersistentVolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "vol-0abc"}}, ""},
		{"NFS", corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "x.nas.aliyuncs.com", Path: "/"}}, ""},
		{"FlexVolume NAS", corev1.PersistentVolumeSource{FlexVolume: &corev1.FlexPersistentVolumeSource{Driver: "alicloud/nas", Options: map[string]string{"volumeId": "nas-1"}}}, ""},
		{"hostPath", corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}}, ""},
	}
	v := NewVolumeSnapshotter(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.GetVolumeID(testutil.Unstructured(pvWith(tt.src)))
			if err != nil || got != tt.want {
				t.Errorf("GetVolumeID = %q, %v; want %q, nil", got, err, tt.want)
			}
		})
	}
}

// TestSetVolumeID: the disk ID goes where the driver reads it, the zone and
// region follow the new disk, and the capacity is the disk's size.
func TestSetVolumeID(t *testing.T) {
	e := newTestEnv(t, nil)
	v := e.snapshotter(beijing, nil)
	seeded := e.srv.SeedDisk(beijing, zoneBA, "cloud_essd", 40, nil)
	remembered := "d-2zremembered"

	csi := func() *corev1.PersistentVolume {
		pv := pvWith(corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: diskpv.CSIDriver, VolumeHandle: "d-bp1old"}})
		pv.Labels = map[string]string{"failure-domain.beta.kubernetes.io/zone": zoneH, "failure-domain.beta.kubernetes.io/region": hangzhou, "app": "db"}
		pv.Spec.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}
		pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
			{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: "topology.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{zoneH, zoneI}},
				{Key: "topology.kubernetes.io/region", Operator: corev1.NodeSelectorOpIn, Values: []string{hangzhou}},
				{Key: "node-pool", Operator: corev1.NodeSelectorOpIn, Values: []string{"db"}},
			}},
			{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: "failure-domain.beta.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{zoneH}},
			}},
		}}}
		return pv
	}
	tests := []struct {
		name     string
		pv       *corev1.PersistentVolume
		diskID   string
		wantZone string
		wantSize string
		check    func(t *testing.T, pv *corev1.PersistentVolume)
	}{
		{
			name: "CSI with zone and region affinity", pv: csi(), diskID: seeded, wantZone: zoneBA, wantSize: "40Gi",
			check: func(t *testing.T, pv *corev1.PersistentVolume) {
				if pv.Spec.CSI.VolumeHandle != seeded {
					t.Errorf("volumeHandle = %s", pv.Spec.CSI.VolumeHandle)
				}
				terms := pv.Spec.NodeAffinity.Required.NodeSelectorTerms
				if got := mustJSON(terms[0].MatchExpressions); got != `[{"key":"topology.kubernetes.io/zone","operator":"In","values":["cn-beijing-a"]},{"key":"topology.kubernetes.io/region","operator":"In","values":["cn-beijing"]},{"key":"node-pool","operator":"In","values":["db"]}]` {
					t.Errorf("term 0 = %s", got)
				}
				if got := mustJSON(terms[1].MatchExpressions); got != `[{"key":"failure-domain.beta.kubernetes.io/zone","operator":"In","values":["cn-beijing-a"]}]` {
					t.Errorf("term 1 = %s", got)
				}
				if pv.Labels["failure-domain.beta.kubernetes.io/region"] != beijing || pv.Labels["app"] != "db" {
					t.Errorf("labels = %v", pv.Labels)
				}
			},
		},
		{
			name:   "FlexVolume without affinity",
			pv:     pvWith(corev1.PersistentVolumeSource{FlexVolume: &corev1.FlexPersistentVolumeSource{Driver: "alicloud/disk", Options: map[string]string{"VolumeId": "d-bp1old", "volumeSize": "10"}}}),
			diskID: remembered, wantZone: "cn-beijing-b", wantSize: "20Gi",
			check: func(t *testing.T, pv *corev1.PersistentVolume) {
				if pv.Spec.FlexVolume.Options["VolumeId"] != remembered {
					t.Errorf("options = %v", pv.Spec.FlexVolume.Options)
				}
				if got := mustJSON(pv.Spec.NodeAffinity.Required.NodeSelectorTerms); got != `[{"matchExpressions":[{"key":"topology.kubernetes.io/zone","operator":"In","values":["cn-beijing-b"]}]}]` {
					t.Errorf("affinity = %s", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v.mu.Lock()
			v.restored[remembered] = diskInfo{zone: "cn-beijing-b", sizeGiB: 20, category: "cloud_essd"}
			v.mu.Unlock()
			out, err := v.SetVolumeID(testutil.Unstructured(tt.pv), tt.diskID)
			if err != nil {
				t.Fatal(err)
			}
			pv := toPVT(t, out)
			if got := pv.Labels["failure-domain.beta.kubernetes.io/zone"]; tt.pv.Labels != nil && got != tt.wantZone {
				t.Errorf("zone label = %q, want %q", got, tt.wantZone)
			}
			if q := pv.Spec.Capacity[corev1.ResourceStorage]; q.String() != tt.wantSize {
				t.Errorf("capacity = %s, want %s", q.String(), tt.wantSize)
			}
			tt.check(t, pv)
		})
	}

	t.Run("NAS PV refused", func(t *testing.T) {
		nas := pvWith(corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "nasplugin.csi.alibabacloud.com", VolumeHandle: "nas"}})
		_, err := v.SetVolumeID(testutil.Unstructured(nas), seeded)
		if err == nil || !strings.Contains(err.Error(), "only disk type PVs support cross-region restore") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unknown disk", func(t *testing.T) {
		_, err := v.SetVolumeID(testutil.Unstructured(csi()), "d-2znotthere")
		if err == nil || !strings.Contains(err.Error(), "disk d-2znotthere not found in region cn-beijing") {
			t.Errorf("err = %v", err)
		}
	})
}
