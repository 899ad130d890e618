package e2e

import (
	"encoding/base64"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
)

// appObjects is a small application: ConfigMaps (text and binary data), a
// Secret and a Deployment, with labels and annotations to carry over.
func appObjects(ns string) []*unstructured.Unstructured {
	u := func(m map[string]any) *unstructured.Unstructured { return &unstructured.Unstructured{Object: m} }
	meta := func(name string) map[string]any {
		return map[string]any{
			"name": name, "namespace": ns,
			"labels":      map[string]any{"app": "shop", "tier": name},
			"annotations": map[string]any{"e2e.alibabacloud.com/note": "kept by the restore: " + name},
		}
	}
	return []*unstructured.Unstructured{
		u(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("settings"),
			"data": map[string]any{"app.properties": "color=blue\nsize=3\n", "empty": "", "unicode": "杭州 ✓"}}),
		u(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("blob"),
			"binaryData": map[string]any{"logo.bin": base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xfe, 0xff})}}),
		u(map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": meta("db"), "type": "Opaque",
			"data": map[string]any{"password": base64.StdEncoding.EncodeToString([]byte("s3cr3t\x00bytes"))}}),
		u(map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("frontend"),
			"spec": map[string]any{
				"replicas": int64(3),
				"selector": map[string]any{"matchLabels": map[string]any{"app": "shop"}},
				"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxSurge": "50%", "maxUnavailable": int64(0)}},
				"template": map[string]any{
					"metadata": map[string]any{"labels": map[string]any{"app": "shop"}},
					"spec": map[string]any{"containers": []any{map[string]any{
						"name": "web", "image": "registry.cn-hangzhou.aliyuncs.com/shop/web:1.2.3",
						"args":      []any{"--color", "blue"},
						"env":       []any{map[string]any{"name": "PASSWORD", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "db", "key": "password"}}}},
						"resources": map[string]any{"limits": map[string]any{"cpu": "500m", "memory": "256Mi"}},
					}}},
				},
			}}),
	}
}

// TestObjectStoreBackupRestore (the ObjectStore round trip and backup
// deletion, ObjectStore only): back up a namespace into the OSS emulator
// through the plugin, check the bucket and the downloaded tarball, restore
// after deleting the namespace and compare every object field by field, read
// the backup logs through a signed URL, and delete the backup from the bucket.
func TestObjectStoreBackupRestore(t *testing.T) {
	ctx := testContext(t)
	const ns, backup, restore = "e2e-objects", "objects-1", "objects-1-restore"
	createNamespace(t, ctx, ns)
	originals := createAll(t, ctx, appObjects(ns)...)

	start := time.Now()
	velero(t, ctx, "backup", "create", backup, "--include-namespaces", ns, "--snapshot-volumes=false")
	waitPhase(t, ctx, stack.Backups, backup, "Completed")
	t.Logf("backup completed in %s", time.Since(start).Round(time.Millisecond))

	// The backup landed in the bucket, under Velero's layout.
	prefix := "backups/" + backup + "/"
	keys := bucketKeys(t, prefix)
	for _, want := range []string{"velero-backup.json", backup + ".tar.gz", backup + "-logs.gz", backup + "-resource-list.json.gz"} {
		if !contains(keys, prefix+want) {
			t.Errorf("bucket lacks %s%s; it has %v", prefix, want, keys)
		}
	}

	// `velero backup download` fetches the tarball through a signed URL, and
	// the tarball holds our objects as they were.
	tarball := filepath.Join(t.TempDir(), backup+".tar.gz")
	velero(t, ctx, "backup", "download", backup, "-o", tarball)
	files := readTarball(t, tarball)
	for _, o := range originals {
		gvr := gvrOf(t, o)
		group := gvr.Resource
		if gvr.Group != "" {
			group += "." + gvr.Group
		}
		name := path.Join("resources", group, "namespaces", ns, o.GetName()+".json")
		b, ok := files[name]
		if !ok {
			t.Errorf("downloaded tarball lacks %s", name)
			continue
		}
		item := decodeItem(t, b)
		for _, field := range []string{"data", "binaryData", "spec"} {
			want, _, _ := unstructured.NestedFieldNoCopy(o.Object, field)
			got, _, _ := unstructured.NestedFieldNoCopy(item.Object, field)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s in the tarball: %s differs (-cluster +tarball):\n%s", name, field, d)
			}
		}
	}

	// `velero backup logs` also reads through a signed URL.
	logs := velero(t, ctx, "backup", "logs", backup)
	if !strings.Contains(logs, "Backed up a total of") && !strings.Contains(logs, "backup completed") {
		t.Errorf("backup logs do not report completion:\n%.2000s", logs)
	}
	if !strings.Contains(logs, ns) {
		t.Errorf("backup logs never mention namespace %s", ns)
	}
	assertNoSecretLeak(t, "backup logs", logs)

	// Delete the application, restore it, and compare field by field.
	if err := env.DeleteNamespace(ctx, ns); err != nil {
		t.Fatalf("deleting namespace %s: %v", ns, err)
	}
	start = time.Now()
	velero(t, ctx, "restore", "create", restore, "--from-backup", backup)
	waitPhase(t, ctx, stack.Restore, restore, "Completed")
	t.Logf("restore completed in %s", time.Since(start).Round(time.Millisecond))
	compareRestored(t, ctx, originals)
	restoreLogs := velero(t, ctx, "restore", "logs", restore)
	assertNoSecretLeak(t, "restore logs", restoreLogs)

	// Deleting the backup removes its objects from the bucket.
	velero(t, ctx, "backup", "delete", backup, "--confirm")
	err := stack.Poll(ctx, 2*time.Minute, func() (bool, string, error) {
		_, err := env.Dynamic.Resource(stack.Backups).Namespace(stack.VeleroNamespace).Get(ctx, backup, metav1.GetOptions{})
		if err == nil {
			return false, "Backup " + backup + " still exists", nil
		}
		if !apierrors.IsNotFound(err) {
			return false, "", err
		}
		left := bucketKeys(t, prefix)
		return len(left) == 0, "bucket still holds " + strings.Join(left, ", "), nil
	})
	if err != nil {
		t.Fatalf("velero backup delete: %v", err)
	}

	serverLog, err := env.ServerLog()
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecretLeak(t, "velero server log", serverLog)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
