package s3compat_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestMinioMultipart uploads more than minio-go's single-PUT size in 5 MiB
// parts, every part streaming-signed, and reads it back through minio-go
// and the OSS SDK.
func TestMinioMultipart(t *testing.T) {
	for _, st := range []style{pathStyle, virtualStyle} {
		t.Run(string(st), func(t *testing.T) {
			e := newEnv(t)
			c := e.minioClient(t, st)
			ctx := context.Background()
			data := randomBytes(17<<20, 7)
			info, err := c.PutObject(ctx, bucket, "big/object", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
				PartSize: 5 << 20, UserMetadata: map[string]string{"kind": "multipart"},
			})
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			stored, ok := e.srv.Object(bucket, "big/object")
			if !ok || stored.Type != "Multipart" || stored.Parts != 4 || stored.Size != int64(len(data)) ||
				!strings.EqualFold(info.ETag, strings.Trim(stored.ETag, `"`)) || stored.Meta["kind"] != "multipart" {
				t.Fatalf("stored %+v, upload ETag %q", stored, info.ETag)
			}
			ops := e.srv.Operations()
			if ops["InitiateMultipartUpload"] != 1 || ops["UploadPart"] != 4 || ops["CompleteMultipartUpload"] != 1 {
				t.Errorf("operations %v, want 1 initiate, 4 parts, 1 complete", ops)
			}
			if n := e.srv.S3Payloads()["STREAMING-AWS4-HMAC-SHA256-PAYLOAD"]; n != 4 {
				t.Errorf("streaming-signed requests = %d, want the 4 parts", n)
			}
			o, err := c.GetObject(ctx, bucket, "big/object", minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(o)
			o.Close()
			if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
				t.Errorf("minio read back %d bytes (%v), want the %d uploaded", len(got), err, len(data))
			}
			r, err := e.ossBucket(t).GetObject("big/object")
			if err != nil {
				t.Fatalf("OSS SDK GetObject: %v", err)
			}
			got, err = io.ReadAll(r)
			r.Close()
			if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
				t.Errorf("OSS SDK read back %d bytes (%v), want the %d uploaded", len(got), err, len(data))
			}
			if n := e.srv.MultipartUploads(bucket); n != 0 {
				t.Errorf("%d uploads left in progress", n)
			}
		})
	}
}

// TestAWSMultipart drives the multipart operations one by one: create,
// parts, ListParts, complete; and an aborted upload.
func TestAWSMultipart(t *testing.T) {
	for _, st := range []style{pathStyle, virtualStyle} {
		t.Run(string(st), func(t *testing.T) {
			e := newEnv(t)
			c := e.awsClient(t, st)
			ctx := context.Background()
			key := aws.String("parts/object")
			created, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: key, Metadata: map[string]string{"kind": "parts"}})
			if err != nil {
				t.Fatalf("CreateMultipartUpload: %v", err)
			}
			// OSS's minimum part size (100 KiB) applies, not S3's 5 MiB.
			parts := [][]byte{randomBytes(200<<10, 1), randomBytes(300<<10, 2), []byte("tail")}
			var done []types.CompletedPart
			for i, p := range parts {
				out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: key, UploadId: created.UploadId,
					PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
				if err != nil {
					t.Fatalf("UploadPart %d: %v", i+1, err)
				}
				done = append(done, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
			}
			listed, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: key, UploadId: created.UploadId})
			if err != nil || len(listed.Parts) != len(parts) {
				t.Fatalf("ListParts: %+v, %v", listed, err)
			}
			for i, p := range listed.Parts {
				if aws.ToInt64(p.Size) != int64(len(parts[i])) || aws.ToString(p.ETag) != aws.ToString(done[i].ETag) {
					t.Errorf("part %d listed as %d bytes %s, uploaded %d bytes %s", i+1, aws.ToInt64(p.Size), aws.ToString(p.ETag), len(parts[i]), aws.ToString(done[i].ETag))
				}
			}
			completed, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: key,
				UploadId: created.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
			if err != nil {
				t.Fatalf("CompleteMultipartUpload: %v", err)
			}
			stored, _ := e.srv.Object(bucket, *key)
			want := bytes.Join(parts, nil)
			if stored.Type != "Multipart" || stored.Parts != 3 || stored.Size != int64(len(want)) ||
				aws.ToString(completed.ETag) != stored.ETag || stored.Meta["kind"] != "parts" {
				t.Errorf("stored %+v, completed ETag %s", stored, aws.ToString(completed.ETag))
			}
			if got, err := e.srv.ReadObject(bucket, *key); err != nil || !bytes.Equal(got, want) {
				t.Errorf("stored content differs (%v)", err)
			}

			aborted, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("parts/aborted")})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("parts/aborted"), UploadId: aborted.UploadId,
				PartNumber: aws.Int32(1), Body: bytes.NewReader(parts[0])}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("parts/aborted"), UploadId: aborted.UploadId}); err != nil {
				t.Fatalf("AbortMultipartUpload: %v", err)
			}
			if n := e.srv.MultipartUploads(bucket); n != 0 {
				t.Errorf("%d uploads left in progress", n)
			}
			_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String("parts/aborted"), UploadId: aborted.UploadId})
			if errCode(err) != "NoSuchUpload" {
				t.Errorf("ListParts of an aborted upload: code %q (%v), want NoSuchUpload", errCode(err), err)
			}
		})
	}
}
