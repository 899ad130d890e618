package backupactions

import (
	"testing"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	biav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/backupitemaction/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

// execute runs a backup action on pv and checks what every backup action of
// the bundle must do: no additional items or operations, and the input item
// left as it was. It returns the input and the output item.
func execute(t *testing.T, a biav2.BackupItemAction, pv *corev1.PersistentVolume) (in, out *unstructured.Unstructured) {
	t.Helper()
	item := testutil.Unstructured(pv)
	in = item.DeepCopy()
	got, extra, opID, post, err := a.Execute(item, &velerov1.Backup{})
	if err != nil {
		t.Fatal(err)
	}
	if extra != nil || opID != "" || post != nil {
		t.Errorf("unexpected additional items or operation: %v %q %v", extra, opID, post)
	}
	if !equality.Semantic.DeepEqual(in.Object, item.Object) {
		t.Error("input item modified in place")
	}
	return in, &unstructured.Unstructured{Object: got.UnstructuredContent()}
}
