package objectstore

import (
	"io"
	"math/rand"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// benchSize is the stream size for BenchmarkPutObject: OSS_BENCH_SIZE in
// bytes or with Ki/Mi/Gi (e.g. 1Gi); 64Mi by default to keep `go test
// -bench` quick.
func benchSize(b *testing.B) int64 {
	v := os.Getenv("OSS_BENCH_SIZE")
	if v == "" {
		return 64 << 20
	}
	n, err := parseSize(map[string]string{"size": v}, "size", 0, 1, 1<<40)
	if err != nil {
		b.Fatalf("OSS_BENCH_SIZE: %v", err)
	}
	return n
}

// patternReader streams n pseudo-random bytes without holding them: it
// repeats one random MiB. Only Read is exposed, like Velero's stream.
type patternReader struct {
	block []byte
	left  int64
	off   int
}

func newPatternReader(n int64) *patternReader {
	block := make([]byte, 1<<20)
	rand.New(rand.NewSource(99)).Read(block)
	return &patternReader{block: block, left: n}
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n := copy(b, p.block[p.off:])
	p.off = (p.off + n) % len(p.block)
	p.left -= int64(n)
	return n, nil
}

// peakHeap samples the Go heap (live and not yet swept objects) while fn
// runs and returns the peak in MiB. runtime/metrics does not stop the world,
// unlike runtime.ReadMemStats, so sampling does not slow the upload.
func peakHeap(fn func()) float64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return float64(peak.Load()) / (1 << 20)
}

// OSS_BENCH_PART_SIZE and OSS_BENCH_CONCURRENCY override the plugin's
// partSize and uploadConcurrency (the SDK run uses the same part size).
//
// BenchmarkPutObject compares the plugin's streamed PutObject (parts in
// parallel) with a plain SDK multipart upload of the same stream (parts one
// after another, SDK defaults) against the same emulator. Run with e.g.
// OSS_BENCH_SIZE=1Gi go test -run '^$' -bench PutObject -benchtime 1x ./object-store/
func BenchmarkPutObject(b *testing.B) {
	size := benchSize(b)
	e := newEnv(b)
	var kv []string
	for env, key := range map[string]string{"OSS_BENCH_PART_SIZE": keyPartSize, "OSS_BENCH_CONCURRENCY": keyUploadConcurrency} {
		if v := os.Getenv(env); v != "" {
			kv = append(kv, key, v)
		}
	}
	o := e.store(kv...)
	partSize := o.s.partSize
	b.Logf("stream %s, partSize %s, uploadConcurrency %d", humanSize(size), humanSize(partSize), o.s.concurrency)

	b.Run("plugin", func(b *testing.B) {
		b.SetBytes(size)
		var peak float64
		for i := 0; i < b.N; i++ {
			peak = max(peak, peakHeap(func() {
				if err := o.PutObject(testBucket, "bench/plugin", patternReader2(size)); err != nil {
					b.Fatal(err)
				}
			}))
		}
		b.ReportMetric(peak, "peak-heap-MiB")
	})

	b.Run("sdk-multipart", func(b *testing.B) {
		client, err := oss.New(e.srv.URL, testKeyID, testSecret, oss.AuthVersion(oss.AuthV4), oss.Region(testRegion))
		if err != nil {
			b.Fatal(err)
		}
		bucket, err := client.Bucket(testBucket)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		var peak float64
		for i := 0; i < b.N; i++ {
			peak = max(peak, peakHeap(func() {
				if err := sdkMultipart(bucket, "bench/sdk", patternReader2(size), size, partSize); err != nil {
					b.Fatal(err)
				}
			}))
		}
		b.ReportMetric(peak, "peak-heap-MiB")
	})
}

func patternReader2(n int64) io.Reader { return streamOnly{newPatternReader(n)} }

// sdkMultipart is what a caller of the bare SDK writes for a stream of known
// size: initiate, upload each part from the stream, complete.
func sdkMultipart(bucket *oss.Bucket, key string, r io.Reader, size, partSize int64) error {
	imur, err := bucket.InitiateMultipartUpload(key)
	if err != nil {
		return err
	}
	var parts []oss.UploadPart
	for num := 1; size > 0; num++ {
		n := min(partSize, size)
		p, err := bucket.UploadPart(imur, r, n, num)
		if err != nil {
			bucket.AbortMultipartUpload(imur)
			return err
		}
		parts = append(parts, p)
		size -= n
	}
	_, err = bucket.CompleteMultipartUpload(imur, parts)
	return err
}
