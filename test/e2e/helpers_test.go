package e2e

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	alioss "github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
)

var (
	gvrConfigMaps   = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrSchedules    = schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "schedules"}
	gvrSecrets      = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	gvrServices     = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	gvrPVCs         = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
	gvrPods         = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	gvrPVs          = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumes"}
	gvrDeployments  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrStatefulSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
)

// testContext is a context bounded by the test's deadline (or 10 minutes).
func testContext(t *testing.T) context.Context {
	t.Helper()
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Minute)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-5*time.Second))
	t.Cleanup(cancel)
	return ctx
}

// narrate prints a line of the demo's story (and logs it in tests).
func narrate(t *testing.T, format string, args ...any) {
	t.Helper()
	if demo {
		if strings.HasPrefix(format, "  ") { // a detail of the step above
			fmt.Printf("    "+format+"\n", args...)
		} else {
			fmt.Printf("\n==> "+format+"\n", args...)
		}
		return
	}
	t.Logf(format, args...)
}

// velero runs the CLI and fails the test on error.
func velero(t testing.TB, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := env.Velero(ctx, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// waitPhase waits until a Backup or Restore reaches a final phase and fails the
// test (with `velero describe --details` and the server log tail) unless it is
// want.
func waitPhase(t testing.TB, ctx context.Context, gvr schema.GroupVersionResource, name, want string) *unstructured.Unstructured {
	t.Helper()
	final := map[string]bool{"Completed": true, "PartiallyFailed": true, "Failed": true, "FailedValidation": true}
	var obj *unstructured.Unstructured
	err := stack.Poll(ctx, 5*time.Minute, func() (bool, string, error) {
		if err := env.ServerRunning(); err != nil {
			return false, "", err
		}
		var err error
		obj, err = env.Dynamic.Resource(gvr).Namespace(stack.VeleroNamespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, gvr.Resource + " " + name + " not found yet", nil
		}
		if err != nil {
			return false, "", err
		}
		phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase")
		return final[phase], fmt.Sprintf("%s %s is %q", gvr.Resource, name, phase), nil
	})
	kind := strings.TrimSuffix(gvr.Resource, "s")
	if err != nil {
		t.Fatalf("waiting for %s %s: %v\n%s", kind, name, err, describe(ctx, kind, name))
	}
	phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase")
	if phase != want {
		t.Fatalf("%s %s ended %q, want %q\n%s", kind, name, phase, want, describe(ctx, kind, name))
	}
	return obj
}

func describe(ctx context.Context, kind, name string) string {
	out, err := env.Velero(ctx, kind, "describe", name, "--details")
	if err != nil {
		return err.Error()
	}
	logs, _ := env.Velero(ctx, kind, "logs", name)
	if len(logs) > 6000 {
		logs = logs[len(logs)-6000:]
	}
	return out + "\n--- " + kind + " logs (tail):\n" + logs
}

// bucketKeys lists the keys under prefix through the real OSS SDK, the way a
// user would look into the bucket.
func bucketKeys(t testing.TB, prefix string) []string {
	t.Helper()
	client, err := alioss.New(env.Emulator.OSSURL, stack.AccessKeyID, stack.AccessKeySecret)
	if err != nil {
		t.Fatalf("oss client: %v", err)
	}
	bucket, err := client.Bucket(stack.Bucket)
	if err != nil {
		t.Fatalf("oss bucket: %v", err)
	}
	var keys []string
	marker := ""
	for {
		res, err := bucket.ListObjects(alioss.Prefix(prefix), alioss.Marker(marker), alioss.MaxKeys(1000))
		if err != nil {
			t.Fatalf("listing oss://%s/%s: %v", stack.Bucket, prefix, err)
		}
		for _, o := range res.Objects {
			keys = append(keys, o.Key)
		}
		if !res.IsTruncated {
			break
		}
		marker = res.NextMarker
	}
	sort.Strings(keys)
	return keys
}

// createAll creates objects (typed through the dynamic client) and returns
// them as the API server stored them.
func createAll(t testing.TB, ctx context.Context, objs ...*unstructured.Unstructured) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, o := range objs {
		gvr := gvrOf(t, o)
		created, err := env.Dynamic.Resource(gvr).Namespace(o.GetNamespace()).Create(ctx, o, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
		out = append(out, created)
	}
	return out
}

func gvrOf(t testing.TB, o *unstructured.Unstructured) schema.GroupVersionResource {
	t.Helper()
	switch o.GetKind() {
	case "ConfigMap":
		return gvrConfigMaps
	case "Secret":
		return gvrSecrets
	case "Service":
		return gvrServices
	case "PersistentVolumeClaim":
		return gvrPVCs
	case "Pod":
		return gvrPods
	case "PersistentVolume":
		return gvrPVs
	case "Deployment":
		return gvrDeployments
	case "StatefulSet":
		return gvrStatefulSets
	case "Schedule":
		return gvrSchedules
	}
	t.Fatalf("no resource known for kind %s", o.GetKind())
	return schema.GroupVersionResource{}
}

// createNamespace creates ns and deletes it (with its content) when the test ends.
func createNamespace(t testing.TB, ctx context.Context, ns string) {
	t.Helper()
	_, err := env.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: map[string]string{"e2e": "true"},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace %s: %v", ns, err)
	}
	t.Cleanup(func() {
		if err := env.DeleteNamespace(context.Background(), ns); err != nil {
			t.Errorf("cleanup: deleting namespace %s: %v", ns, err)
		}
	})
}

// compareRestored checks that each original object exists again and equals
// its original field by field, ignoring server-set metadata. Extra ignores are
// field paths like "spec.clusterIP" that the restore legitimately changes.
func compareRestored(t *testing.T, ctx context.Context, originals []*unstructured.Unstructured, ignore ...string) {
	t.Helper()
	for _, orig := range originals {
		gvr := gvrOf(t, orig)
		got, err := env.Dynamic.Resource(gvr).Namespace(orig.GetNamespace()).Get(ctx, orig.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Errorf("restored %s %s/%s: %v", orig.GetKind(), orig.GetNamespace(), orig.GetName(), err)
			continue
		}
		if got.GetUID() == orig.GetUID() {
			t.Errorf("%s %s/%s has its original uid: it was not deleted and restored", orig.GetKind(), orig.GetNamespace(), orig.GetName())
		}
		if v := got.GetLabels()["velero.io/restore-name"]; v == "" {
			t.Errorf("%s %s/%s lacks the velero.io/restore-name label: not created by the restore", orig.GetKind(), orig.GetNamespace(), orig.GetName())
		}
		want, have := stack.Normalize(orig), stack.Normalize(got)
		for _, path := range ignore {
			unstructured.RemoveNestedField(want, strings.Split(path, ".")...)
			unstructured.RemoveNestedField(have, strings.Split(path, ".")...)
		}
		if d := cmp.Diff(want, have); d != "" {
			t.Errorf("restored %s %s/%s differs from the original (-original +restored):\n%s", orig.GetKind(), orig.GetNamespace(), orig.GetName(), d)
		}
	}
}

// readTarball returns the files of a gzipped tar (a Velero backup tarball).
func readTarball(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip: %v", path, err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("reading tar %s: %v", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading %s in %s: %v", h.Name, path, err)
		}
		files[filepath.Clean(h.Name)] = b
	}
}

// decodeItem decodes one item of a backup tarball.
func decodeItem(t *testing.T, b []byte) *unstructured.Unstructured {
	t.Helper()
	item := &unstructured.Unstructured{}
	if err := item.UnmarshalJSON(b); err != nil {
		t.Fatalf("decoding backup item: %v", err)
	}
	return item
}

// assertNoSecretLeak fails if the emulator's access key secret appears in text.
func assertNoSecretLeak(t *testing.T, what, text string) {
	t.Helper()
	if strings.Contains(text, stack.AccessKeySecret) {
		t.Errorf("%s contains the access key secret", what)
	}
}

// assertEqual fails with a field diff if want and have differ.
func assertEqual(t *testing.T, what string, want, have map[string]any) {
	t.Helper()
	if d := cmp.Diff(want, have); d != "" {
		t.Errorf("%s differs from what was expected (-want +got):\n%s", what, d)
	}
}
