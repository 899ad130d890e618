package bench

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

const listObjects = 10000

// BenchmarkList lists a prefix of 10,000 objects: through the plugin's
// ListObjects over Velero's gRPC client, and with the bare SDK paging 50 keys
// at a time, as the upstream Alibaba plugin does (200 requests).
// requests/op is counted by the emulator.
func BenchmarkList(b *testing.B) {
	e := newOSSEnv(b)
	const prefix = "backups/b1/"
	seed(b, e, prefix, listObjects)

	b.Run("objects=10000/plugin", func(b *testing.B) {
		store, _ := e.pluginObjectStore(b, defaultPartSize, defaultConcurrency)
		var requests int64
		for b.Loop() {
			before := e.emu.Requests()
			keys, err := store.ListObjects(bucketName, prefix)
			if err != nil {
				b.Fatal(err)
			}
			requests = e.emu.Requests() - before
			checkKeys(b, keys, prefix)
		}
		b.ReportMetric(float64(requests), "requests/op")
	})
	b.Run("objects=10000/upstream-page50", func(b *testing.B) {
		var requests int64
		for b.Loop() {
			before := e.emu.Requests()
			keys, err := listPaged(e.sdk, prefix, 50)
			if err != nil {
				b.Fatal(err)
			}
			requests = e.emu.Requests() - before
			checkKeys(b, keys, prefix)
		}
		b.ReportMetric(float64(requests), "requests/op")
	})
}

// listPaged is the upstream plugin's listing: ListObjects (V1) with a marker,
// max-keys keys per request.
func listPaged(bkt *oss.Bucket, prefix string, maxKeys int) ([]string, error) {
	var keys []string
	marker := ""
	for {
		res, err := bkt.ListObjects(oss.Prefix(prefix), oss.Marker(marker), oss.MaxKeys(maxKeys))
		if err != nil {
			return nil, err
		}
		for _, o := range res.Objects {
			keys = append(keys, o.Key)
		}
		if !res.IsTruncated {
			return keys, nil
		}
		marker = res.NextMarker
	}
}

func checkKeys(b *testing.B, keys []string, prefix string) {
	b.Helper()
	if len(keys) != listObjects {
		b.Fatalf("listed %d keys, want %d", len(keys), listObjects)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			b.Fatalf("listed key %q outside prefix %q", k, prefix)
		}
	}
}

// seed puts n small objects under prefix with the SDK, 16 at a time, plus a
// few outside it that a listing must not return.
func seed(b *testing.B, e *ossEnv, prefix string, n int) {
	b.Helper()
	keys := make(chan string)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				if err := e.sdk.PutObject(k, strings.NewReader("{}")); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range n {
		keys <- fmt.Sprintf("%s%05d.json", prefix, i)
	}
	for i := range 10 {
		keys <- fmt.Sprintf("backups/b2/%05d.json", i)
	}
	close(keys)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("seeding objects: %v", err)
	}
}
