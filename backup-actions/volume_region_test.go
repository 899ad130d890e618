package backupactions

import (
	"testing"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

func TestVolumeRegion(t *testing.T) {
	nas := func(server string) *corev1.PersistentVolume {
		return testutil.DiskPV("nas", "nas-1", testutil.WithDriver(diskpv.NASCSIDriver), testutil.WithSize("20Gi"),
			testutil.WithVolumeAttributes(map[string]string{"server": server, "path": "/"}))
	}
	withAnn := func(pv *corev1.PersistentVolume, region string) *corev1.PersistentVolume {
		pv.Annotations = map[string]string{diskpv.AnnVolumeRegion: region, "keep": "me"}
		return pv
	}
	tests := []struct {
		name    string
		pv      *corev1.PersistentVolume
		wantAnn map[string]string // nil = item unchanged
	}{
		{name: "CSI NAS: region of the server",
			pv:      nas("0cd8b4a576-g1234.cn-hangzhou.nas.aliyuncs.com"),
			wantAnn: map[string]string{diskpv.AnnVolumeRegion: "cn-hangzhou"}},
		{name: "extreme NAS",
			pv:      nas("0cd8b4a576-g1234.cn-beijing.extreme.nas.aliyuncs.com"),
			wantAnn: map[string]string{diskpv.AnnVolumeRegion: "cn-beijing"}},
		{name: "FlexVolume NAS",
			pv: func() *corev1.PersistentVolume {
				p := testutil.DiskPV("nas", "x", testutil.AsFlexVolume(), testutil.WithDriver(diskpv.NASFlexDriver))
				p.Spec.FlexVolume.Options = map[string]string{"server": "2564f49129-ysu87.cn-shenzhen.nas.aliyuncs.com", "path": "/k8s"}
				return p
			}(),
			wantAnn: map[string]string{diskpv.AnnVolumeRegion: "cn-shenzhen"}},
		{name: "CSI OSS: region of the endpoint",
			pv: testutil.DiskPV("oss", "oss-1", testutil.WithDriver(diskpv.OSSCSIDriver),
				testutil.WithVolumeAttributes(map[string]string{"bucket": "b", "url": "oss-cn-hangzhou-internal.aliyuncs.com"})),
			wantAnn: map[string]string{diskpv.AnnVolumeRegion: "cn-hangzhou"}},
		{name: "disk with region affinity",
			pv:      testutil.DiskPV("d-1", "d-1", testutil.InZone("cn-hangzhou-h"), testutil.WithAffinity(diskpv.RegionKey, "cn-hangzhou")),
			wantAnn: map[string]string{diskpv.AnnVolumeRegion: "cn-hangzhou"}},
		{name: "existing annotation replaced, others kept",
			pv:      withAnn(nas("0cd8b4a576-g1234.cn-hangzhou.nas.aliyuncs.com"), "cn-beijing"),
			wantAnn: map[string]string{diskpv.AnnVolumeRegion: "cn-hangzhou", "keep": "me"}},
		{name: "stale annotation removed when the PV says nothing",
			pv:      withAnn(nas("192.168.0.10"), "cn-beijing"),
			wantAnn: map[string]string{"keep": "me"}},
		{name: "annotation already right: unchanged",
			pv: withAnn(nas("0cd8b4a576-g1234.cn-hangzhou.nas.aliyuncs.com"), "cn-hangzhou")},
		{name: "disk with zone only: region not guessed",
			pv: testutil.DiskPV("d-1", "d-1", testutil.InZone("cn-hangzhou-h"))},
		{name: "NAS by IP: no annotation",
			pv: nas("192.168.0.10")},
		{name: "OSS custom domain: no annotation",
			pv: testutil.DiskPV("oss", "oss-1", testutil.WithDriver(diskpv.OSSCSIDriver),
				testutil.WithVolumeAttributes(map[string]string{"url": "static.example.com"}))},
		{name: "EBS PV untouched",
			pv: testutil.DiskPV("d-1", "vol-1", testutil.WithDriver("ebs.csi.aws.com"),
				testutil.WithAffinity(corev1.LabelTopologyRegion, "us-east-1"))},
		{name: "EBS PV with the annotation untouched",
			pv: withAnn(testutil.DiskPV("d-1", "vol-1", testutil.WithDriver("ebs.csi.aws.com")), "us-east-1")},
	}
	a := &VolumeRegionAction{pvAction{log: logrus.New()}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig, u := execute(t, a, tc.pv)
			if tc.wantAnn == nil {
				if !equality.Semantic.DeepEqual(orig.Object, u.Object) {
					t.Errorf("item changed: %v", u.Object)
				}
				return
			}
			if got := u.GetAnnotations(); !equality.Semantic.DeepEqual(got, tc.wantAnn) {
				t.Errorf("annotations = %v, want %v", got, tc.wantAnn)
			}
			if !equality.Semantic.DeepEqual(orig.Object["spec"], u.Object["spec"]) || !equality.Semantic.DeepEqual(u.GetLabels(), orig.GetLabels()) {
				t.Error("spec or labels changed")
			}
		})
	}
}

func TestVolumeRegionAppliesTo(t *testing.T) {
	sel, err := (&VolumeRegionAction{}).AppliesTo()
	if err != nil || len(sel.IncludedResources) != 1 || sel.IncludedResources[0] != "persistentvolumes" {
		t.Fatalf("AppliesTo = %+v, %v; want persistentvolumes only", sel, err)
	}
}
