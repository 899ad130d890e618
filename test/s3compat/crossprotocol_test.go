package s3compat_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	aliyun "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// TestCrossProtocol: one bucket, two protocols. What an S3 client writes the
// OSS SDK reads, with the same bytes, ETag and metadata, and the reverse.
func TestCrossProtocol(t *testing.T) {
	for _, cc := range clientCases {
		t.Run(cc.name, func(t *testing.T) {
			e := newEnv(t)
			c := cc.make(t, e)
			b := e.ossBucket(t)
			ctx := context.Background()

			s3Data := []byte("written over the S3 protocol")
			etag, err := c.put(ctx, "cross/from-s3", s3Data, map[string]string{"origin": "s3"})
			if err != nil {
				t.Fatal(err)
			}
			r, err := b.GetObject("cross/from-s3")
			if err != nil {
				t.Fatalf("OSS SDK GetObject: %v", err)
			}
			got, _ := io.ReadAll(r)
			r.Close()
			meta, err := b.GetObjectDetailedMeta("cross/from-s3")
			if err != nil || !bytes.Equal(got, s3Data) || meta.Get("X-Oss-Meta-Origin") != "s3" ||
				!strings.EqualFold(strings.Trim(meta.Get("ETag"), `"`), etag) {
				t.Errorf("OSS SDK sees %q, meta %v (%v); S3 ETag %s", got, meta, err, etag)
			}

			ossData := []byte("written over the OSS protocol")
			if err := b.PutObject("cross/from-oss", bytes.NewReader(ossData), aliyun.Meta("origin", "oss")); err != nil {
				t.Fatalf("OSS SDK PutObject: %v", err)
			}
			ossMeta, _ := b.GetObjectDetailedMeta("cross/from-oss")
			got, err = c.get(ctx, "cross/from-oss", 0, -1)
			if err != nil || !bytes.Equal(got, ossData) {
				t.Errorf("S3 get of an OSS object: %q, %v", got, err)
			}
			info, err := c.head(ctx, "cross/from-oss")
			if err != nil || info.size != int64(len(ossData)) || info.meta["origin"] != "oss" ||
				!strings.EqualFold(info.etag, strings.Trim(ossMeta.Get("ETag"), `"`)) {
				t.Errorf("S3 head of an OSS object: %+v, %v; OSS ETag %s", info, err, ossMeta.Get("ETag"))
			}
			keys, _, err := c.list(ctx, "cross/", true, "", 1000)
			if err != nil || strings.Join(keys, ",") != "cross/from-oss,cross/from-s3" {
				t.Errorf("S3 listing: %v, %v", keys, err)
			}
			if err := b.DeleteObject("cross/from-s3"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.head(ctx, "cross/from-s3"); errCode(err) != cc.headMissing {
				t.Errorf("S3 head after an OSS delete: code %q (%v)", errCode(err), err)
			}
		})
	}
}
