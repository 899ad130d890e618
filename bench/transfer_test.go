package bench

import (
	"bytes"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// BenchmarkUpload streams BENCH_SIZES bytes (default 256MiB) into the OSS
// emulator in several ways, one after the other in the same run:
//
//   - plugin: Velero's gRPC ObjectStore client (16 KiB chunks, as the Velero
//     server sends a backup tarball) into the plugin process, which uploads
//     with its default part size and concurrency;
//   - in-process: the plugin's ObjectStore called directly in this process
//     (no gRPC): the plugin's own cost;
//   - sdk-multipart: the bare OSS SDK from this process (InitiateMultipartUpload,
//     then UploadPart) with the same part size and concurrency (the SDK has
//     no concurrent upload for a stream, only for files);
//   - http-put: one plain net/http PUT of the same bytes to a presigned URL,
//     no SDK, no multipart: what loopback + the emulator can take;
//   - null-plugin: the same stream through Velero's gRPC client into a plugin
//     process that discards it: the cost of Velero's plugin protocol alone;
//   - null-plugin-reads=1MiB, =16MiB: the same, the null plugin reading 1 MiB
//     or 16 MiB (a whole part, like the plugin's upload) at a time.
//
// peak-RSS-MiB is the plugin process's VmHWM (a fresh process per run);
// RSS-target-MiB is the memory target, 64 MiB + partSize × concurrency.
func BenchmarkUpload(b *testing.B) {
	e := newOSSEnv(b)
	for _, size := range sizes(b, "BENCH_SIZES", "256MiB") {
		checkDisk(b, size)
		want := streamCRC(size)
		b.Run("size="+human(size), func(b *testing.B) {
			store, _ := e.pluginObjectStore(b, defaultPartSize, defaultConcurrency)
			warmUp(b, e, store, size, want)
			b.Run("plugin", func(b *testing.B) {
				store, pid := e.pluginObjectStore(b, defaultPartSize, defaultConcurrency)
				b.SetBytes(size)
				startRSS := peakRSS(b, pid) // after Init, before any data
				cpu := cpuTime(b, pid)
				rss := sampleRSS(pid)
				for b.Loop() {
					if err := store.PutObject(bucketName, "upload/plugin", newStream(size)); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpuTime(b, pid)-cpu, size)
				rss.report(b)
				b.ReportMetric(startRSS, "start-RSS-MiB") // after the loop: b.Loop resets metrics
				b.ReportMetric(peakRSS(b, pid), "peak-RSS-MiB")
				b.ReportMetric(64+float64(defaultPartSize*defaultConcurrency)/mib, "RSS-target-MiB")
				e.verifyAndDelete(b, "upload/plugin", size, want)
			})
			b.Run("in-process", func(b *testing.B) {
				store := e.inProcessObjectStore(b, defaultPartSize, defaultConcurrency)
				b.SetBytes(size)
				for b.Loop() {
					if err := store.PutObject(bucketName, "upload/inproc", newStream(size)); err != nil {
						b.Fatal(err)
					}
				}
				e.verifyAndDelete(b, "upload/inproc", size, want)
			})
			b.Run("sdk-multipart", func(b *testing.B) {
				b.SetBytes(size)
				for b.Loop() {
					if err := sdkUpload(e.sdk, "upload/sdk", newStream(size), defaultPartSize, defaultConcurrency); err != nil {
						b.Fatal(err)
					}
				}
				e.verifyAndDelete(b, "upload/sdk", size, want)
			})
			b.Run("http-put", func(b *testing.B) {
				b.SetBytes(size)
				for b.Loop() {
					if err := e.httpPut("upload/http", newStream(size), size); err != nil {
						b.Fatal(err)
					}
				}
				e.verifyAndDelete(b, "upload/http", size, want)
			})
			for _, reads := range []int{0, mib, defaultPartSize} {
				name, key := "null-plugin", "upload/null"
				if reads > 0 {
					name, key = fmt.Sprintf("null-plugin-reads=%s", human(int64(reads))), fmt.Sprintf("upload/reads=%d", reads)
				}
				b.Run(name, func(b *testing.B) {
					store, pid := nullObjectStore(b)
					b.SetBytes(size)
					cpu := cpuTime(b, pid)
					for b.Loop() {
						if err := store.PutObject(bucketName, key, newStream(size)); err != nil {
							b.Fatal(err)
						}
					}
					reportCPU(b, cpuTime(b, pid)-cpu, size)
					b.ReportMetric(peakRSS(b, pid), "peak-RSS-MiB")
				})
			}
		})
	}
}

// BenchmarkDownload reads back an object of each BENCH_SIZES size: through
// the plugin's GetObject (the plugin streams it to Velero's client in 16 KiB
// gRPC messages and checks the CRC64), the bare SDK's GetObject (which checks
// the CRC64 too), a plain HTTP GET of a presigned URL, and a null plugin that
// streams zeros over the same gRPC path (the protocol's own ceiling).
func BenchmarkDownload(b *testing.B) {
	e := newOSSEnv(b)
	for _, size := range sizes(b, "BENCH_SIZES", "256MiB") {
		checkDisk(b, size)
		key := "download/" + human(size)
		if err := sdkUpload(e.sdk, key, newStream(size), defaultPartSize, defaultConcurrency); err != nil {
			b.Fatal(err)
		}
		b.Run("size="+human(size), func(b *testing.B) {
			b.Run("plugin", func(b *testing.B) {
				store, pid := e.pluginObjectStore(b, defaultPartSize, defaultConcurrency)
				measureDownload(b, store, pid, key, size)
			})
			b.Run("in-process", func(b *testing.B) {
				store := e.inProcessObjectStore(b, defaultPartSize, defaultConcurrency)
				b.SetBytes(size)
				for b.Loop() {
					rc, err := store.GetObject(bucketName, key)
					if err != nil {
						b.Fatal(err)
					}
					readAll(b, rc, size)
				}
			})
			b.Run("sdk", func(b *testing.B) {
				b.SetBytes(size)
				for b.Loop() {
					rc, err := e.sdk.GetObject(key)
					if err != nil {
						b.Fatal(err)
					}
					readAll(b, rc, size)
				}
			})
			b.Run("http-get", func(b *testing.B) {
				u, err := e.sdk.SignURL(key, oss.HTTPGet, 3600)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(size)
				for b.Loop() {
					resp, err := http.Get(u)
					if err != nil {
						b.Fatal(err)
					}
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("GET: %s", resp.Status)
					}
					readAll(b, resp.Body, size)
				}
			})
			b.Run("null-plugin", func(b *testing.B) {
				store, pid := nullObjectStore(b)
				b.SetBytes(size)
				cpu := cpuTime(b, pid)
				for b.Loop() {
					rc, err := store.GetObject(bucketName, "null/"+strconv.FormatInt(size, 10))
					if err != nil {
						b.Fatal(err)
					}
					readAll(b, rc, size)
				}
				reportCPU(b, cpuTime(b, pid)-cpu, size)
			})
		})
		if err := e.sdk.DeleteObject(key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUploadSweep uploads BENCH_SWEEP_SIZE (default 256MiB) through the
// plugin with each part size × concurrency, to choose the defaults: MB/s and
// the plugin process's peak RSS per combination.
func BenchmarkUploadSweep(b *testing.B) {
	e := newOSSEnv(b)
	size := sizes(b, "BENCH_SWEEP_SIZE", "256MiB")[0]
	checkDisk(b, size)
	want := streamCRC(size)
	for _, part := range []int64{5 * mib, 8 * mib, 16 * mib, 32 * mib} {
		for _, conc := range []int{2, 4, 8} {
			b.Run(fmt.Sprintf("size=%s/part=%s/conc=%d", human(size), human(part), conc), func(b *testing.B) {
				store, pid := e.pluginObjectStore(b, part, conc)
				b.SetBytes(size)
				cpu := cpuTime(b, pid)
				for b.Loop() {
					if err := store.PutObject(bucketName, "sweep", newStream(size)); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpuTime(b, pid)-cpu, size)
				b.ReportMetric(peakRSS(b, pid), "peak-RSS-MiB")
				b.ReportMetric(64+float64(part*int64(conc))/mib, "RSS-target-MiB")
				e.verifyAndDelete(b, "sweep", size, want)
			})
		}
	}
}

// sdkUpload is the raw-SDK baseline: a multipart upload of a stream with
// concurrency parts in flight, each read into one of concurrency buffers
// (the same memory bound as the plugin), parts completed in order.
func sdkUpload(bkt *oss.Bucket, key string, r io.Reader, partSize int64, concurrency int) error {
	imur, err := bkt.InitiateMultipartUpload(key)
	if err != nil {
		return err
	}
	type job struct {
		num int
		buf []byte
	}
	free := make(chan []byte, max(concurrency, 2))
	for range max(concurrency, 2) {
		free <- make([]byte, partSize)
	}
	jobs := make(chan job)
	var (
		mu       sync.Mutex
		parts    []oss.UploadPart
		firstErr error
		wg       sync.WaitGroup
	)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				p, err := bkt.UploadPart(imur, bytes.NewReader(j.buf), int64(len(j.buf)), j.num)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				parts = append(parts, p)
				mu.Unlock()
				free <- j.buf[:cap(j.buf)]
			}
		}()
	}
	var readErr error
	for num := 1; ; num++ {
		buf := <-free
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			jobs <- job{num, buf[:n]}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
	}
	close(jobs)
	wg.Wait()
	if err := firstErr; err != nil || readErr != nil {
		bkt.AbortMultipartUpload(imur)
		return fmt.Errorf("sdk multipart upload: %v %v", err, readErr)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].PartNumber < parts[j].PartNumber })
	_, err = bkt.CompleteMultipartUpload(imur, parts)
	return err
}

// OSS's limit of a single PUT, and the part size httpPut uses above it
// (variables so that a test can exercise the multipart path cheaply).
var (
	httpSingleLimit int64 = 5 << 30
	httpPartSize    int64 = 4 << 30
)

// httpPut sends the stream with plain net/http to presigned URLs: one PUT
// when it fits OSS's 5 GiB single-request limit, else one PUT per 4 GiB part
// of a multipart upload (initiated and completed with the SDK).
func (e *ossEnv) httpPut(key string, r io.Reader, size int64) error {
	if size <= httpSingleLimit {
		u, err := e.sdk.SignURL(key, oss.HTTPPut, 3600)
		if err != nil {
			return err
		}
		_, err = put(u, r, size)
		return err
	}
	partSize := httpPartSize
	imur, err := e.sdk.InitiateMultipartUpload(key)
	if err != nil {
		return err
	}
	var parts []oss.UploadPart
	for num := 1; size > 0; num++ {
		n := min(size, partSize)
		u, err := e.sdk.SignURL(key, oss.HTTPPut, 3600, oss.AddParam("partNumber", strconv.Itoa(num)), oss.AddParam("uploadId", imur.UploadID))
		if err != nil {
			return err
		}
		etag, err := put(u, io.LimitReader(r, n), n)
		if err != nil {
			e.sdk.AbortMultipartUpload(imur)
			return err
		}
		parts = append(parts, oss.UploadPart{PartNumber: num, ETag: etag})
		size -= n
	}
	_, err = e.sdk.CompleteMultipartUpload(imur, parts)
	return err
}

func put(url string, r io.Reader, size int64) (etag string, err error) {
	req, err := http.NewRequest(http.MethodPut, url, r)
	if err != nil {
		return "", err
	}
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("PUT: %s: %s", resp.Status, body)
	}
	return resp.Header.Get("ETag"), nil
}

// verifyAndDelete checks that the emulator holds the whole object with the
// stream's CRC64, then deletes it so that the disk does not fill up.
func (e *ossEnv) verifyAndDelete(b *testing.B, key string, size int64, crc uint64) {
	b.Helper()
	info, ok := e.emu.Object(bucketName, key)
	if !ok {
		b.Fatalf("object %s is not in the bucket after the upload", key)
	}
	if info.Size != size || info.CRC64 != crc {
		b.Fatalf("object %s: size %d CRC64 %d, want %d and %d", key, info.Size, info.CRC64, size, crc)
	}
	if err := e.sdk.DeleteObject(key); err != nil {
		b.Fatal(err)
	}
}

// readAll drains rc and checks that it held size bytes.
func readAll(b *testing.B, rc io.ReadCloser, size int64) {
	b.Helper()
	n, err := io.Copy(io.Discard, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	if n != size {
		b.Fatalf("read %d bytes, want %d", n, size)
	}
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// streamCRC is the CRC-64/ECMA of newStream(size), as OSS reports it.
func streamCRC(size int64) uint64 {
	h := crc64.New(crcTable)
	io.Copy(h, newStream(size))
	return h.Sum64()
}

// checkDisk skips a size that the disk cannot hold twice (object plus the
// multipart part files while an upload completes), with a margin.
func checkDisk(b *testing.B, size int64) {
	b.Helper()
	dir := b.TempDir()
	if free := freeDisk(dir); free >= 0 && free < 2*size+(2<<30) {
		b.Skipf("%s: only %.1f GiB free under %s, need %.1f GiB", human(size), float64(free)/(1<<30), dir, float64(2*size+(2<<30))/(1<<30))
	}
}
