package objectstore

import (
	"fmt"
	"hash"
	"io"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// download is the body GetObject returns.
type download struct {
	o           *ObjectStore
	b           bucketAPI
	bucket, key string
	etag        string // the resumed body must be the same object version
	body        io.ReadCloser
	off         int64
	resumes     int
	h           hash.Hash64
	want        uint64
	haveCRC     bool
}

// open requests the object from d.off on.
func (d *download) open() error {
	var opts []oss.Option
	if d.off > 0 {
		opts = append(opts, oss.NormalizedRange(fmt.Sprintf("%d-", d.off)), oss.IfMatch(d.etag))
	}
	var res *oss.GetObjectResult
	err := d.o.withRetry("get", d.bucket, d.key, func() error {
		var err error
		res, err = d.b.DoGetObject(&oss.GetObjectRequest{ObjectKey: d.key}, opts)
		return err
	})
	if err != nil {
		return d.o.wrapError("get", d.bucket, d.key, err)
	}
	d.body = res.Response
	return nil
}

func (d *download) Read(p []byte) (int, error) {
	for {
		n, err := d.body.Read(p)
		d.h.Write(p[:n])
		d.off += int64(n)
		switch {
		case err == io.EOF:
			if d.haveCRC && d.h.Sum64() != d.want {
				return n, &crcError{op: "get", bucket: d.bucket, key: d.key, client: d.h.Sum64(), server: d.want}
			}
			return n, io.EOF
		case err == nil:
			return n, nil
		case !isTransient(err) || d.resumes >= d.o.policy.attempts:
			return n, d.o.wrapError("get", d.bucket, d.key, err)
		}
		d.resumes++
		d.o.log.WithField("bucket", d.bucket).WithField("key", d.key).WithField("offset", d.off).
			WithField("error", scrub(err.Error())).Info("download interrupted, resuming")
		d.body.Close()
		if oerr := d.open(); oerr != nil {
			d.body = io.NopCloser(stickyError{oerr})
			return n, oerr
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (d *download) Close() error { return d.body.Close() }

// stickyError keeps failing after a resume could not reopen the object.
type stickyError struct{ err error }

func (e stickyError) Read([]byte) (int, error) { return 0, e.err }
