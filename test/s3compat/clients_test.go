package s3compat_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

// objInfo is what HEAD tells about an object.
type objInfo struct {
	size int64
	etag string // without quotes
	meta map[string]string
}

// client is the part of an S3 client the tests drive, so one table runs the
// same scenario through minio-go and the AWS SDK.
type client interface {
	put(ctx context.Context, key string, data []byte, meta map[string]string) (etag string, err error)
	// get reads n bytes from off, or the whole object for n < 0.
	get(ctx context.Context, key string, off, n int64) ([]byte, error)
	head(ctx context.Context, key string) (objInfo, error)
	remove(ctx context.Context, key string) error
	removeMany(ctx context.Context, keys []string) error
	// list returns the keys and common prefixes under prefix after
	// startAfter, fetching pageSize entries a request.
	list(ctx context.Context, prefix string, recursive bool, startAfter string, pageSize int) (keys, prefixes []string, err error)
	bucketExists(ctx context.Context, name string) (bool, error)
	location(ctx context.Context) (string, error)
}

type minioClient struct{ c *minio.Client }

func (m minioClient) put(ctx context.Context, key string, data []byte, meta map[string]string) (string, error) {
	// The options kopia's s3 storage uses.
	info, err := m.c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ContentType: "application/x-kopia", DisableMultipart: true, SendContentMd5: true, UserMetadata: meta,
	})
	return info.ETag, err
}

func (m minioClient) get(ctx context.Context, key string, off, n int64) ([]byte, error) {
	var opts minio.GetObjectOptions
	if n >= 0 {
		if err := opts.SetRange(off, off+n-1); err != nil {
			return nil, err
		}
	}
	o, err := m.c.GetObject(ctx, bucket, key, opts)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}

func (m minioClient) head(ctx context.Context, key string) (objInfo, error) {
	oi, err := m.c.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	meta := map[string]string{}
	for k, v := range oi.UserMetadata {
		meta[strings.ToLower(k)] = v
	}
	return objInfo{size: oi.Size, etag: oi.ETag, meta: meta}, err
}

func (m minioClient) remove(ctx context.Context, key string) error {
	return m.c.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{})
}

func (m minioClient) removeMany(ctx context.Context, keys []string) error {
	ch := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	for e := range m.c.RemoveObjects(ctx, bucket, ch, minio.RemoveObjectsOptions{}) {
		return e.Err
	}
	return nil
}

func (m minioClient) list(ctx context.Context, prefix string, recursive bool, startAfter string, pageSize int) (keys, prefixes []string, err error) {
	for o := range m.c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: recursive, StartAfter: startAfter, MaxKeys: pageSize}) {
		switch {
		case o.Err != nil:
			return nil, nil, o.Err
		case strings.HasSuffix(o.Key, "/") && o.Size == 0:
			prefixes = append(prefixes, o.Key)
		default:
			keys = append(keys, o.Key)
		}
	}
	return keys, prefixes, nil
}

func (m minioClient) bucketExists(ctx context.Context, name string) (bool, error) {
	return m.c.BucketExists(ctx, name)
}

func (m minioClient) location(ctx context.Context) (string, error) {
	return m.c.GetBucketLocation(ctx, bucket)
}

type awsClient struct{ c *s3.Client }

func (a awsClient) put(ctx context.Context, key string, data []byte, meta map[string]string) (string, error) {
	out, err := a.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data), Metadata: meta,
		ContentType: aws.String("application/octet-stream"),
	})
	if err != nil {
		return "", err
	}
	return strings.Trim(aws.ToString(out.ETag), `"`), nil
}

func (a awsClient) get(ctx context.Context, key string, off, n int64) ([]byte, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if n >= 0 {
		in.Range = aws.String("bytes=" + itoa(off) + "-" + itoa(off+n-1))
	}
	out, err := a.c.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func (a awsClient) head(ctx context.Context, key string) (objInfo, error) {
	out, err := a.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return objInfo{}, err
	}
	return objInfo{size: aws.ToInt64(out.ContentLength), etag: strings.Trim(aws.ToString(out.ETag), `"`), meta: out.Metadata}, nil
}

func (a awsClient) remove(ctx context.Context, key string) error {
	_, err := a.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return err
}

func (a awsClient) removeMany(ctx context.Context, keys []string) error {
	var ids []types.ObjectIdentifier
	for _, k := range keys {
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
	}
	out, err := a.c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
	if err == nil && (len(out.Deleted) != 0 || len(out.Errors) != 0) {
		return errorf("quiet DeleteObjects answered %d Deleted and %d Errors entries", len(out.Deleted), len(out.Errors))
	}
	return err
}

func (a awsClient) list(ctx context.Context, prefix string, recursive bool, startAfter string, pageSize int) (keys, prefixes []string, err error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(int32(pageSize))}
	if !recursive {
		in.Delimiter = aws.String("/")
	}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	p := s3.NewListObjectsV2Paginator(a.c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, err
		}
		if n := len(page.Contents) + len(page.CommonPrefixes); int32(n) != aws.ToInt32(page.KeyCount) {
			return nil, nil, errorf("KeyCount %d for %d entries", aws.ToInt32(page.KeyCount), n)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, cp := range page.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(cp.Prefix))
		}
	}
	return keys, prefixes, nil
}

func (a awsClient) bucketExists(ctx context.Context, name string) (bool, error) {
	_, err := a.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
	if c := errCode(err); c == "NotFound" || c == "NoSuchBucket" {
		return false, nil
	}
	return err == nil, err
}

func (a awsClient) location(ctx context.Context) (string, error) {
	out, err := a.c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(bucket)})
	if err != nil {
		return "", err
	}
	return string(out.LocationConstraint), nil
}

// clientCase is one S3 client in one addressing style.
type clientCase struct {
	name string
	make func(t testing.TB, e *env, mods ...func(*clientOpts)) client
	// payload is how the client signs an upload over plain HTTP
	// (oss.Server.S3Payloads).
	payload string
	// headMissing is the code the client reports for a HEAD 404 (no body).
	headMissing string
	// location is what GetBucketLocation returns: minio-go answers from
	// the region it was configured with, without a request.
	location string
}

var clientCases = []clientCase{
	{"minio-go/path", func(t testing.TB, e *env, m ...func(*clientOpts)) client {
		return minioClient{e.minioClient(t, pathStyle, m...)}
	}, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "NoSuchKey", region},
	{"minio-go/virtual-host", func(t testing.TB, e *env, m ...func(*clientOpts)) client {
		return minioClient{e.minioClient(t, virtualStyle, m...)}
	}, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "NoSuchKey", region},
	{"aws-sdk-go-v2/path", func(t testing.TB, e *env, m ...func(*clientOpts)) client {
		return awsClient{e.awsClient(t, pathStyle, m...)}
	}, "sha256", "NotFound", "oss-" + region},
	{"aws-sdk-go-v2/virtual-host", func(t testing.TB, e *env, m ...func(*clientOpts)) client {
		return awsClient{e.awsClient(t, virtualStyle, m...)}
	}, "sha256", "NotFound", "oss-" + region},
}
