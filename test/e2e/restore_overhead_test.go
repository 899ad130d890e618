package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
)

// The resource mix of the restore-overhead benchmark:
// 2,000 objects in one namespace.
const (
	overheadConfigMaps  = 700
	overheadSecrets     = 500
	overheadDeployments = 300
	overheadLBServices  = 80 // reuse an SLB; each takes a ClusterIP of the /24 range, so few
	overheadHeadless    = 220
	overheadClaims      = 200 // Alibaba disk class, 10Gi (raised to 20Gi by diskMinimumSize)
	overheadTotal       = overheadConfigMaps + overheadSecrets + overheadDeployments + overheadLBServices + overheadHeadless + overheadClaims
)

// BenchmarkRestoreOverhead measures the wall time of a stock Velero restore
// of 2,000 resources (ConfigMaps, Secrets, Deployments, Services of which 80
// LoadBalancers reuse an SLB, PVCs of an Alibaba disk StorageClass) with the
// bundle's item actions installed against without them (target ≤ 1.15×).
//
// "With" is the velero server loading the plugin binary built from this
// repository. "Without" is the same server restarted on a plugin directory
// whose binary is built from the same code with the noitemactions build tag,
// which swaps item_actions.go for no_item_actions.go, registering none: the
// BackupStorageLocation still needs the ObjectStore, and Velero has no flag
// to disable one plugin's actions. Both restores are the same command on the
// same backup, into fresh namespaces, with the same per-restore ConfigMap
// (registry and StorageClass mappings), so the "with" run does the actions'
// real work: rewritten images, raised and remapped claims, adjusted SLB
// annotations. Runs alternate A, B, A, B (E2E_BENCH_ROUNDS rounds, default
// 3), the server restarted before each; each time is from the Restore's
// creation to its Completed phase. The ratio is the median of the per-round
// ratios. E2E_BENCH_REPORT names a Markdown file to write the section to.
//
//	hack/e2e.sh -run '^$' -bench RestoreOverhead -benchtime 1x
func BenchmarkRestoreOverhead(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	rounds := benchRounds(b)
	const srcNS, backup, cfName = "e2e-overhead", "overhead", "overhead"

	buildStart := time.Now()
	withoutDir, err := env.BuildPluginVariant(ctx, "storage-only", "noitemactions")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("built the storage-only plugin in %s", time.Since(buildStart).Round(time.Millisecond))
	// Whatever happens, leave the stack on the full plugin for later tests.
	defer func() {
		if err := env.RestartVeleroServer(context.Background(), ""); err != nil {
			b.Errorf("restarting the velero server on the full plugin: %v", err)
		}
	}()

	for _, sc := range []string{alltypeClass, "alicloud-disk-efficiency"} {
		if err := env.Apply(ctx, gvrStorageClasses, u(map[string]any{
			"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": map[string]any{"name": sc},
			"provisioner": csiDiskDriver, "parameters": map[string]any{"type": "cloud_essd,cloud_ssd,cloud_efficiency"},
			"reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
		})); err != nil {
			b.Fatal(err)
		}
	}
	_ = env.DeleteNamespace(ctx, srcNS) // left by an interrupted run
	if _, err := env.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: srcNS}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.DeleteNamespace(context.Background(), srcNS) }()
	createStart := time.Now()
	if err := createParallel(ctx, overheadObjects(srcNS)); err != nil {
		b.Fatal(err)
	}
	b.Logf("created %d objects in %s", overheadTotal, time.Since(createStart).Round(time.Millisecond))

	if _, err := env.Velero(ctx, "backup", "create", backup, "--include-namespaces", srcNS, "--snapshot-volumes=false"); err != nil {
		b.Fatal(err)
	}
	defer func() { _, _ = env.Velero(context.Background(), "backup", "delete", backup, "--confirm") }()
	if _, err := waitFinal(ctx, stack.Backups, backup, "Completed"); err != nil {
		b.Fatal(err)
	}
	cm := u(map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": cfName, "namespace": stack.VeleroNamespace},
		"data": map[string]any{
			"imageRegistryMapping": registryMap,
			"storageClassMapping":  "alicloud-disk-efficiency: " + alltypeClass + "\n",
		}})
	if err := env.Apply(ctx, gvrConfigMaps, cm); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = env.Kube.CoreV1().ConfigMaps(stack.VeleroNamespace).Delete(context.Background(), cfName, metav1.DeleteOptions{})
	}()

	variants := []struct {
		name, pluginDir string
		actions         bool
	}{{"with-actions", "", true}, {"without-actions", withoutDir, false}}
	times := map[string][]time.Duration{}
	var ratios []float64
	for round := 1; round <= rounds; round++ {
		for _, v := range variants {
			if err := env.RestartVeleroServer(ctx, v.pluginDir); err != nil {
				b.Fatalf("round %d, %s: %v", round, v.name, err)
			}
			dst := fmt.Sprintf("e2e-overhead-%s-%d", strings.TrimSuffix(v.name, "-actions"), round)
			restore := "overhead-" + dst[len("e2e-overhead-"):]
			d, err := timedRestore(ctx, backup, restore, srcNS, dst, cfName)
			if err != nil {
				b.Fatalf("round %d, %s: %v", round, v.name, err)
			}
			if err := checkOverheadRestore(ctx, dst, v.actions); err != nil {
				b.Fatalf("round %d, %s: %v", round, v.name, err)
			}
			// Also on stderr at once: a benchmark's log shows only at its end.
			fmt.Fprintf(os.Stderr, "restore overhead: round %d: %-15s %s\n", round, v.name, d.Round(time.Millisecond))
			b.Logf("round %d: %-15s %s", round, v.name, d.Round(time.Millisecond))
			times[v.name] = append(times[v.name], d)
			if err := env.DeleteNamespace(ctx, dst); err != nil {
				b.Fatalf("deleting %s: %v", dst, err)
			}
			_ = env.Dynamic.Resource(stack.Restore).Namespace(stack.VeleroNamespace).Delete(ctx, restore, metav1.DeleteOptions{})
		}
		w, wo := times["with-actions"][round-1], times["without-actions"][round-1]
		ratios = append(ratios, w.Seconds()/wo.Seconds())
	}
	medWith, medWithout, medRatio := median(secs(times["with-actions"])), median(secs(times["without-actions"])), median(ratios)
	b.ReportMetric(medWith, "with-s")
	b.ReportMetric(medWithout, "without-s")
	b.ReportMetric(medRatio, "ratio")
	b.Logf("median with %.2fs, without %.2fs, ratio %.3f (target ≤ 1.15: %v)", medWith, medWithout, medRatio, medRatio <= 1.15)
	if path := os.Getenv("E2E_BENCH_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(overheadReport(times, ratios, medRatio)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// overheadObjects is the benchmark's 2,000 objects in ns.
func overheadObjects(ns string) []*unstructured.Unstructured {
	meta := func(name string) map[string]any {
		return map[string]any{"name": name, "namespace": ns, "labels": map[string]any{"app": "overhead", "item": name}}
	}
	payload := strings.Repeat("x", 512)
	var objs []*unstructured.Unstructured
	for i := range overheadConfigMaps {
		objs = append(objs, u(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(fmt.Sprintf("cm-%04d", i)),
			"data": map[string]any{"settings": fmt.Sprintf("index=%d\n%s\n", i, payload)}}))
	}
	for i := range overheadSecrets {
		objs = append(objs, u(map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": meta(fmt.Sprintf("secret-%04d", i)),
			"type": "Opaque", "stringData": map[string]any{"token": fmt.Sprintf("token-%d-%s", i, payload[:64])}}))
	}
	for i := range overheadDeployments {
		name := fmt.Sprintf("deploy-%04d", i)
		objs = append(objs, u(map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name),
			"spec": map[string]any{
				"replicas": int64(2),
				"selector": map[string]any{"matchLabels": map[string]any{"item": name}},
				"template": map[string]any{
					"metadata": map[string]any{"labels": map[string]any{"item": name}},
					"spec": map[string]any{"containers": []any{map[string]any{
						"name": "app", "image": "anolis-registry.cn-zhangjiakou.cr.aliyuncs.com/openanolis/nginx:1.14.1-8.6",
						"ports": []any{map[string]any{"containerPort": int64(80)}},
					}}},
				},
			}}))
	}
	port := []any{map[string]any{"name": "http", "port": int64(80), "targetPort": int64(8080), "protocol": "TCP"}}
	for i := range overheadLBServices {
		m := meta(fmt.Sprintf("lb-%04d", i))
		m["annotations"] = map[string]any{
			"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id":                       fmt.Sprintf("lb-bp1overhead%04d", i),
			"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-force-override-listeners": "true",
		}
		objs = append(objs, u(map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": m,
			"spec": map[string]any{"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false,
				"selector": map[string]any{"app": "overhead"}, "ports": port}}))
	}
	for i := range overheadHeadless {
		objs = append(objs, u(map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta(fmt.Sprintf("svc-%04d", i)),
			"spec": map[string]any{"clusterIP": "None", "selector": map[string]any{"app": "overhead"}, "ports": port}}))
	}
	for i := range overheadClaims {
		class := alltypeClass
		if i%2 == 1 {
			class = "alicloud-disk-efficiency" // remapped by storageClassMapping
		}
		objs = append(objs, u(map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta(fmt.Sprintf("data-%04d", i)),
			"spec": map[string]any{"accessModes": []any{"ReadWriteOnce"}, "storageClassName": class,
				"resources": map[string]any{"requests": map[string]any{"storage": "10Gi"}}}}))
	}
	return objs
}

// createParallel creates objs with a few workers on a client without the
// stack's rate limit (setup only; not timed).
func createParallel(ctx context.Context, objs []*unstructured.Unstructured) error {
	cfg := *env.Config
	cfg.QPS, cfg.Burst = 1000, 2000
	client, err := dynamic.NewForConfig(&cfg)
	if err != nil {
		return err
	}
	kinds := map[string]string{"ConfigMap": "configmaps", "Secret": "secrets", "Service": "services",
		"PersistentVolumeClaim": "persistentvolumeclaims", "Deployment": "deployments"}
	work := make(chan *unstructured.Unstructured)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				gvr := gvrConfigMaps.GroupVersion().WithResource(kinds[o.GetKind()])
				if o.GetKind() == "Deployment" {
					gvr = gvrDeployments
				}
				if _, err := client.Resource(gvr).Namespace(o.GetNamespace()).Create(ctx, o, metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("creating %s %s: %w", o.GetKind(), o.GetName(), err)
					return
				}
			}
		}()
	}
	var first error
loop:
	for _, o := range objs {
		select {
		case work <- o:
		case first = <-errs:
			break loop
		}
	}
	close(work)
	wg.Wait()
	if first == nil {
		select {
		case first = <-errs:
		default:
		}
	}
	return first
}

// timedRestore creates a Restore of backup mapping src to dst (the same
// object `velero restore create --from-backup B --namespace-mappings src:dst
// --labels alibabacloud.com/restore-config=CF` makes) and returns the time
// from its creation until the server marks it Completed.
func timedRestore(ctx context.Context, backup, name, src, dst, cf string) (time.Duration, error) {
	r := u(map[string]any{"apiVersion": "velero.io/v1", "kind": "Restore",
		"metadata": map[string]any{"name": name, "namespace": stack.VeleroNamespace, "labels": map[string]any{labelRestoreCf: cf}},
		"spec": map[string]any{"backupName": backup, "namespaceMapping": map[string]any{src: dst},
			"includedNamespaces": []any{src}}})
	start := time.Now()
	if _, err := env.Dynamic.Resource(stack.Restore).Namespace(stack.VeleroNamespace).Create(ctx, r, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	obj, err := waitFinal(ctx, stack.Restore, name, "Completed")
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	restored, _, _ := unstructured.NestedInt64(obj.Object, "status", "progress", "itemsRestored")
	if restored < overheadTotal {
		return 0, fmt.Errorf("restore %s restored %d items, want at least %d", name, restored, overheadTotal)
	}
	return d, nil
}

// waitFinal polls (every 50ms, so polling adds little to a timed restore) a
// Backup or Restore until a final phase, and fails unless it is want.
func waitFinal(ctx context.Context, gvr schema.GroupVersionResource, name, want string) (*unstructured.Unstructured, error) {
	final := map[string]bool{"Completed": true, "PartiallyFailed": true, "Failed": true, "FailedValidation": true}
	ri := env.Dynamic.Resource(gvr).Namespace(stack.VeleroNamespace)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		if err := env.ServerRunning(); err != nil {
			return nil, err
		}
		obj, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
		if err == nil {
			phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase")
			if final[phase] {
				if phase != want {
					kind := strings.TrimSuffix(gvr.Resource, "s")
					return nil, fmt.Errorf("%s %s ended %q, want %q\n%s", kind, name, phase, want, describe(ctx, kind, name))
				}
				return obj, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s %s: no final phase after 10m", gvr.Resource, name)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkOverheadRestore proves each run restored everything and that the
// actions ran exactly when installed: images remapped, claims raised to 20Gi
// and moved off the mapped class, SLB listeners no longer force-overridden.
func checkOverheadRestore(ctx context.Context, ns string, actions bool) error {
	counts := map[string]int{}
	for _, gvr := range []schema.GroupVersionResource{gvrConfigMaps, gvrSecrets, gvrDeployments, gvrServices, gvrPVCs} {
		list, err := env.Dynamic.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=overhead"})
		if err != nil {
			return err
		}
		counts[gvr.Resource] = len(list.Items)
	}
	want := map[string]int{"configmaps": overheadConfigMaps, "secrets": overheadSecrets, "deployments": overheadDeployments,
		"services": overheadLBServices + overheadHeadless, "persistentvolumeclaims": overheadClaims}
	for k, n := range want {
		if counts[k] != n {
			return fmt.Errorf("namespace %s has %d %s after the restore, want %d", ns, counts[k], k, n)
		}
	}
	d, err := env.Kube.AppsV1().Deployments(ns).Get(ctx, "deploy-0000", metav1.GetOptions{})
	if err != nil {
		return err
	}
	image := d.Spec.Template.Spec.Containers[0].Image
	pvc, err := env.Kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-0001", metav1.GetOptions{})
	if err != nil {
		return err
	}
	size, class := pvc.Spec.Resources.Requests.Storage().String(), ptrStr(pvc.Spec.StorageClassName)
	svc, err := env.Kube.CoreV1().Services(ns).Get(ctx, "lb-0000", metav1.GetOptions{})
	if err != nil {
		return err
	}
	force := svc.Annotations["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-force-override-listeners"]
	got := fmt.Sprintf("image %s, claim %s of class %s, force-override-listeners %q", image, size, class, force)
	var expect string
	if actions {
		expect = fmt.Sprintf("image %s, claim 20Gi of class %s, force-override-listeners %q",
			"registry.cn-beijing.aliyuncs.com/acr-e2e/nginx:1.14.1-8.6", alltypeClass, "false")
	} else {
		expect = fmt.Sprintf("image %s, claim 10Gi of class alicloud-disk-efficiency, force-override-listeners %q",
			"anolis-registry.cn-zhangjiakou.cr.aliyuncs.com/openanolis/nginx:1.14.1-8.6", "true")
	}
	if got != expect {
		return fmt.Errorf("restored objects in %s (actions installed: %v): %s, want %s", ns, actions, got, expect)
	}
	return nil
}

func secs(ds []time.Duration) []float64 {
	var out []float64
	for _, d := range ds {
		out = append(out, d.Seconds())
	}
	return out
}

// benchRounds is E2E_BENCH_ROUNDS, the rounds of the e2e benchmarks (default 3).
func benchRounds(b *testing.B) int {
	v := os.Getenv("E2E_BENCH_ROUNDS")
	if v == "" {
		return 3
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("E2E_BENCH_ROUNDS=%q: want a positive integer", v)
	}
	return n
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// overheadReport is section 6 of bench/REPORT.md.
func overheadReport(times map[string][]time.Duration, ratios []float64, med float64) string {
	var w strings.Builder
	w.WriteString("## 6. Restore overhead of the bundle's restore item actions\n\n")
	fmt.Fprintf(&w, "Run of %s by `BenchmarkRestoreOverhead` (test/e2e): stock Velero v1.18.3 server restoring one backup of %d resources "+
		"(%d ConfigMaps, %d Secrets, %d Deployments, %d Services of which %d LoadBalancers reuse an SLB, %d PVCs of Alibaba disk classes) "+
		"into a fresh namespace, timed from the Restore's creation to Completed. *With*: the plugin binary of this repository. "+
		"*Without*: the same server restarted on a binary built from the same code minus the item-action registrations "+
		"(built with `-tags noitemactions`: `no_item_actions.go` in place of `item_actions.go`; the ObjectStore is still needed). Same restore, same per-restore ConfigMap "+
		"(registry and StorageClass mappings), so with the actions every run rewrites 300 images, raises 200 claims to 20Gi, remaps the class of 100 "+
		"and adjusts 80 LoadBalancer Services (checked after each run, as is their absence without); the server logs at debug "+
		"level as in the e2e stack; runs alternate with, without, with, without…, the server restarted before each.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), overheadTotal, overheadConfigMaps, overheadSecrets, overheadDeployments,
		overheadLBServices+overheadHeadless, overheadLBServices, overheadClaims)
	w.WriteString("| round | with actions s | without s | ratio |\n|---|---|---|---|\n")
	for i, r := range ratios {
		fmt.Fprintf(&w, "| %d | %.2f | %.2f | %.3f |\n", i+1, times["with-actions"][i].Seconds(), times["without-actions"][i].Seconds(), r)
	}
	verdict := "met"
	if med > 1.15 {
		verdict = "NOT met"
	}
	fmt.Fprintf(&w, "\nMedian ratio %.3f (target ≤ 1.15×): %s.\n", med, verdict)
	return w.String()
}
