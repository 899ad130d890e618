package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
)

const msgCrossRegionUnsupported = "only disk type PVs support cross-region restore in current version"

// TestCrossRegionNASVolume: a statically provisioned NAS PV (nasplugin CSI,
// file system in cn-hangzhou) is backed up, and the volume-region backup
// action records its region. Restored into a cluster whose nodes are in
// cn-beijing, the cross-region-volumes action fails the PV with the ACK
// Backup Center FAQ's message; with allowCrossRegionVolumes the restore puts
// it back as it is.
func TestCrossRegionNASVolume(t *testing.T) {
	ctx := testContext(t)
	const ns, dstNS, dstNS2, backup = "e2e-nas", "e2e-nas-beijing", "e2e-nas-allowed", "nas-xr"
	const pvName, server = "e2e-nas-hangzhou", nasServer
	createNamespace(t, ctx, ns)
	createBoundNASClaim(t, ctx, ns, "shared", pvName, "/")

	velero(t, ctx, "backup", "create", backup, "--include-namespaces", ns, "--snapshot-volumes=false")
	waitPhase(t, ctx, stack.Backups, backup, "Completed")
	t.Cleanup(func() { deleteBackup(t, backup) })

	// The restore cluster's only node is in Beijing.
	createNode(t, ctx, "e2e-nas-beijing-node", map[string]string{
		corev1.LabelTopologyRegion: "cn-beijing", corev1.LabelTopologyZone: "cn-beijing-a",
	})
	// Velero restores a PV that exists as it is only if it is absent: remove
	// the source's (the claim in ns stays, bound in name only).
	if err := env.DeleteClusterObject(ctx, gvrPVs, pvName); err != nil {
		t.Fatal(err)
	}

	const refused = "nas-xr-refused"
	t.Cleanup(func() { _ = env.DeleteNamespace(context.Background(), dstNS) })
	velero(t, ctx, "restore", "create", refused, "--from-backup", backup, "--namespace-mappings", ns+":"+dstNS)
	waitPhase(t, ctx, stack.Restore, refused, "PartiallyFailed")
	desc := velero(t, ctx, "restore", "describe", refused, "--details")
	if !strings.Contains(desc, msgCrossRegionUnsupported) || !strings.Contains(desc, "cn-hangzhou") || !strings.Contains(desc, "cn-beijing") {
		t.Errorf("velero restore describe does not show the ACK Backup Center FAQ's %q for the NAS PV of cn-hangzhou:\n%s", msgCrossRegionUnsupported, desc)
	}
	if _, err := env.Kube.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{}); err == nil {
		t.Errorf("PV %s was restored although its NAS file system is in another region", pvName)
	}

	// Allowed for one restore: the PV comes back as it is, pointing at the
	// Hangzhou file system.
	createVeleroConfigMap(t, ctx, "nas-allowed", nil, map[string]any{"allowCrossRegionVolumes": "true"})
	const allowed = "nas-xr-allowed"
	t.Cleanup(func() { _ = env.DeleteNamespace(context.Background(), dstNS2) })
	velero(t, ctx, "restore", "create", allowed, "--from-backup", backup, "--namespace-mappings", ns+":"+dstNS2,
		"--labels", labelRestoreCf+"=nas-allowed")
	waitPhase(t, ctx, stack.Restore, allowed, "Completed")
	restored, err := env.Kube.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("PV %s not restored with allowCrossRegionVolumes: %v", pvName, err)
	}
	if restored.Spec.CSI == nil || restored.Spec.CSI.VolumeAttributes["server"] != server {
		t.Errorf("restored PV source = %+v, want the NAS server %s", restored.Spec.CSI, server)
	}
	if got := restored.Annotations["alibabacloud.com/volume-region"]; got != "cn-hangzhou" {
		t.Errorf("restored PV annotation alibabacloud.com/volume-region = %q, want cn-hangzhou (recorded at backup)", got)
	}
}
