package diskpv

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func csiAttrs(driver string, attrs map[string]string) *corev1.PersistentVolume {
	pv := csi(driver, "h")
	pv.Spec.CSI.VolumeAttributes = attrs
	return pv
}

func TestVolumeRegion(t *testing.T) {
	labelled := csi(CSIDriver, "d-1")
	labelled.ObjectMeta = metav1.ObjectMeta{Labels: map[string]string{corev1.LabelTopologyRegion: "cn-beijing"}}
	tests := []struct {
		name       string
		pv         *corev1.PersistentVolume
		wantRegion string
		wantKind   string
	}{
		{"CSI disk with region label", labelled, "cn-beijing", KindDisk},
		{"CSI disk with region affinity", withAffinity(csi(CSIDriver, "d-1"), in(RegionKey, "cn-shanghai")), "cn-shanghai", KindDisk},
		{"CSI disk, zone only: region not derived", withAffinity(csi(CSIDriver, "d-1"), in(ZoneKey, "cn-hangzhou-i")), "", KindDisk},
		{"FlexVolume disk without region", flex(FlexDriver, map[string]string{"volumeId": "d-1"}), "", KindDisk},
		{"CSI NAS", csiAttrs(NASCSIDriver, map[string]string{"server": "0cd8b4a576-g****.cn-hangzhou.nas.aliyuncs.com", "path": "/"}), "cn-hangzhou", KindNAS},
		{"CSI NAS, upper case and trailing dot", csiAttrs(NASCSIDriver, map[string]string{"server": "0CD8B4A576-abc.CN-Hangzhou.nas.aliyuncs.com."}), "cn-hangzhou", KindNAS},
		{"CSI NAS with path after the server", csiAttrs(NASCSIDriver, map[string]string{"server": "0cd8b4a576-abc.cn-beijing.nas.aliyuncs.com:/share"}), "cn-beijing", KindNAS},
		{"extreme NAS", csiAttrs(NASCSIDriver, map[string]string{"server": "1a2b3c-xyz.ap-southeast-1.extreme.nas.aliyuncs.com"}), "ap-southeast-1", KindNAS},
		{"FlexVolume NAS", flex(NASFlexDriver, map[string]string{"server": "2564f49129-ysu87.cn-shenzhen.nas.aliyuncs.com", "path": "/k8s"}), "cn-shenzhen", KindNAS},
		{"NAS by IP address", csiAttrs(NASCSIDriver, map[string]string{"server": "192.168.0.10"}), "", KindNAS},
		{"NAS without server", csiAttrs(NASCSIDriver, nil), "", KindNAS},
		{"NAS without mount target", csiAttrs(NASCSIDriver, map[string]string{"server": "cn-hangzhou.nas.aliyuncs.com"}), "", KindNAS},
		{"NAS other domain", csiAttrs(NASCSIDriver, map[string]string{"server": "nfs.cn-hangzhou.example.com"}), "", KindNAS},
		{"CSI OSS internal", csiAttrs(OSSCSIDriver, map[string]string{"bucket": "b", "url": "oss-cn-hangzhou-internal.aliyuncs.com"}), "cn-hangzhou", KindOSS},
		{"CSI OSS public", csiAttrs(OSSCSIDriver, map[string]string{"url": "oss-cn-hangzhou.aliyuncs.com"}), "cn-hangzhou", KindOSS},
		{"CSI OSS URL with scheme and bucket", csiAttrs(OSSCSIDriver, map[string]string{"url": "https://my-bucket.oss-ap-southeast-1.aliyuncs.com/"}), "ap-southeast-1", KindOSS},
		{"CSI OSS region-first endpoint", csiAttrs(OSSCSIDriver, map[string]string{"url": "cn-beijing.oss.aliyuncs.com"}), "cn-beijing", KindOSS},
		{"OSS accelerate endpoint", csiAttrs(OSSCSIDriver, map[string]string{"url": "oss-accelerate.aliyuncs.com"}), "", KindOSS},
		{"OSS custom domain", csiAttrs(OSSCSIDriver, map[string]string{"url": "static.example.com"}), "", KindOSS},
		{"OSS without url", csiAttrs(OSSCSIDriver, map[string]string{"bucket": "b"}), "", KindOSS},
		{"FlexVolume OSS", flex(OSSFlexDriver, map[string]string{"bucket": "b", "url": "oss-cn-qingdao-internal.aliyuncs.com"}), "cn-qingdao", KindOSS},
		{"EBS", withAffinity(csi("ebs.csi.aws.com", "vol-1"), in(corev1.LabelTopologyRegion, "us-east-1")), "", ""},
		{"NFS", &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
			NFS: &corev1.NFSVolumeSource{Server: "0cd8b4a576-g.cn-hangzhou.nas.aliyuncs.com"}}}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			region, kind := VolumeRegion(tt.pv)
			if region != tt.wantRegion || kind != tt.wantKind {
				t.Errorf("VolumeRegion = %q, %q; want %q, %q", region, kind, tt.wantRegion, tt.wantKind)
			}
			if Kind(tt.pv) != tt.wantKind {
				t.Errorf("Kind = %q, want %q", Kind(tt.pv), tt.wantKind)
			}
		})
	}
}

func TestLabelRegion(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{corev1.LabelTopologyRegion: "cn-hangzhou", corev1.LabelFailureDomainBetaRegion: "x"}, "cn-hangzhou"},
		{map[string]string{corev1.LabelFailureDomainBetaRegion: "cn-beijing"}, "cn-beijing"},
		{map[string]string{corev1.LabelTopologyZone: "cn-beijing-a"}, ""},
	}
	for _, tt := range tests {
		if got := LabelRegion(tt.labels); got != tt.want {
			t.Errorf("LabelRegion(%v) = %q, want %q", tt.labels, got, tt.want)
		}
	}
}
