package diskpv

import (
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/config"
)

// The drivers of the ACK NAS and OSS volumes, whose PVs name the region of
// their file system or bucket only in the server or endpoint they mount.
const (
	NASCSIDriver  = "nasplugin.csi.alibabacloud.com"
	NASFlexDriver = "alicloud/nas"
	OSSCSIDriver  = "ossplugin.csi.alibabacloud.com"
	OSSFlexDriver = "alicloud/oss"
)

// Volume kinds VolumeRegion reports.
const (
	KindDisk = "disk"
	KindNAS  = "nas"
	KindOSS  = "oss"
)

// AnnVolumeRegion is the annotation the backup action puts on the backed-up
// copy of disk, NAS and OSS PVs: the region the volume lives in, as the PV
// says it. The cross-region-volumes restore action compares it with the
// target cluster's region.
const AnnVolumeRegion = "alibabacloud.com/volume-region"

// Kind is the kind of an Alibaba Cloud volume PV: KindDisk, KindNAS, KindOSS,
// or "" for every other PV.
func Kind(pv *corev1.PersistentVolume) string {
	switch Driver(pv) {
	case CSIDriver, FlexDriver:
		return KindDisk
	case NASCSIDriver, NASFlexDriver:
		return KindNAS
	case OSSCSIDriver, OSSFlexDriver:
		return KindOSS
	}
	return ""
}

// VolumeRegion is the region of the volume of an Alibaba Cloud disk, NAS or
// OSS PV and the volume's kind. The region is what the PV says: a disk's
// region labels or node affinity (Region), the region in a NAS server name
// (<mount target>.<region>.nas.aliyuncs.com, or
// <mount target>.<region>.extreme.nas.aliyuncs.com for extreme NAS), the
// region in an OSS endpoint (oss-<region>[-internal].aliyuncs.com). It is ""
// when the PV does not say; it is never guessed. kind is "" (and region "")
// for other PVs.
func VolumeRegion(pv *corev1.PersistentVolume) (region, kind string) {
	kind = Kind(pv)
	switch kind {
	case KindDisk:
		return Region(pv), kind
	case KindNAS:
		return NASServerRegion(volumeParam(pv, "server")), kind
	case KindOSS:
		return OSSURLRegion(volumeParam(pv, "url")), kind
	}
	return "", ""
}

// volumeParam is a CSI volume attribute or FlexVolume option.
func volumeParam(pv *corev1.PersistentVolume, key string) string {
	switch s := pv.Spec; {
	case s.CSI != nil:
		return s.CSI.VolumeAttributes[key]
	case s.FlexVolume != nil:
		return s.FlexVolume.Options[key]
	}
	return ""
}

// host is the lower-case host name of a server or endpoint written as a host,
// host:port, host:/path or URL.
func host(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		return u.Hostname()
	}
	if i := strings.IndexAny(s, ":/"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// NASServerRegion is the region in a NAS mount target's domain name, "" when
// it names none.
func NASServerRegion(server string) string {
	h := host(server)
	rest, ok := strings.CutSuffix(h, ".nas.aliyuncs.com")
	if !ok {
		return ""
	}
	rest = strings.TrimSuffix(rest, ".extreme")
	labels := strings.Split(rest, ".")
	if len(labels) < 2 || labels[0] == "" {
		return "" // no mount target before the region
	}
	return config.ValidRegion(labels[len(labels)-1])
}

// OSSURLRegion is the region in an OSS endpoint as an OSS volume's url
// attribute gives it: with or without a bucket, scheme or path (see
// config.OSSEndpointRegion for the host names).
func OSSURLRegion(endpoint string) string { return config.OSSEndpointRegion(host(endpoint)) }

// LabelRegion is the region node or PV labels name, "" for none.
func LabelRegion(labels map[string]string) string { return first(labels, RegionKeys) }
