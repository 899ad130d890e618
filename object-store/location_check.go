package objectstore

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// bucketInfoTimeout bounds Init's GetBucketInfo call, as the timeout of its
// client (a variable for tests). The check only informs: a slow or
// unreachable endpoint must not hold up Init, and the calls Velero makes
// next report such failures with their fixes.
var bucketInfoTimeout = 10 * time.Second

// isArchiveClass reports the OSS storage classes whose objects cannot be
// read until they are restored: Archive and ColdArchive (GetBucketInfo and
// PutBucket in the OSS API reference) and DeepColdArchive (the OSS Go SDKs'
// StorageDeepColdArchive / StorageClassDeepColdArchive).
func isArchiveClass(class string) bool {
	switch oss.StorageClassType(class) {
	case oss.StorageArchive, oss.StorageColdArchive, oss.StorageDeepColdArchive:
		return true
	}
	return false
}

// reportLocation logs what the location's config means beyond this plugin,
// once per Init: a bucket whose default storage class archives Velero's
// objects, and a missing s3Url (Velero's file-system backup and data mover).
// Nothing here fails Init.
func (o *ObjectStore) reportLocation(cfg map[string]string, checker *oss.Client) {
	o.checkBucketClass(checker, strings.TrimSpace(cfg[keyBucket]))
	if strings.TrimSpace(cfg[keyS3URL]) == "" {
		o.log.Info(s3URLMissing(o.cfg.region))
	}
}

// checkBucketClass warns when new objects would get an archive storage
// class: without storageClass, OSS stores each object in the bucket's
// default class, and OSS refuses to read archived objects (InvalidObjectState)
// until they are restored, so backups there could not be restored by Velero.
// GetBucketInfo needs oss:GetBucketInfo, which the policy grants but an
// older policy may lack: any failure is one info line, never an Init error.
func (o *ObjectStore) checkBucketClass(checker *oss.Client, bucket string) {
	log := o.log.WithField("bucket", bucket)
	if o.cfg.storageClass != "" {
		return // every object is written with storageClass
	}
	if bucket == "" {
		log.Debug("storage class of the bucket not checked: the config names no bucket")
		return
	}
	res, err := checker.GetBucketInfo(bucket)
	if err != nil {
		log.Info("storage class of the bucket not checked: " + bucketInfoFailure(o.wrapError("get info of", bucket, "", err)))
		return
	}
	class := res.BucketInfo.StorageClass
	if !isArchiveClass(class) {
		log.WithField("storageClass", class).Debug("bucket's default storage class can be read back directly")
		return
	}
	log.WithField("storageClass", class).Warnf("bucket %q stores new objects as %s by default and %s is not set: backups written there must be restored in OSS before Velero can read them (restores, backup downloads and backup sync fail with InvalidObjectState); set %s: Standard or IA in the BackupStorageLocation config",
		bucket, class, keyStorageClass, keyStorageClass)
}

// bucketInfoFailure says why GetBucketInfo failed, without the AccessDenied
// hint of the other calls: that hint lists every action, while only this
// optional check needs oss:GetBucketInfo.
func bucketInfoFailure(err error) string {
	var oe *ossError
	if !errors.As(err, &oe) {
		return scrub(err.Error())
	}
	plain := *oe
	plain.hint = ""
	if oe.code == "AccessDenied" {
		plain.hint = "the credentials lack oss:GetBucketInfo, which only this check needs; grant it on the bucket to be warned about an archive storage class"
	}
	return plain.Error()
}

// s3URLMissing is the Init line for a location without s3Url. Velero's
// repository config (GetBackendType) picks kopia's S3 backend for a provider
// it does not know only when s3Url is set; otherwise kopia has no backend
// for this location.
func s3URLMissing(region string) string {
	if region == "" {
		region = "<region>"
	}
	return fmt.Sprintf("%s is not set: Velero's file-system backup and data mover cannot store volume data in this location; add %s: https://s3.oss-%s-internal.aliyuncs.com (https://s3.oss-%s.aliyuncs.com outside the region's VPC) to the BackupStorageLocation config, with the credential file also holding the AccessKey as aws_access_key_id / aws_secret_access_key",
		keyS3URL, keyS3URL, region, region)
}
