package s3compat_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// TestOperations runs every object and bucket operation kopia's s3 storage
// and the AWS SDK use, through each client in each addressing style.
func TestOperations(t *testing.T) {
	for _, cc := range clientCases {
		t.Run(cc.name, func(t *testing.T) {
			e := newEnv(t)
			c := cc.make(t, e)
			ctx := context.Background()
			objects := map[string][]byte{
				"a/1":   []byte("first object"),
				"a/2":   bytes.Repeat([]byte("0123456789"), 1000),
				"a/b/3": []byte("nested"),
				"c":     {},
			}
			keys := []string{"a/1", "a/2", "a/b/3", "c"}
			for _, k := range keys {
				etag, err := c.put(ctx, k, objects[k], map[string]string{"color": "blue"})
				if err != nil {
					t.Fatalf("put %s: %v", k, err)
				}
				stored, ok := e.srv.Object(bucket, k)
				if !ok || stored.Size != int64(len(objects[k])) || !strings.EqualFold(etag, strings.Trim(stored.ETag, `"`)) {
					t.Fatalf("put %s: ETag %q, stored %+v", k, etag, stored)
				}
				if stored.Meta["color"] != "blue" {
					t.Errorf("put %s: stored metadata %v, want color=blue", k, stored.Meta)
				}
			}
			if n := e.srv.S3Payloads()[cc.payload]; n < int64(len(keys)) {
				t.Errorf("S3Payloads()[%q] = %d after %d uploads (all: %v)", cc.payload, n, len(keys), e.srv.S3Payloads())
			}

			info, err := c.head(ctx, "a/2")
			stored, _ := e.srv.Object(bucket, "a/2")
			if err != nil || info.size != 10000 || !strings.EqualFold(info.etag, strings.Trim(stored.ETag, `"`)) || info.meta["color"] != "blue" {
				t.Errorf("head a/2 = %+v, %v; stored %+v", info, err, stored)
			}
			if _, err := c.head(ctx, "missing"); errCode(err) != cc.headMissing {
				t.Errorf("head missing: code %q (%v), want %s", errCode(err), err, cc.headMissing)
			}

			for _, g := range []struct {
				key      string
				off, n   int64
				want     []byte
				wantCode string
			}{
				{"a/1", 0, -1, objects["a/1"], ""},
				{"a/2", 1234, 100, objects["a/2"][1234:1334], ""},
				{"a/2", 9990, 100, objects["a/2"][9990:], ""}, // a range past the end is cut
				{"a/2", 10000, 10, nil, "InvalidRange"},
				{"missing", 0, -1, nil, "NoSuchKey"},
			} {
				got, err := c.get(ctx, g.key, g.off, g.n)
				if errCode(err) != g.wantCode || (g.wantCode == "" && !bytes.Equal(got, g.want)) {
					t.Errorf("get %s [%d,+%d): %d bytes, code %q (%v); want %d bytes, code %q", g.key, g.off, g.n, len(got), errCode(err), err, len(g.want), g.wantCode)
				}
			}

			for _, l := range []struct {
				prefix         string
				recursive      bool
				startAfter     string
				pageSize       int
				keys, prefixes []string
				requests       int64
			}{
				{"", true, "", 1000, keys, nil, 1},
				{"", true, "", 2, keys, nil, 2},
				{"a/", false, "", 1, []string{"a/1", "a/2"}, []string{"a/b/"}, 3},
				{"", false, "", 1000, []string{"c"}, []string{"a/"}, 1},
				{"", true, "a/2", 1000, []string{"a/b/3", "c"}, nil, 1},
				{"zzz/", true, "", 1000, nil, nil, 1},
			} {
				before := e.srv.Operations()["ListObjectsV2"]
				gotKeys, gotPrefixes, err := c.list(ctx, l.prefix, l.recursive, l.startAfter, l.pageSize)
				requests := e.srv.Operations()["ListObjectsV2"] - before
				if err != nil || !slices.Equal(gotKeys, l.keys) || !slices.Equal(gotPrefixes, l.prefixes) || requests != l.requests {
					t.Errorf("list prefix %q recursive %v after %q by %d: %v %v in %d requests (%v); want %v %v in %d",
						l.prefix, l.recursive, l.startAfter, l.pageSize, gotKeys, gotPrefixes, requests, err, l.keys, l.prefixes, l.requests)
				}
			}

			if ok, err := c.bucketExists(ctx, bucket); !ok || err != nil {
				t.Errorf("bucket exists: %v, %v", ok, err)
			}
			if ok, err := c.bucketExists(ctx, "no-such-bucket"); ok || err != nil {
				t.Errorf("missing bucket exists: %v, %v", ok, err)
			}
			if loc, err := c.location(ctx); loc != cc.location || err != nil {
				t.Errorf("location = %q, %v", loc, err)
			}

			for i := 0; i < 2; i++ { // deleting is idempotent
				if err := c.remove(ctx, "c"); err != nil {
					t.Errorf("remove c (#%d): %v", i+1, err)
				}
			}
			if _, ok := e.srv.Object(bucket, "c"); ok {
				t.Error("c still stored after remove")
			}
			if err := c.removeMany(ctx, []string{"a/1", "a/2", "a/b/3", "never-existed"}); err != nil {
				t.Errorf("removeMany: %v", err)
			}
			if left := e.srv.Objects(bucket); len(left) != 0 {
				t.Errorf("objects left after removeMany: %+v", left)
			}
			if n := e.srv.Operations()["DeleteMultipleObjects"]; n != 1 {
				t.Errorf("DeleteMultipleObjects requests = %d, want 1", n)
			}
		})
	}
}
