package objectstore

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// PutObject streams body to OSS without knowing its length. It reads up to
// partSize bytes: a body that ends within them is sent with one PUT; a longer
// one becomes a multipart upload whose parts are sent by uploadConcurrency
// workers, so at most partSize × uploadConcurrency bytes (two parts when
// uploadConcurrency is 1) are in memory.
// Any failure aborts the multipart upload so that no parts are left behind.
// The CRC64 of the whole object is checked against the one OSS reports.
func (o *ObjectStore) PutObject(bucket, key string, body io.Reader) error {
	b, err := o.bucket(bucket)
	if err != nil {
		return err
	}
	first, err := readPart(body, make([]byte, 0, min(o.cfg.partSize, 64<<10)), o.cfg.partSize)
	if err != nil && err != io.EOF {
		return fmt.Errorf("put object %q in bucket %q: reading the data to upload: %w", key, bucket, err)
	}
	if err == io.EOF {
		return o.putSingle(b, bucket, key, first)
	}
	// The first part is full; peek at the next one so that a body of exactly
	// partSize bytes still goes in one PUT.
	second, err := readPart(body, make([]byte, 0, o.cfg.partSize), o.cfg.partSize)
	if err != nil && err != io.EOF {
		return fmt.Errorf("put object %q in bucket %q: reading the data to upload: %w", key, bucket, err)
	}
	if len(second) == 0 {
		return o.putSingle(b, bucket, key, first)
	}
	u := &upload{o: o, b: b, bucket: bucket, key: key}
	return u.run(body, first, second, err == io.EOF)
}

// maxRead bounds one Read of the body; see readPart.
const maxRead = 1 << 20

// readPart reads until buf holds size bytes or the body ends. It returns
// io.EOF when the body ended (buf may hold data), nil when buf is full.
func readPart(r io.Reader, buf []byte, size int64) ([]byte, error) {
	for int64(len(buf)) < size {
		if len(buf) == cap(buf) {
			// Double up to 1 MiB, then go straight to the part size: small
			// bodies stay cheap and large ones leave little garbage behind.
			next := int64(max(2*cap(buf), 64<<10))
			if next > 1<<20 {
				next = size
			}
			grown := make([]byte, len(buf), min(size, next))
			copy(grown, buf)
			buf = grown
		}
		// At most maxRead per call: Velero's gRPC stream reader fills the
		// caller's whole slice from its own buffer, so asking for a whole
		// part at once would hold the part twice in the plugin process.
		n, err := r.Read(buf[len(buf):min(cap(buf), len(buf)+maxRead)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, io.EOF
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func (o *ObjectStore) putSingle(b bucketAPI, bucket, key string, data []byte) error {
	want := checksum(data)
	err := o.withRetry("put", bucket, key, func() error {
		var hdr http.Header
		opts := append(o.objectOptions(), oss.ContentLength(int64(len(data))), oss.GetResponseHeader(&hdr))
		if err := b.PutObject(key, byteReader(data), opts...); err != nil {
			return err
		}
		// A corrupted PUT is retried: the next one overwrites the object.
		return checkCRC(hdr, want, &crcError{op: "put", bucket: bucket, key: key, client: want, transient: true})
	})
	var cerr *crcError
	if errors.As(err, &cerr) {
		return o.deleteCorrupt(b, bucket, key, cerr)
	}
	return err
}

// checkCRC compares the CRC64 OSS reports in hdr with want and returns
// mismatch, completed with the server's value, when they differ. Endpoints
// that report no CRC64 (some OSS-compatible stores) pass.
func checkCRC(hdr http.Header, want uint64, mismatch *crcError) error {
	v := hdr.Get(oss.HTTPHeaderOssCRC64)
	if v == "" {
		return nil
	}
	got, err := strconv.ParseUint(v, 10, 64)
	if err == nil && got == want {
		return nil
	}
	mismatch.server = got
	return mismatch
}

// deleteCorrupt deletes an object whose CRC64 does not match the uploaded
// data, because Velero must not find a corrupt backup file that looks
// complete, and returns an error so that the backup is retried or failed.
func (o *ObjectStore) deleteCorrupt(b bucketAPI, bucket, key string, cerr *crcError) error {
	if derr := o.withRetry("delete", bucket, key, func() error { return b.DeleteObject(key) }); derr != nil {
		return fmt.Errorf("%w; deleting the corrupt object also failed: %v", cerr, derr)
	}
	o.log.WithField("bucket", bucket).WithField("key", key).Error("deleted object whose CRC64 did not match the uploaded data")
	return fmt.Errorf("%w; the corrupt object was deleted", cerr)
}

// upload is one multipart upload in progress.
type upload struct {
	o           *ObjectStore
	b           bucketAPI
	bucket, key string
	imur        oss.InitiateMultipartUploadResult

	mu    sync.Mutex
	err   error // first failure
	parts []partResult
	stop  chan struct{} // closed on the first failure
}

type partResult struct {
	part oss.UploadPart
	crc  uint64
	size int64
}

type partJob struct {
	num  int
	data []byte
}

func (u *upload) run(body io.Reader, first, second []byte, ended bool) error {
	o := u.o
	// A try that failed without an OSS answer may still have created an
	// upload; such strays are aborted at the end so they hold no storage.
	strays := false
	err := o.withRetry("initiate multipart upload", u.bucket, u.key, func() error {
		var err error
		u.imur, err = u.b.InitiateMultipartUpload(u.key, o.objectOptions()...)
		var se oss.ServiceError
		if err != nil && !errors.As(err, &se) {
			strays = true
		}
		return err
	})
	if strays {
		defer u.abortStrays()
	}
	if err != nil {
		return err
	}
	u.stop = make(chan struct{})

	// Buffers: the two already read plus up to concurrency-2 more, so the
	// upload holds at most partSize x concurrency (the bound the README
	// promises). When every worker holds a part, the reader waits for one:
	// reading ahead further would only cost memory, since Velero's stream is
	// slower than the uploads (make bench).
	bufs := newBufferPool(o.cfg.partSize, max(o.cfg.concurrency, 2))
	bufs.adopt(2)
	jobs := make(chan partJob)
	var wg sync.WaitGroup
	for i := 0; i < o.cfg.concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				u.uploadPart(j)
				bufs.put(j.data[:0])
			}
		}()
	}

	readErr := u.feed(body, jobs, bufs, first, second, ended)
	close(jobs)
	wg.Wait()

	if readErr != nil {
		u.fail(readErr)
	}
	if u.err == nil {
		u.err = u.complete()
	}
	if u.err != nil {
		return u.abort(u.err)
	}
	return nil
}

// feed reads the body into parts and hands them to the workers. It returns
// a read error, or nil when the body ended or an upload failed.
func (u *upload) feed(body io.Reader, jobs chan<- partJob, bufs *bufferPool, first, second []byte, ended bool) error {
	send := func(j partJob) bool {
		select {
		case jobs <- j:
			return true
		case <-u.stop:
			return false
		}
	}
	if !send(partJob{1, first}) || !send(partJob{2, second}) || ended {
		return nil
	}
	for num := 3; ; num++ {
		buf, ok := bufs.get(u.stop)
		if !ok {
			return nil
		}
		data, err := readPart(body, buf, u.o.cfg.partSize)
		if len(data) > 0 {
			if num > maxParts {
				return fmt.Errorf("put object %q in bucket %q: the object is larger than %d parts of %s (partSize); raise %s (up to 5Gi) for objects of this size",
					u.key, u.bucket, maxParts, humanSize(u.o.cfg.partSize), keyPartSize)
			}
			if !send(partJob{num, data}) {
				return nil
			}
		} else {
			bufs.put(buf)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("put object %q in bucket %q: reading the data to upload: %w", u.key, u.bucket, err)
		}
	}
}

func (u *upload) uploadPart(j partJob) {
	select {
	case <-u.stop:
		return
	default:
	}
	o := u.o
	crc := checksum(j.data)
	var part oss.UploadPart
	err := o.withRetry(fmt.Sprintf("upload part %d of", j.num), u.bucket, u.key, func() error {
		var hdr http.Header
		var err error
		part, err = u.b.UploadPart(u.imur, byteReader(j.data), int64(len(j.data)), j.num, oss.GetResponseHeader(&hdr))
		if err != nil {
			return err
		}
		return checkCRC(hdr, crc, &crcError{op: "upload", bucket: u.bucket, key: u.key, part: j.num, client: crc, transient: true})
	})
	if err != nil {
		u.fail(err)
		return
	}
	u.mu.Lock()
	u.parts = append(u.parts, partResult{part: part, crc: crc, size: int64(len(j.data))})
	u.mu.Unlock()
}

func (u *upload) fail(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err == nil {
		u.err = err
		close(u.stop)
	}
}

func (u *upload) complete() error {
	o := u.o
	sortParts(u.parts)
	parts := make([]oss.UploadPart, len(u.parts))
	var want uint64
	for i, p := range u.parts {
		if p.part.PartNumber != i+1 {
			return fmt.Errorf("complete multipart upload of object %q in bucket %q: part %d is missing", u.key, u.bucket, i+1)
		}
		parts[i] = p.part
		want = combineCRC(want, p.crc, p.size)
	}
	var hdr http.Header
	tries := 0
	err := o.withRetry("complete multipart upload", u.bucket, u.key, func() error {
		tries++
		_, err := u.b.CompleteMultipartUpload(u.imur, parts, oss.GetResponseHeader(&hdr))
		var se oss.ServiceError
		if tries > 1 && errors.As(err, &se) && se.Code == "NoSuchUpload" {
			// An earlier try completed the upload but its answer was lost;
			// the object's CRC decides whether it is ours.
			hdr, err = u.b.GetObjectDetailedMeta(u.key)
		}
		return err
	})
	if err != nil {
		return err
	}
	u.imur.UploadID = "" // completed: nothing to abort
	// The parts are fixed now, so a mismatch cannot be retried here.
	if err := checkCRC(hdr, want, &crcError{op: "put", bucket: u.bucket, key: u.key, client: want}); err != nil {
		return o.deleteCorrupt(u.b, u.bucket, u.key, err.(*crcError))
	}
	return nil
}

// abort cancels the upload so that OSS frees its parts, and returns cause.
func (u *upload) abort(cause error) error {
	o := u.o
	if u.imur.UploadID == "" {
		return cause // completed, then found corrupt and deleted
	}
	err := o.withRetry("abort multipart upload", u.bucket, u.key, func() error {
		err := u.b.AbortMultipartUpload(u.imur)
		var se oss.ServiceError
		if errors.As(err, &se) && se.Code == "NoSuchUpload" {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%w; aborting multipart upload %s also failed, its parts stay billed until a lifecycle rule for incomplete uploads removes them: %v",
			cause, u.imur.UploadID, err)
	}
	o.log.WithField("bucket", u.bucket).WithField("key", u.key).WithField("uploadID", u.imur.UploadID).
		Warn("aborted multipart upload after a failure")
	return fmt.Errorf("%w; the multipart upload was aborted", cause)
}

// abortStrays aborts uploads of this key other than ours: ones whose
// InitiateMultipartUpload answer was lost. Velero never writes one key from
// two places at once, so they cannot belong to anyone else.
func (u *upload) abortStrays() {
	o := u.o
	var res oss.ListMultipartUploadResult
	err := o.withRetry("list multipart uploads", u.bucket, u.key, func() error {
		var err error
		res, err = u.b.ListMultipartUploads(oss.Prefix(u.key), oss.MaxUploads(1000))
		return err
	})
	if err != nil {
		o.log.WithField("bucket", u.bucket).WithField("key", u.key).WithError(err).
			Warn("cannot look for multipart uploads left by a lost response; a lifecycle rule for incomplete uploads removes them")
		return
	}
	for _, up := range res.Uploads {
		if up.Key != u.key || up.UploadID == u.imur.UploadID {
			continue
		}
		stray := oss.InitiateMultipartUploadResult{Bucket: u.bucket, Key: up.Key, UploadID: up.UploadID}
		err := o.withRetry("abort multipart upload", u.bucket, u.key, func() error { return u.b.AbortMultipartUpload(stray) })
		log := o.log.WithField("bucket", u.bucket).WithField("key", u.key).WithField("uploadID", up.UploadID)
		if err != nil {
			log.WithError(err).Warn("cannot abort a multipart upload whose initiation answer was lost")
			continue
		}
		log.Info("aborted a multipart upload whose initiation answer was lost")
	}
}
