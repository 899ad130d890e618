package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
)

// exampleObjects reads the objects of one file of the repository's
// examples/ (YAML documents separated by "---"), and deletes them when the
// test ends.
func exampleObjects(t *testing.T, file string) []*unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, doc := range bytes.Split(raw, []byte("\n---\n")) {
		m := map[string]any{}
		if err := yaml.UnmarshalStrict(doc, &m); err != nil {
			t.Fatalf("examples/%s: %v", file, err)
		}
		if len(m) == 0 {
			continue
		}
		o := &unstructured.Unstructured{Object: m}
		out = append(out, o)
		t.Cleanup(func() {
			_ = env.Dynamic.Resource(gvrOf(t, o)).Namespace(o.GetNamespace()).Delete(context.Background(), o.GetName(), metav1.DeleteOptions{})
		})
	}
	if len(out) == 0 {
		t.Fatalf("examples/%s holds no object", file)
	}
	return out
}

// TestExampleSchedules applies examples/schedule.yaml and waits for the
// stock Velero server to validate each Schedule: a cron expression it cannot
// parse, or a location that does not exist, ends in FailedValidation.
func TestExampleSchedules(t *testing.T) {
	ctx := testContext(t)
	for _, s := range createAll(t, ctx, exampleObjects(t, "schedule.yaml")...) {
		name := s.GetName()
		var phase string
		err := stack.Poll(ctx, time.Minute, func() (bool, string, error) {
			obj, err := env.Dynamic.Resource(gvrSchedules).Namespace(stack.VeleroNamespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			phase, _, _ = unstructured.NestedString(obj.Object, "status", "phase")
			return phase != "" && phase != "New", "schedule " + name + " is " + phase, nil
		})
		if err != nil || phase != "Enabled" {
			t.Errorf("schedule %s: phase %q, err %v; want Enabled\n%s", name, phase, err, describe(ctx, "schedule", name))
			continue
		}
		narrate(t, "schedule %s (%s) validated by Velero: Enabled", name, s.Object["spec"].(map[string]any)["schedule"])
	}
}
