package objectstore

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/config"
)

// kind names the location in every config error message.
const kind = "BackupStorageLocation"

// Config keys of the BackupStorageLocation (spec.config). Velero itself adds
// bucket, prefix, caCert and credentialsFile.
const (
	keyRegion               = "region"
	keyBucket               = "bucket"
	keyPrefix               = "prefix"
	keyCACert               = "caCert"
	keyCredentialsFile      = "credentialsFile"
	keyNetwork              = "network"
	keyEndpoint             = "endpoint"
	keyPublicEndpoint       = "publicEndpoint"
	keyServerSideEncryption = "serverSideEncryption"
	keyKMSKeyID             = "kmsKeyId"
	keyStorageClass         = "storageClass"
	keySignatureVersion     = "signatureVersion"
	keyPartSize             = "partSize"
	keyUploadConcurrency    = "uploadConcurrency"
	// keyS3URL is not used by the plugin: Velero's kopia repository reads it
	// to reach the location's bucket through OSS's S3-compatible API, so it
	// must not be rejected.
	keyS3URL = "s3Url"
)

const (
	kib = int64(1) << 10
	mib = int64(1) << 20
	gib = int64(1) << 30

	// OSS limits: every part but the last is at least 100 KiB, at most 5 GiB,
	// and an upload has at most 10,000 parts.
	minPartSize = 100 * kib
	maxPartSize = 5 * gib

	// Measured by make bench (bench/REPORT.md, sweep): throughput is flat
	// from 5 to 32 MiB parts and 2 to 8 in flight, while the plugin's peak
	// memory follows partSize x (concurrency + 1); 8 MiB x 8 is as fast as
	// 16 MiB x 4 and stays within 64 MiB + partSize x concurrency.
	defaultPartSize    = 8 * mib
	defaultConcurrency = 8
	maxConcurrency     = 64
)

// maxParts is the OSS limit on parts per upload (a variable for tests).
var maxParts = 10000

// settings is the validated form of the BackupStorageLocation config.
type settings struct {
	region          string
	endpoint        string // scheme://host[:port]
	publicEndpoint  string // "" = sign URLs for endpoint
	pathStyle       bool
	publicPathStyle bool
	caCert          *x509.CertPool
	credentialsFile string
	sse             string
	kmsKeyID        string
	storageClass    string
	v4              bool
	partSize        int64
	concurrency     int
}

// parseConfig validates cfg. Every error names the key and says how to fix it.
func parseConfig(cfg map[string]string) (*settings, error) {
	return config.Parse(kind, cfg, readConfig)
}

// ConfigKeys returns the BackupStorageLocation config keys the plugin
// accepts, sorted: those readConfig reads or passes through.
func ConfigKeys() []string {
	return config.KeysOf(kind, readConfig)
}

// readConfig reads every key through r before it checks anything, so that r
// knows them all when it reports unknown ones (and for ConfigKeys).
func readConfig(r *config.Reader) (*settings, error) {
	// Velero reads bucket and prefix itself.
	r.PassThrough(keyBucket, keyPrefix)
	s := &settings{
		credentialsFile: r.String(keyCredentialsFile),
		v4:              r.OneOf(keySignatureVersion, "v4", "v4", "v1") == "v4",
		sse:             r.OneOf(keyServerSideEncryption, "", "AES256", "KMS", "SM4"),
		kmsKeyID:        strings.TrimSpace(r.String(keyKMSKeyID)),
		concurrency:     int(r.Int(keyUploadConcurrency, defaultConcurrency, 1, maxConcurrency)),
	}
	region := strings.TrimSpace(r.String(keyRegion))
	network := r.OneOf(keyNetwork, "public", "internal", "public", "accelerate")
	endpoint := strings.TrimSpace(r.String(keyEndpoint))
	publicEndpoint := strings.TrimSpace(r.String(keyPublicEndpoint))
	storageClass := r.String(keyStorageClass)
	partSize := r.String(keyPartSize)
	s3URL := strings.TrimSpace(r.String(keyS3URL))
	caCert := r.String(keyCACert)
	if err := r.Err(); err != nil {
		return nil, err
	}

	if err := s.parseEndpoints(region, network, endpoint, publicEndpoint); err != nil {
		return nil, err
	}
	// OSS honours x-oss-server-side-encryption-key-id only with KMS.
	if s.kmsKeyID != "" && s.sse != "KMS" {
		return nil, fmt.Errorf("%s config: %s is only used with %s: KMS (got %q); set %s: KMS or remove %s",
			kind, keyKMSKeyID, keyServerSideEncryption, s.sse, keyServerSideEncryption, keyKMSKeyID)
	}
	var err error
	if s.storageClass, err = parseStorageClass(storageClass); err != nil {
		return nil, err
	}
	if s.partSize, err = parseSize(keyPartSize, partSize, defaultPartSize, minPartSize, maxPartSize); err != nil {
		return nil, err
	}
	if s3URL != "" {
		if u, err := url.Parse(s3URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("%s config: %s %q is not valid; Velero's kopia repository needs http(s)://host[:port] without a path, e.g. https://oss-cn-hangzhou-internal.aliyuncs.com", kind, keyS3URL, s3URL)
		}
	}
	if caCert != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(caCert)) {
			return nil, fmt.Errorf("%s config: %s holds no PEM certificate; set it to the PEM-encoded CA bundle of the endpoint", kind, keyCACert)
		}
		s.caCert = pool
	}
	return s, nil
}

// parseEndpoints sets the endpoints and the signing region from the trimmed
// values of region, endpoint and publicEndpoint and the checked network.
func (s *settings) parseEndpoints(region, network, endpoint, publicEndpoint string) error {
	if region != "" && !config.RegionID.MatchString(region) {
		return fmt.Errorf("%s config: %s %q is not an Alibaba Cloud region ID; use one such as cn-hangzhou", kind, keyRegion, region)
	}

	if endpoint != "" {
		u, err := parseEndpoint(keyEndpoint, endpoint)
		if err != nil {
			return err
		}
		s.endpoint = u.Scheme + "://" + u.Host
		s.pathStyle = pathStyleHost(u.Hostname())
		if region == "" {
			// An Alibaba endpoint still yields the V4 signing region.
			region = config.OSSEndpointRegion(u.Hostname())
		}
		if region == "" && s.v4 {
			return fmt.Errorf("%s config: %s is required with a custom %s because V4 signatures include the region; set %s to the bucket's region (e.g. cn-hangzhou), or set %s: v1 for a private deployment that only accepts V1",
				kind, keyRegion, keyEndpoint, keyRegion, keySignatureVersion)
		}
	} else {
		if region == "" {
			return fmt.Errorf("%s config: %s is required (the bucket's region, e.g. cn-hangzhou) unless %s is set", kind, keyRegion, keyEndpoint)
		}
		switch network {
		case "internal":
			s.endpoint = "https://oss-" + region + "-internal.aliyuncs.com"
		case "public":
			s.endpoint = "https://oss-" + region + ".aliyuncs.com"
		case "accelerate":
			s.endpoint = "https://oss-accelerate.aliyuncs.com"
		}
	}
	s.region = region

	if publicEndpoint != "" {
		u, err := parseEndpoint(keyPublicEndpoint, publicEndpoint)
		if err != nil {
			return err
		}
		s.publicEndpoint = u.Scheme + "://" + u.Host
		s.publicPathStyle = pathStyleHost(u.Hostname())
	}
	return nil
}

// pathStyleHost reports whether requests to host must name the bucket in
// the path: the SDK does so for IP addresses on its own; localhost and other
// single-label hosts cannot carry a bucket subdomain either.
func pathStyleHost(host string) bool {
	return net.ParseIP(host) != nil || !strings.Contains(host, ".")
}

// parseEndpoint accepts host[:port] or http(s)://host[:port]; https is the
// default scheme because credentials travel in every request.
func parseEndpoint(key, raw string) (*url.URL, error) {
	u, ok := config.EndpointURL(raw)
	if !ok || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%s config: %s %q is not a valid endpoint; use host[:port] or https://host[:port] without a path, e.g. oss-cn-hangzhou.aliyuncs.com", kind, key, raw)
	}
	return u, nil
}

func parseStorageClass(v string) (string, error) {
	switch v {
	case "", "Standard", "IA":
		return v, nil
	case "Archive", "ColdArchive", "DeepColdArchive":
		return "", fmt.Errorf("%s config: %s %q is not supported: Velero rewrites its metadata files and reads backups back without a restore step, and OSS refuses to read %s objects until they are restored; use Standard or IA (a bucket lifecycle rule can still archive old backups)",
			kind, keyStorageClass, v, v)
	default:
		return "", fmt.Errorf("%s config: %s %q is not valid; use one of: Standard, IA", kind, keyStorageClass, v)
	}
}

// parseSize reads raw, the value of key, as a byte count given as a plain
// integer or with a binary suffix (Ki, Mi, Gi), e.g. "16Mi"; def when unset.
func parseSize(key, raw string, def, min, max int64) (int64, error) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return def, nil
	}
	mult := int64(1)
	num := v
	for suffix, m := range map[string]int64{"Ki": kib, "Mi": mib, "Gi": gib} {
		if strings.HasSuffix(v, suffix) {
			num, mult = strings.TrimSuffix(v, suffix), m
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > max/mult || n*mult < min || n*mult > max {
		return 0, fmt.Errorf("%s config: %s %q must be a size from %s to %s, in bytes or with a Ki, Mi or Gi suffix (e.g. 16Mi)",
			kind, key, raw, humanSize(min), humanSize(max))
	}
	return n * mult, nil
}

func humanSize(n int64) string {
	switch {
	case n%gib == 0:
		return strconv.FormatInt(n/gib, 10) + "Gi"
	case n%mib == 0:
		return strconv.FormatInt(n/mib, 10) + "Mi"
	case n%kib == 0:
		return strconv.FormatInt(n/kib, 10) + "Ki"
	}
	return strconv.FormatInt(n, 10)
}
