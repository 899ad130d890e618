package restoreactions

import (
	"fmt"
	"testing"

	riav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/restoreitemaction/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

func TestInitializers(t *testing.T) {
	want := map[string]string{
		NameImageRegistryMapping: "pods,deployments.apps,statefulsets.apps,daemonsets.apps,replicasets.apps,replicationcontrollers,jobs.batch,cronjobs.batch",
		NameDiskMinimumSize:      "persistentvolumeclaims,persistentvolumes,statefulsets.apps",
		NameStorageClassMapping:  "persistentvolumeclaims,persistentvolumes,statefulsets.apps",
		NameSLBListeners:         "services",
		NameFlexVolumeToCSI:      "persistentvolumes,persistentvolumeclaims",
		NameCrossRegionVolumes:   "persistentvolumes",
		NameIngressMapping:       "ingresses.networking.k8s.io",
	}
	inits := Initializers()
	if len(inits) != len(want) {
		t.Fatalf("%d initializers, want %d", len(inits), len(want))
	}
	for name, init := range inits {
		impl, err := init(testLog())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		a, ok := impl.(riav2.RestoreItemAction)
		if !ok {
			t.Fatalf("%s: %T is not a v2 RestoreItemAction", name, impl)
		}
		if a.Name() != name {
			t.Errorf("Name() = %s, want %s", a.Name(), name)
		}
		sel, err := a.AppliesTo()
		if err != nil || joined(sel.IncludedResources) != want[name] {
			t.Errorf("%s AppliesTo = %v, %v; want %s", name, sel.IncludedResources, err, want[name])
		}
		if _, err := a.Progress("op", nil); err == nil {
			t.Errorf("%s: Progress should report that async operations are not supported", name)
		}
		if ready, err := a.AreAdditionalItemsReady(nil, nil); !ready || err != nil {
			t.Errorf("%s: AreAdditionalItemsReady = %v, %v", name, ready, err)
		}
	}
}

// Items with nothing to do are handled even without any cluster access: the
// client is made only when an action needs to read the cluster.
func TestNothingToDoNeedsNoCluster(t *testing.T) {
	env := &Env{Namespace: veleroNS, restores: map[types.UID]*restoreState{},
		client: func() (kubernetes.Interface, error) { return nil, fmt.Errorf("no cluster") }}
	b := base{log: testLog(), env: env}
	ebs := testutil.DiskPV("pv", "vol-1", testutil.WithDriver("ebs.csi.aws.com"), testutil.WithSize("1Gi"), rwo)
	cases := []struct {
		a    executor
		item runtime.Object
	}{
		{&DiskMinimumSizeAction{b}, ebs},
		{&StorageClassMappingAction{b}, testutil.DiskPV("pv", "vol-1", testutil.WithSize("1Gi"), rwo)},
		{&FlexVolumeToCSIAction{b}, ebs},
		{&CrossRegionVolumesAction{b}, ebs},
		{&CrossRegionVolumesAction{b}, testutil.DiskPV("pv", "d-1", testutil.WithSize("20Gi"), rwo)},
		{&ImageRegistryMappingAction{b}, &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}}},
		{&SLBListenersAction{b}, service(corev1.ServiceTypeClusterIP, nil, nil)},
		{&IngressMappingAction{b}, ingress("", nil, false)},
	}
	for _, c := range cases {
		in := testutil.Unstructured(c.item)
		out, err := run(t, c.a, in.DeepCopy(), testRestore("r", "cfg"))
		if err != nil {
			t.Errorf("%T: %v", c.a, err)
			continue
		}
		assertSame(t, in, out)
	}
	// And an item that needs the cluster reports why it cannot read it.
	_, err := run(t, &DiskMinimumSizeAction{b}, testutil.Unstructured(testutil.DiskPV("pv", "vol-1", testutil.WithSize("1Gi"), rwo)), testRestore("r", ""))
	assertErrContains(t, err, "no cluster")
}
