// Package objectstore is Velero's ObjectStore on Alibaba Cloud OSS.
package objectstore

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/sirupsen/logrus"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/crc64ecma"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/credentials"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/retry"
)

// bucketAPI is the part of *oss.Bucket the plugin uses.
type bucketAPI interface {
	PutObject(key string, r io.Reader, options ...oss.Option) error
	DoGetObject(req *oss.GetObjectRequest, options []oss.Option) (*oss.GetObjectResult, error)
	GetObjectDetailedMeta(key string, options ...oss.Option) (http.Header, error)
	DeleteObject(key string, options ...oss.Option) error
	ListObjectsV2(options ...oss.Option) (oss.ListObjectsResultV2, error)
	InitiateMultipartUpload(key string, options ...oss.Option) (oss.InitiateMultipartUploadResult, error)
	UploadPart(imur oss.InitiateMultipartUploadResult, r io.Reader, size int64, number int, options ...oss.Option) (oss.UploadPart, error)
	CompleteMultipartUpload(imur oss.InitiateMultipartUploadResult, parts []oss.UploadPart, options ...oss.Option) (oss.CompleteMultipartUploadResult, error)
	AbortMultipartUpload(imur oss.InitiateMultipartUploadResult, options ...oss.Option) error
	ListMultipartUploads(options ...oss.Option) (oss.ListMultipartUploadResult, error)
	SignURL(key string, method oss.HTTPMethod, expiredInSec int64, options ...oss.Option) (string, error)
}

// maxV4URLTTL is the longest validity OSS accepts for a V4 signed URL.
const maxV4URLTTL = 7 * 24 * time.Hour

// ObjectStore implements velero.ObjectStore on OSS.
type ObjectStore struct {
	log    logrus.FieldLogger
	cfg    *settings
	client *oss.Client
	signer *oss.Client // publicEndpoint client for signed URLs; == client when unset
	http   *http.Client
	policy retry.Policy
}

// NewObjectStore returns an ObjectStore; Init configures it.
func NewObjectStore(log logrus.FieldLogger) *ObjectStore {
	return &ObjectStore{log: log, policy: retry.Default}
}

// Init validates the BackupStorageLocation config and builds the OSS client.
// Its only OSS call reads the bucket's default storage class, to warn about
// an archive bucket; it never fails Init: Velero validates the location
// itself, on its own schedule.
func (o *ObjectStore) Init(cfg map[string]string) error {
	s, err := parseConfig(cfg)
	if err != nil {
		return err
	}
	creds, err := credentials.New(credentials.Options{
		Kind:            kind,
		CredentialsFile: s.credentialsFile,
		Logger:          o.log,
	})
	if err != nil {
		return fmt.Errorf("%s credentials: %w", kind, err)
	}
	httpClient := newHTTPClient(s.caCert, s.concurrency)
	newClient := func(endpoint string, pathStyle bool, hc *http.Client) (*oss.Client, error) {
		opts := []oss.ClientOption{
			oss.SetCredentialsProvider(creds.OSS()),
			oss.HTTPClient(hc),
			oss.ForcePathStyle(pathStyle),
			// The plugin checks CRC64 itself, once per byte and per part
			// in the upload workers; the SDK would hash every byte again.
			oss.EnableCRC(false),
			oss.SetLogLevel(oss.LogOff),
			oss.UserAgent("velero-plugin-for-alibabacloud"),
		}
		if s.v4 {
			opts = append(opts, oss.AuthVersion(oss.AuthV4), oss.Region(s.region))
		} else {
			opts = append(opts, oss.AuthVersion(oss.AuthV1))
		}
		c, err := oss.New(endpoint, "", "", opts...)
		if err != nil {
			return nil, fmt.Errorf("%s config: cannot build an OSS client for endpoint %s: %w", kind, endpoint, err)
		}
		return c, nil
	}
	client, err := newClient(s.endpoint, s.pathStyle, httpClient)
	if err != nil {
		return err
	}
	signer := client
	if s.publicEndpoint != "" {
		if signer, err = newClient(s.publicEndpoint, s.publicPathStyle, httpClient); err != nil {
			return err
		}
	}
	// The SDK's Client methods (GetBucketInfo) ignore oss.WithContext: the
	// storage class check gets a client whose timeout bounds it, on the
	// same connections. With storageClass set there is no check to make.
	var checker *oss.Client
	if s.storageClass == "" {
		checkHTTP := *httpClient
		checkHTTP.Timeout = bucketInfoTimeout
		if checker, err = newClient(s.endpoint, s.pathStyle, &checkHTTP); err != nil {
			return err
		}
	}
	o.cfg, o.http, o.client, o.signer = s, httpClient, client, signer
	o.log.WithFields(logrus.Fields{
		"endpoint": s.endpoint, "region": s.region, "signatureVersion": map[bool]string{true: "v4", false: "v1"}[s.v4],
		"partSize": s.partSize, "uploadConcurrency": s.concurrency,
	}).Info("OSS object store initialized")
	o.reportLocation(cfg, checker)
	return nil
}

func (o *ObjectStore) bucket(name string) (bucketAPI, error) {
	if o.client == nil {
		return nil, errors.New("object store is not initialized: Init must succeed first")
	}
	b, err := o.client.Bucket(name)
	if err != nil {
		return nil, fmt.Errorf("bucket %q: %w", name, err)
	}
	return b, nil
}

// objectOptions are the headers every new object gets.
func (o *ObjectStore) objectOptions() []oss.Option {
	var opts []oss.Option
	if o.cfg.sse != "" {
		opts = append(opts, oss.ServerSideEncryption(o.cfg.sse))
	}
	if o.cfg.kmsKeyID != "" {
		opts = append(opts, oss.ServerSideEncryptionKeyID(o.cfg.kmsKeyID))
	}
	if o.cfg.storageClass != "" {
		opts = append(opts, oss.ObjectStorageClass(oss.StorageClassType(o.cfg.storageClass)))
	}
	return opts
}

// ObjectExists is false only when OSS answers 404 for the object; any other
// failure (no permission, missing bucket, network) is an error.
func (o *ObjectStore) ObjectExists(bucket, key string) (bool, error) {
	b, err := o.bucket(bucket)
	if err != nil {
		return false, err
	}
	exists := false
	err = o.withRetry("check", bucket, key, func() error {
		_, err := b.GetObjectDetailedMeta(key)
		var se oss.ServiceError
		if errors.As(err, &se) && se.StatusCode == http.StatusNotFound && se.Code != "NoSuchBucket" {
			exists = false
			return nil
		}
		exists = err == nil
		return err
	})
	if err != nil {
		return false, err
	}
	return exists, nil
}

// GetObject streams the object. A transient failure in the middle of the
// body resumes from the last byte read, and the object's CRC64 is verified
// when the body is read to the end.
func (o *ObjectStore) GetObject(bucket, key string) (io.ReadCloser, error) {
	b, err := o.bucket(bucket)
	if err != nil {
		return nil, err
	}
	d := &download{o: o, b: b, bucket: bucket, key: key, h: crc64ecma.New()}
	if err := d.open(); err != nil {
		return nil, err
	}
	hdr := d.body.(*oss.Response).Headers
	d.etag = hdr.Get(oss.HTTPHeaderEtag)
	d.want, err = strconv.ParseUint(hdr.Get(oss.HTTPHeaderOssCRC64), 10, 64)
	d.haveCRC = err == nil // OSS reports no CRC64 for some objects (e.g. appendable)
	size := int64(-1)
	if n, err := strconv.ParseInt(hdr.Get(oss.HTTPHeaderContentLength), 10, 64); err == nil {
		size = n
	}
	d.start(size)
	return d, nil
}

// ListObjects returns every key under prefix, 1000 per request.
func (o *ObjectStore) ListObjects(bucket, prefix string) ([]string, error) {
	var keys []string
	err := o.list(bucket, prefix, "", func(r oss.ListObjectsResultV2) {
		for _, obj := range r.Objects {
			keys = append(keys, obj.Key)
		}
	})
	return keys, err
}

// ListCommonPrefixes returns the prefixes under prefix up to and including
// the next delimiter, e.g. "backups/b1/" for prefix "backups/" and "/".
func (o *ObjectStore) ListCommonPrefixes(bucket, prefix, delimiter string) ([]string, error) {
	var prefixes []string
	err := o.list(bucket, prefix, delimiter, func(r oss.ListObjectsResultV2) {
		prefixes = append(prefixes, r.CommonPrefixes...)
	})
	return prefixes, err
}

func (o *ObjectStore) list(bucket, prefix, delimiter string, page func(oss.ListObjectsResultV2)) error {
	b, err := o.bucket(bucket)
	if err != nil {
		return err
	}
	token := ""
	for {
		opts := []oss.Option{oss.Prefix(prefix), oss.MaxKeys(1000)}
		if delimiter != "" {
			opts = append(opts, oss.Delimiter(delimiter))
		}
		if token != "" {
			opts = append(opts, oss.ContinuationToken(token))
		}
		var res oss.ListObjectsResultV2
		err := o.withRetry("list", bucket, prefix, func() error {
			var err error
			res, err = b.ListObjectsV2(opts...)
			return err
		})
		if err != nil {
			return err
		}
		page(res)
		if !res.IsTruncated {
			return nil
		}
		if res.NextContinuationToken == "" || res.NextContinuationToken == token {
			return fmt.Errorf("list bucket %q prefix %q: OSS reported a truncated listing without a new continuation token", bucket, prefix)
		}
		token = res.NextContinuationToken
	}
}

// DeleteObject deletes the object; deleting a missing object succeeds, as
// in OSS.
func (o *ObjectStore) DeleteObject(bucket, key string) error {
	b, err := o.bucket(bucket)
	if err != nil {
		return err
	}
	return o.withRetry("delete", bucket, key, func() error { return b.DeleteObject(key) })
}

// CreateSignedURL returns a GET URL valid for ttl, for publicEndpoint when
// set: the velero CLI that downloads it usually runs outside the VPC.
func (o *ObjectStore) CreateSignedURL(bucket, key string, ttl time.Duration) (string, error) {
	if o.signer == nil {
		return "", errors.New("object store is not initialized: Init must succeed first")
	}
	if ttl <= 0 || (o.cfg.v4 && ttl > maxV4URLTTL) {
		return "", fmt.Errorf("sign object %q in bucket %q: ttl %s must be positive and, with V4 signatures, at most 7 days", key, bucket, ttl)
	}
	b, err := o.signer.Bucket(bucket)
	if err != nil {
		return "", fmt.Errorf("bucket %q: %w", bucket, err)
	}
	secs := int64((ttl + time.Second - 1) / time.Second)
	u, err := b.SignURL(key, oss.HTTPGet, secs)
	if err != nil {
		return "", o.wrapError("sign", bucket, key, err)
	}
	return u, nil
}
