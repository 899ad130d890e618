package grpc_test

import (
	"encoding/json"
	"strings"
	"testing"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/builder"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/plugintest"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

const diskProvisioner = "diskplugin.csi.alibabacloud.com"

// TestRestoreItemActionsOverGRPC runs every restore item action of the
// built binary through Velero's plugin client, with its settings read from
// ConfigMaps through client-go, the way a Velero server runs them.
func TestRestoreItemActionsOverGRPC(t *testing.T) {
	waitForFirstConsumer := storagev1.VolumeBindingWaitForFirstConsumer
	api := &kubeAPI{
		configMaps: []map[string]any{
			testutil.Unstructured(&corev1.ConfigMap{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: "velero", Labels: map[string]string{
					"velero.io/plugin-config": "", "alibabacloud.com/image-registry-mapping": "RestoreItemAction"}},
				Data: map[string]string{"imageRegistryMapping": "docker.io/library/: registry.cn-beijing.aliyuncs.com/my-registry/\n"},
			}).Object,
			testutil.Unstructured(&corev1.ConfigMap{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: "slb", Namespace: "velero", Labels: map[string]string{
					"velero.io/plugin-config": "", "alibabacloud.com/slb-listeners": "RestoreItemAction"}},
				Data: map[string]string{"loadBalancerIDMapping": "lb-2zeold: lb-bp1new\n", "forceOverrideListeners": "false"},
			}).Object,
			testutil.Unstructured(&corev1.ConfigMap{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: "ingress", Namespace: "velero", Labels: map[string]string{
					"velero.io/plugin-config": "", "alibabacloud.com/ingress-mapping": "RestoreItemAction"}},
				Data: map[string]string{"ingressClassMapping": "nginx: alb\n",
					"ingressAnnotationMapping": "nginx.ingress.kubernetes.io/rewrite-target: alb.ingress.kubernetes.io/rewrite-target\n"},
			}).Object,
			testutil.Unstructured(&corev1.ConfigMap{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: "my-migration", Namespace: "velero"},
				Data: map[string]string{"storageClassMapping": "alicloud-disk-ssd: alicloud-disk-topology-alltype\n" +
					"alicloud-disk-efficiency: no-such-class\n", "preserveNodePorts": "true"},
			}).Object,
		},
		storageClasses: []map[string]any{
			testutil.Unstructured(&storagev1.StorageClass{
				TypeMeta:          metav1.TypeMeta{APIVersion: "storage.k8s.io/v1", Kind: "StorageClass"},
				ObjectMeta:        metav1.ObjectMeta{Name: "alicloud-disk-topology-alltype"},
				Provisioner:       diskProvisioner,
				VolumeBindingMode: &waitForFirstConsumer,
			}).Object,
		},
		nodes: []map[string]any{testutil.Unstructured(&corev1.Node{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
			ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"topology.kubernetes.io/zone": "cn-beijing-a", "topology.kubernetes.io/region": "cn-beijing"}},
		}).Object},
	}
	api.start(t)
	mgr := plugintest.Manager(t, nil)
	restore := &velerov1.Restore{ObjectMeta: metav1.ObjectMeta{
		Name: "my-migration", Namespace: "velero", UID: types.UID("0b7c8c1e-restore"),
		Labels: map[string]string{"alibabacloud.com/restore-config": "my-migration"},
	}}

	tests := []struct {
		action  string
		item    runtime.Object
		backup  runtime.Object // ItemFromBackup; item when nil
		check   func(t *testing.T, out map[string]any)
		wantErr string
	}{
		{
			action: "alibabacloud.com/image-registry-mapping",
			item: &appsv1.Deployment{
				TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
				ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
				Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "init", Image: "busybox@sha256:" + strings.Repeat("a", 64)}},
					Containers:     []corev1.Container{{Name: "nginx", Image: "nginx:1.25"}, {Name: "other", Image: "quay.io/x/y:1"}},
				}}},
			},
			check: func(t *testing.T, out map[string]any) {
				want := []string{
					"registry.cn-beijing.aliyuncs.com/my-registry/busybox@sha256:" + strings.Repeat("a", 64),
					"registry.cn-beijing.aliyuncs.com/my-registry/nginx:1.25",
					"quay.io/x/y:1",
				}
				if got := images(out); strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("images = %q, want %q", got, want)
				}
			},
		},
		{
			action: "alibabacloud.com/disk-minimum-size",
			item:   pvc("data", "alicloud-disk-topology-alltype", "10Gi", corev1.ReadWriteOnce),
			check: func(t *testing.T, out map[string]any) {
				if got := nested(out, "spec", "resources", "requests", "storage"); got != "20Gi" {
					t.Errorf("request = %v, want 20Gi", got)
				}
			},
		},
		{
			action: "alibabacloud.com/disk-minimum-size",
			item:   pvc("nas", "", "5Gi", corev1.ReadWriteMany),
			check: func(t *testing.T, out map[string]any) {
				if got := nested(out, "spec", "resources", "requests", "storage"); got != "5Gi" {
					t.Errorf("a claim without a disk class was resized to %v", got)
				}
			},
		},
		{
			action: "alibabacloud.com/slb-listeners",
			item: &corev1.Service{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
				ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default",
					Labels: map[string]string{"service.k8s.alibaba/loadbalancer-id": "lb-2ze1"},
					Annotations: map[string]string{
						"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id":                       "lb-2ze1",
						"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-force-override-listeners": "true",
						"service.beta.kubernetes.io/hash":                                                "abc",
					}},
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
			},
			check: func(t *testing.T, out map[string]any) {
				ann := nestedMap(out, "metadata", "annotations")
				if ann["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-force-override-listeners"] != "false" ||
					ann["service.beta.kubernetes.io/alibaba-cloud-loadbalancer-id"] != "lb-2ze1" || ann["service.beta.kubernetes.io/hash"] != nil {
					t.Errorf("annotations = %v", ann)
				}
				if _, ok := nestedMap(out, "metadata", "labels")["service.k8s.alibaba/loadbalancer-id"]; ok {
					t.Errorf("CCM label kept: %v", nestedMap(out, "metadata", "labels"))
				}
			},
		},
		{
			// loadBalancerIDMapping of the cluster-wide ConfigMap, legacy prefix.
			action: "alibabacloud.com/slb-listeners",
			item: &corev1.Service{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
				ObjectMeta: metav1.ObjectMeta{Name: "moved", Namespace: "default",
					Annotations: map[string]string{"service.beta.kubernetes.io/alicloud-loadbalancer-id": "lb-2zeold"}},
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
			},
			check: func(t *testing.T, out map[string]any) {
				ann := nestedMap(out, "metadata", "annotations")
				if ann["service.beta.kubernetes.io/alicloud-loadbalancer-id"] != "lb-bp1new" ||
					ann["service.beta.kubernetes.io/alicloud-loadbalancer-force-override-listeners"] != "false" {
					t.Errorf("annotations = %v", ann)
				}
			},
		},
		{
			action: "alibabacloud.com/storage-class-mapping",
			item:   pvc("ssd", "alicloud-disk-ssd", "10Gi", corev1.ReadWriteOnce),
			check: func(t *testing.T, out map[string]any) {
				if got := nested(out, "spec", "storageClassName"); got != "alicloud-disk-topology-alltype" {
					t.Errorf("storageClassName = %v", got)
				}
				if got := nested(out, "spec", "resources", "requests", "storage"); got != "20Gi" {
					t.Errorf("converted disk claim request = %v, want 20Gi", got)
				}
			},
		},
		{
			action:  "alibabacloud.com/storage-class-mapping",
			item:    pvc("eff", "alicloud-disk-efficiency", "40Gi", corev1.ReadWriteOnce),
			wantErr: "storageclass no-such-class not exists",
		},
		{
			// Unmapped, but its class is a disk class: RWX cannot bind.
			action:  "alibabacloud.com/storage-class-mapping",
			item:    pvc("shared", "alicloud-disk-topology-alltype", "40Gi", corev1.ReadWriteMany),
			wantErr: "accessMode of PVC default/shared is ReadWriteMany, which a disk storageclass alicloud-disk-topology-alltype cannot serve",
		},
		{
			// Unmapped class missing in the target: warned in the log, not failed.
			action: "alibabacloud.com/storage-class-mapping",
			item:   pvc("gone", "class-of-the-old-cluster", "40Gi", corev1.ReadWriteOnce),
			check: func(t *testing.T, out map[string]any) {
				if got := nested(out, "spec", "storageClassName"); got != "class-of-the-old-cluster" {
					t.Errorf("storageClassName = %v", got)
				}
			},
		},
		{
			// preserveNodePorts: the NodePort Velero's service action cleared
			// comes back from ItemFromBackup.
			action: "alibabacloud.com/slb-listeners",
			item: &corev1.Service{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
				ObjectMeta: metav1.ObjectMeta{Name: "np", Namespace: "default"},
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
					Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
			},
			backup: &corev1.Service{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
				ObjectMeta: metav1.ObjectMeta{Name: "np", Namespace: "default"},
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
					Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, NodePort: 30080}}},
			},
			check: func(t *testing.T, out map[string]any) {
				ports, _ := nested(out, "spec", "ports").([]any)
				if len(ports) != 1 || toString(ports[0].(map[string]any)["nodePort"]) != "30080" {
					t.Errorf("ports = %v, want nodePort 30080", ports)
				}
			},
		},
		{
			action: "alibabacloud.com/flexvolume-to-csi",
			item: &corev1.PersistentVolume{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolume"},
				ObjectMeta: metav1.ObjectMeta{Name: "d-2ze0flex", Labels: map[string]string{
					"failure-domain.beta.kubernetes.io/zone": "cn-beijing-a"}},
				Spec: corev1.PersistentVolumeSpec{
					Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("20Gi")},
					PersistentVolumeSource: corev1.PersistentVolumeSource{FlexVolume: &corev1.FlexPersistentVolumeSource{
						Driver: "alicloud/disk", FSType: "ext4", Options: map[string]string{"volumeId": "d-2ze0flex"},
					}},
				},
			},
			check: func(t *testing.T, out map[string]any) {
				csi := nestedMap(out, "spec", "csi")
				if csi["driver"] != diskProvisioner || csi["volumeHandle"] != "d-2ze0flex" || csi["fsType"] != "ext4" {
					t.Errorf("spec.csi = %v", csi)
				}
				if _, ok := nestedMap(out, "spec")["flexVolume"]; ok {
					t.Errorf("flexVolume kept beside csi")
				}
				if !strings.Contains(toString(nested(out, "spec", "nodeAffinity")), "cn-beijing-a") {
					t.Errorf("node affinity %v does not name the zone", nested(out, "spec", "nodeAffinity"))
				}
			},
		},
		{
			action: "alibabacloud.com/ingress-mapping",
			item: &networkingv1.Ingress{
				TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
				ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Annotations: map[string]string{
					"kubernetes.io/ingress.class": "nginx", "nginx.ingress.kubernetes.io/rewrite-target": "/$2"}},
				Spec: networkingv1.IngressSpec{IngressClassName: func() *string { c := "nginx"; return &c }()},
				Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{
					Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "47.95.1.2"}}}},
			},
			check: func(t *testing.T, out map[string]any) {
				if got := nested(out, "spec", "ingressClassName"); got != "alb" {
					t.Errorf("ingressClassName = %v, want alb", got)
				}
				ann := nestedMap(out, "metadata", "annotations")
				if ann["kubernetes.io/ingress.class"] != "alb" || ann["alb.ingress.kubernetes.io/rewrite-target"] != "/$2" ||
					ann["nginx.ingress.kubernetes.io/rewrite-target"] != nil {
					t.Errorf("annotations = %v", ann)
				}
				if _, ok := out["status"]; ok {
					t.Errorf("status kept: %v", out["status"])
				}
			},
		},
		{
			action:  "alibabacloud.com/cross-region-volumes",
			item:    nasPV("cn-hangzhou"),
			wantErr: "only disk type PVs support cross-region restore in current version",
		},
		{
			action: "alibabacloud.com/cross-region-volumes",
			item:   nasPV("cn-beijing"),
			check: func(t *testing.T, out map[string]any) {
				if got := nested(out, "spec", "csi", "volumeAttributes", "server"); got != "0cd8b4a576-g1234.cn-beijing.nas.aliyuncs.com" {
					t.Errorf("server = %v", got)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			action, err := mgr.GetRestoreItemActionV2(tc.action)
			if err != nil {
				t.Fatalf("GetRestoreItemActionV2: %v", err)
			}
			item := testutil.Unstructured(tc.item)
			backup := item
			if tc.backup != nil {
				backup = testutil.Unstructured(tc.backup)
			}
			out, err := action.Execute(&velero.RestoreItemActionExecuteInput{Item: item, ItemFromBackup: backup, Restore: restore})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Execute error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			tc.check(t, out.UpdatedItem.UnstructuredContent())
		})
	}
}

// TestBackupItemActionOverGRPC checks the disk-topology backup action adds
// the zone label Velero reads as the volume's AZ, and the volume-region
// action records a NAS volume's region.
func TestBackupItemActionOverGRPC(t *testing.T) {
	mgr := plugintest.Manager(t, nil)
	action, err := mgr.GetBackupItemActionV2("alibabacloud.com/disk-topology")
	if err != nil {
		t.Fatalf("GetBackupItemActionV2: %v", err)
	}
	pv := testutil.Unstructured(testutil.DiskPV("d-bp1zone", "d-bp1zone", testutil.InZone("cn-hangzhou-i"), testutil.WithSize("10Gi"), testutil.WithFSType("ext4")))
	pv.SetLabels(nil)
	out, _, _, _, err := action.Execute(pv, &velerov1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "velero"}})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if got := out.(*unstructured.Unstructured).GetLabels()["topology.kubernetes.io/zone"]; got != "cn-hangzhou-i" {
		t.Fatalf("zone label = %q, want cn-hangzhou-i", got)
	}

	action, err = mgr.GetBackupItemActionV2("alibabacloud.com/volume-region")
	if err != nil {
		t.Fatalf("GetBackupItemActionV2: %v", err)
	}
	nas := nasPV("cn-hangzhou")
	nas.Annotations = nil
	out, _, _, _, err = action.Execute(testutil.Unstructured(nas), &velerov1.Backup{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "velero"}})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if got := out.(*unstructured.Unstructured).GetAnnotations()["alibabacloud.com/volume-region"]; got != "cn-hangzhou" {
		t.Fatalf("volume-region annotation = %q, want cn-hangzhou", got)
	}
}

// nasPV is a statically provisioned NAS PV of a file system in region, as
// the volume-region backup action records it.
func nasPV(region string) *corev1.PersistentVolume {
	pv := testutil.DiskPV("nas-"+region, "nas-"+region, testutil.WithDriver("nasplugin.csi.alibabacloud.com"), testutil.WithSize("20Gi"),
		testutil.WithVolumeAttributes(map[string]string{"server": "0cd8b4a576-g1234." + region + ".nas.aliyuncs.com", "path": "/"}))
	pv.Annotations = map[string]string{"alibabacloud.com/volume-region": region}
	return pv
}

// TestPluginListing checks the binary registers every plugin under the
// names users configure.
func TestPluginListing(t *testing.T) {
	mgr := plugintest.Manager(t, nil)
	if _, err := mgr.GetObjectStore("velero.io/alibabacloud"); err != nil {
		t.Errorf("object store: %v", err)
	}
	if _, err := mgr.GetVolumeSnapshotter("velero.io/alibabacloud"); err != nil {
		t.Errorf("volume snapshotter: %v", err)
	}
	restoreActions, err := mgr.GetRestoreItemActionsV2()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, a := range restoreActions {
		names[a.Name()] = true
	}
	for _, want := range []string{"image-registry-mapping", "disk-minimum-size", "slb-listeners", "storage-class-mapping", "flexvolume-to-csi", "cross-region-volumes", "ingress-mapping"} {
		if !names["alibabacloud.com/"+want] {
			t.Errorf("restore item action alibabacloud.com/%s not listed; got %v", want, names)
		}
	}
}

func pvc(name, class, size string, mode corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	b := builder.ForPersistentVolumeClaim("default", name).
		RequestResource(corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)})
	if class != "" {
		b = b.StorageClass(class)
	}
	c := b.Result()
	c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{mode}
	return c
}

func images(obj map[string]any) []string {
	var out []string
	spec := nestedMap(obj, "spec", "template", "spec")
	for _, list := range []string{"initContainers", "containers"} {
		containers, _ := spec[list].([]any)
		for _, c := range containers {
			out = append(out, c.(map[string]any)["image"].(string))
		}
	}
	return out
}

func nested(obj map[string]any, path ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, path...)
	return v
}

func nestedMap(obj map[string]any, path ...string) map[string]any {
	m, _ := nested(obj, path...).(map[string]any)
	return m
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
