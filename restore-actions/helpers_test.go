package restoreactions

import (
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/builder"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

const veleroNS = "velero"

type stsObj = appsv1.StatefulSet

func testLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	return l
}

func newTestEnv(objs ...runtime.Object) (*Env, *fake.Clientset) {
	c := fake.NewClientset(objs...)
	return NewEnv(c, veleroNS), c
}

func testRestore(uid, configName string) *velerov1.Restore {
	r := &velerov1.Restore{ObjectMeta: metav1.ObjectMeta{Namespace: veleroNS, Name: "restore-" + uid, UID: types.UID(uid)}}
	if configName != "" {
		r.Labels = map[string]string{LabelRestoreConfig: configName}
	}
	return r
}

// pluginCM is a cluster-wide ConfigMap for action.
func pluginCM(name, action string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: veleroNS, Name: name, Labels: map[string]string{
			labelPluginConfig: "", action: pluginKindRIA,
		}},
		Data: data,
	}
}

// restoreCM is a per-restore ConfigMap.
func restoreCM(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: veleroNS, Name: name}, Data: data}
}

func storageClass(name, provisioner string, mode storagev1.VolumeBindingMode, isDefault bool) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner}
	if mode != "" {
		sc.VolumeBindingMode = &mode
	}
	if isDefault {
		sc.Annotations = map[string]string{annDefaultStorageClass: "true"}
	}
	return sc
}

func node(name, zone string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelTopologyZone: zone}}}
}

type executor interface {
	Execute(*velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error)
}

func run(t testing.TB, a executor, it *unstructured.Unstructured, r *velerov1.Restore) (*unstructured.Unstructured, error) {
	t.Helper()
	return runFromBackup(t, a, it, it.DeepCopy(), r)
}

// runFromBackup runs a on it, restored from the backed-up item backup.
func runFromBackup(t testing.TB, a executor, it, backup *unstructured.Unstructured, r *velerov1.Restore) (*unstructured.Unstructured, error) {
	t.Helper()
	out, err := a.Execute(&velero.RestoreItemActionExecuteInput{Item: it, ItemFromBackup: backup, Restore: r})
	if err != nil {
		return nil, err
	}
	return out.UpdatedItem.(*unstructured.Unstructured), nil
}

// actionCase is what the table tests of every action share: a fake cluster
// holding objs, an item, the Restore, the expected error and the most API
// calls the action may make.
type actionCase struct {
	objs     []runtime.Object
	item     runtime.Object
	restore  *velerov1.Restore
	wantErr  []string
	maxCalls int
	log      logrus.FieldLogger // testLog() when nil
	backup   runtime.Object     // the backed-up item; item when nil
}

// execute runs the action newAction builds on c.item and returns the item
// before and after. When c expects an error it checks it and returns false;
// otherwise it fails on an error and checks the number of API calls.
func (c actionCase) execute(t *testing.T, newAction func(base) executor) (in, out *unstructured.Unstructured, ok bool) {
	t.Helper()
	env, client := newTestEnv(c.objs...)
	in = testutil.Unstructured(c.item)
	log := c.log
	if log == nil {
		log = testLog()
	}
	backup := in.DeepCopy()
	if c.backup != nil {
		backup = testutil.Unstructured(c.backup)
	}
	out, err := runFromBackup(t, newAction(base{log: log, env: env}), in.DeepCopy(), backup, c.restore)
	if c.wantErr != nil {
		assertErrContains(t, err, c.wantErr...)
		return in, nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if n := len(client.Actions()); n > c.maxCalls {
		t.Errorf("%d API calls, want at most %d: %v", n, c.maxCalls, client.Actions())
	}
	return in, out, true
}

// fromItem converts an action's output back to a typed object.
func fromItem(t testing.TB, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatal(err)
	}
}

func assertSame(t testing.TB, want, got *unstructured.Unstructured) {
	t.Helper()
	if !equality.Semantic.DeepEqual(want.Object, got.Object) {
		t.Errorf("item changed:\nwant %v\ngot  %v", want.Object, got.Object)
	}
}

func assertErrContains(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error containing %q, got nil", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func qty(s string) resource.Quantity { return resource.MustParse(s) }

var stsType = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"}

func pvc(name string, class *string, size string, ann map[string]string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	b := builder.ForPersistentVolumeClaim("app", name)
	if class != nil {
		b = b.StorageClass(*class)
	}
	if size != "" {
		b = b.RequestResource(corev1.ResourceList{corev1.ResourceStorage: qty(size)})
	}
	p := b.Result()
	p.Annotations = ann
	p.Spec.AccessModes = modes
	return p
}

// rwo gives a PV the access mode of disk PVs.
var rwo = testutil.WithAccessModes(corev1.ReadWriteOnce)

func statefulSet(templates ...corev1.PersistentVolumeClaim) *stsObj {
	s := &stsObj{}
	s.TypeMeta = stsType
	s.ObjectMeta = metav1.ObjectMeta{Namespace: "app", Name: "web"}
	s.Spec.VolumeClaimTemplates = templates
	return s
}

func template(name string, class *string, size string, modes ...corev1.PersistentVolumeAccessMode) corev1.PersistentVolumeClaim {
	p := pvc(name, class, size, nil, modes...)
	p.TypeMeta = metav1.TypeMeta{}
	p.Namespace = ""
	return *p
}

// warnings returns the messages of the warnings hook recorded.
func warnings(hook *test.Hook) []string {
	var w []string
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.WarnLevel {
			w = append(w, e.Message)
		}
	}
	return w
}
