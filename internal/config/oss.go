package config

import "strings"

// OSSEndpointRegion is the region an OSS endpoint host names, "" when it
// names none. OSS hosts take the forms oss-<region>.aliyuncs.com,
// oss-<region>-internal.aliyuncs.com and <region>.oss.aliyuncs.com, each
// possibly behind a bucket label (my-bucket.oss-cn-hangzhou.aliyuncs.com);
// the global oss-accelerate.aliyuncs.com and
// oss-accelerate-overseas.aliyuncs.com name no region, nor does any host
// outside aliyuncs.com. host is a host name without scheme or port.
func OSSEndpointRegion(host string) string {
	rest, ok := strings.CutSuffix(strings.TrimSuffix(strings.ToLower(host), "."), ".aliyuncs.com")
	if !ok {
		return ""
	}
	labels := strings.Split(rest, ".")
	last := labels[len(labels)-1]
	if last == "oss" {
		if len(labels) < 2 {
			return ""
		}
		return ValidRegion(labels[len(labels)-2])
	}
	r, ok := strings.CutPrefix(last, "oss-")
	if !ok || strings.HasPrefix(r, "accelerate") {
		return ""
	}
	return ValidRegion(strings.TrimSuffix(r, "-internal"))
}

// ValidRegion is r when it is a region ID, else "": for region names read
// out of host names, where anything else means the host names no region.
func ValidRegion(r string) string {
	if !RegionID.MatchString(r) {
		return ""
	}
	return r
}
