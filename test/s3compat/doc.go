// Package s3compat holds the tests of the OSS emulator's S3 protocol through
// third-party S3 clients (minio-go, the AWS SDK for Go v2) and, across
// protocols, the Alibaba OSS SDK.
package s3compat
