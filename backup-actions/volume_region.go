package backupactions

import (
	"github.com/sirupsen/logrus"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	biav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/backupitemaction/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
)

// NameVolumeRegion is the action's registered name.
const NameVolumeRegion = "alibabacloud.com/volume-region"

// VolumeRegionAction records on the backed-up copy of Alibaba Cloud disk,
// NAS and OSS PVs the region their volume lives in, as the annotation
// alibabacloud.com/volume-region (diskpv.VolumeRegion: a disk's region labels
// or node affinity, the region in a NAS server or OSS endpoint name).
//
// Why: Velero never hands NAS or OSS PVs to the VolumeSnapshotter, so a
// restore into another region would recreate them pointing at the source
// region's file system or bucket; the cross-region-volumes restore action
// compares this annotation with the target cluster's region. A PV that does
// not say its region gets no annotation (a stale one is removed): the region
// is never guessed. The live PV is not changed; other PVs are not touched.
type VolumeRegionAction struct{ pvAction }

// NewVolumeRegionAction is the initializer registered with Velero.
func NewVolumeRegionAction(log logrus.FieldLogger) (any, error) {
	return &VolumeRegionAction{pvAction{log: log}}, nil
}

var _ biav2.BackupItemAction = (*VolumeRegionAction)(nil)

func (a *VolumeRegionAction) Name() string { return NameVolumeRegion }

func (a *VolumeRegionAction) Execute(item runtime.Unstructured, backup *velerov1.Backup) (runtime.Unstructured, []velero.ResourceIdentifier, string, []velero.ResourceIdentifier, error) {
	pv, err := decodePV(item)
	if err != nil {
		return nil, nil, "", nil, err
	}
	region, kind := diskpv.VolumeRegion(pv)
	if kind == "" {
		return item, nil, "", nil, nil
	}
	old, had := pv.Annotations[diskpv.AnnVolumeRegion]
	if region == old && (had || region == "") {
		return item, nil, "", nil, nil
	}
	out := (&unstructured.Unstructured{Object: item.UnstructuredContent()}).DeepCopy()
	ann := out.GetAnnotations()
	log := a.log.WithFields(logrus.Fields{"action": NameVolumeRegion, "kind": "PersistentVolume", "name": pv.Name, "volume": kind})
	if region == "" {
		// Copied from an earlier backup (a restored PV), no longer what the PV says.
		delete(ann, diskpv.AnnVolumeRegion)
		log.Infof("removing the stale %s annotation %q: the PV does not say its volume's region", diskpv.AnnVolumeRegion, old)
	} else {
		if ann == nil {
			ann = map[string]string{}
		}
		ann[diskpv.AnnVolumeRegion] = region
		log.WithField("region", region).Infof("recording the volume's region as the %s annotation", diskpv.AnnVolumeRegion)
	}
	out.SetAnnotations(ann)
	return out, nil, "", nil, nil
}
