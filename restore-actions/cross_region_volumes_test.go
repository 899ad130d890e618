package restoreactions

import (
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

func regionNode(name, region string) *corev1.Node {
	n := node(name, region+"-a")
	n.Labels[corev1.LabelTopologyRegion] = region
	return n
}

func TestCrossRegionVolumes(t *testing.T) {
	recorded := func(pv *corev1.PersistentVolume, region string) *corev1.PersistentVolume {
		pv.Annotations = map[string]string{diskpv.AnnVolumeRegion: region}
		return pv
	}
	nas := func(region string) *corev1.PersistentVolume {
		return recorded(testutil.DiskPV("nas-pv", "nas-1", testutil.WithDriver(diskpv.NASCSIDriver), testutil.WithSize("20Gi"),
			testutil.WithVolumeAttributes(map[string]string{"server": "0cd8b4a576-g1234." + region + ".nas.aliyuncs.com", "path": "/"})), region)
	}
	oss := recorded(testutil.DiskPV("oss-pv", "oss-1", testutil.WithDriver(diskpv.OSSCSIDriver),
		testutil.WithVolumeAttributes(map[string]string{"bucket": "my-bucket", "url": "oss-cn-hangzhou-internal.aliyuncs.com"})), "cn-hangzhou")
	retain := func(pv *corev1.PersistentVolume) *corev1.PersistentVolume {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
		return pv
	}
	disk := func() *corev1.PersistentVolume {
		return testutil.DiskPV("disk-pv", "d-bp1shared", testutil.InZone("cn-hangzhou-h"), testutil.WithSize("20Gi"), rwo)
	}
	beijing := []runtime.Object{regionNode("n1", "cn-beijing"), regionNode("n2", "cn-beijing")}
	hangzhou := []runtime.Object{regionNode("n1", "cn-hangzhou")}
	with := func(objs []runtime.Object, more ...runtime.Object) []runtime.Object {
		return append(append([]runtime.Object{}, objs...), more...)
	}

	tests := []struct {
		name     string
		objs     []runtime.Object
		config   string
		item     runtime.Object
		restored func(*corev1.PersistentVolume) // what Velero did before the action (a snapshot restore)
		wantErr  []string
		wantWarn string
		maxCalls int
	}{
		{name: "NAS into another region fails", objs: beijing, item: nas("cn-hangzhou"),
			wantErr: []string{"PV nas-pv", "NAS", "cn-hangzhou", "cn-beijing", MsgCrossRegionUnsupported,
				"resource modifier", "file-system backup", KeyAllowCrossRegionVolumes}},
		{name: "OSS into another region fails", objs: beijing, item: oss,
			wantErr: []string{"PV oss-pv", "OSS", "bucket my-bucket", MsgCrossRegionUnsupported, "url"}},
		{name: "NAS in the same region passes", objs: hangzhou, item: nas("cn-hangzhou"), maxCalls: 1},
		{name: "NAS allowed across regions per restore: warning", config: "mig",
			objs: with(beijing, restoreCM("mig", map[string]string{KeyAllowCrossRegionVolumes: "true"})),
			item: nas("cn-hangzhou"), wantWarn: KeyAllowCrossRegionVolumes, maxCalls: 2},
		{name: "NAS allowed by the cluster-wide ConfigMap",
			objs: with(beijing, pluginCM("crv", NameCrossRegionVolumes, map[string]string{KeyAllowCrossRegionVolumes: "true"})),
			item: nas("cn-hangzhou"), wantWarn: "cn-beijing", maxCalls: 2},
		{name: "explicitly not allowed", config: "mig",
			objs: with(beijing, restoreCM("mig", map[string]string{KeyAllowCrossRegionVolumes: "false"})),
			item: nas("cn-hangzhou"), wantErr: []string{MsgCrossRegionUnsupported}},
		{name: "malformed setting",
			objs:    with(beijing, pluginCM("crv", NameCrossRegionVolumes, map[string]string{KeyAllowCrossRegionVolumes: "yes please"})),
			item:    nas("cn-hangzhou"),
			wantErr: []string{"ConfigMap velero/crv", KeyAllowCrossRegionVolumes}},
		{name: "no node names a region: passes", objs: []runtime.Object{node("n1", "cn-beijing-a")}, item: nas("cn-hangzhou"), maxCalls: 1},
		{name: "NAS without the annotation passes, no API call", objs: beijing, item: func() runtime.Object {
			p := nas("cn-hangzhou")
			p.Annotations = nil
			return p
		}(), maxCalls: 0},
		{name: "disk PV across regions is not refused, no API call", objs: beijing,
			item: recorded(disk(), "cn-hangzhou"), maxCalls: 0},
		{name: "EBS PV with an annotation untouched, no API call", objs: beijing,
			item: recorded(testutil.DiskPV("ebs", "vol-1", testutil.WithDriver("ebs.csi.aws.com")), "us-east-1"), maxCalls: 0},
		{name: "retained disk restored as it is: warning", objs: hangzhou,
			item: retain(disk()), wantWarn: "d-bp1shared", maxCalls: 1},
		{name: "retained disk restored as it is, failOnSharedDisk", config: "mig",
			objs:    with(hangzhou, restoreCM("mig", map[string]string{KeyFailOnSharedDisk: "true"})),
			item:    retain(disk()),
			wantErr: []string{"PV disk-pv", "d-bp1shared", "force-detaches", KeyFailOnSharedDisk}},
		{name: "retained disk restored from a snapshot passes, no API call", config: "mig",
			objs: with(hangzhou, restoreCM("mig", map[string]string{KeyFailOnSharedDisk: "true"})),
			item: retain(disk()), restored: func(p *corev1.PersistentVolume) { p.Spec.CSI.VolumeHandle = "d-bp1new" }, maxCalls: 0},
		{name: "disk with reclaim policy Delete passes, no API call", config: "mig",
			objs: with(hangzhou, restoreCM("mig", map[string]string{KeyFailOnSharedDisk: "true"})),
			item: func() runtime.Object {
				p := disk()
				p.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
				return p
			}(), maxCalls: 0},
		{name: "retained FlexVolume disk restored as it is: warning",
			item: retain(testutil.DiskPV("flex", "d-flex1", testutil.AsFlexVolume())), wantWarn: "d-flex1", maxCalls: 1},
		{name: "retained NAS PV is not a shared disk, no API call",
			item: retain(testutil.DiskPV("nas", "nas-1", testutil.WithDriver(diskpv.NASCSIDriver))), maxCalls: 0},
		{name: "PVC untouched", item: pvc("c", ptr("x"), "20Gi", nil), maxCalls: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, client := newTestEnv(tc.objs...)
			logger, hook := test.NewNullLogger()
			logger.SetLevel(logrus.InfoLevel)
			a := &CrossRegionVolumesAction{base{log: logger, env: env}}
			backedUp := testutil.Unstructured(tc.item)
			item := backedUp.DeepCopy()
			if tc.restored != nil {
				pv := new(corev1.PersistentVolume)
				fromItem(t, item, pv)
				tc.restored(pv)
				item = testutil.Unstructured(pv)
			}
			in := item.DeepCopy()
			out, err := a.Execute(&velero.RestoreItemActionExecuteInput{Item: item, ItemFromBackup: backedUp, Restore: testRestore("r1", tc.config)})
			if tc.wantErr != nil {
				assertErrContains(t, err, tc.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := len(client.Actions()); n > tc.maxCalls {
				t.Errorf("%d API calls, want at most %d: %v", n, tc.maxCalls, client.Actions())
			}
			assertSame(t, in, testutil.Unstructured(out.UpdatedItem.(runtime.Object)))
			var warnings []string
			for _, e := range hook.AllEntries() {
				if e.Level == logrus.WarnLevel {
					warnings = append(warnings, e.Message)
				}
			}
			switch {
			case tc.wantWarn == "" && len(warnings) > 0:
				t.Errorf("unexpected warnings: %q", warnings)
			case tc.wantWarn != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tc.wantWarn)):
				t.Errorf("warnings = %q, want one naming %q", warnings, tc.wantWarn)
			}
		})
	}
}

// One node listing serves every PV of a restore, and the zones too.
func TestCrossRegionVolumesListNodesOnce(t *testing.T) {
	env, client := newTestEnv(regionNode("n1", "cn-hangzhou"))
	a := &CrossRegionVolumesAction{base{log: testLog(), env: env}}
	r := testRestore("r1", "")
	for _, name := range []string{"a", "b"} {
		pv := testutil.DiskPV(name, name, testutil.WithDriver(diskpv.NASCSIDriver),
			testutil.WithVolumeAttributes(map[string]string{"server": "x-1.cn-hangzhou.nas.aliyuncs.com"}))
		pv.ObjectMeta.Annotations = map[string]string{diskpv.AnnVolumeRegion: "cn-hangzhou"}
		if _, err := run(t, a, testutil.Unstructured(pv), r); err != nil {
			t.Fatal(err)
		}
	}
	zones, err := env.forRestore(r).nodeZones(t.Context())
	if err != nil || !zones["cn-hangzhou-a"] {
		t.Fatalf("zones = %v, %v", zones, err)
	}
	if n := len(client.Actions()); n != 1 {
		t.Errorf("%d API calls, want 1 node listing: %v", n, client.Actions())
	}
}
