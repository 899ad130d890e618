package objectstore

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// Read-ahead of a download. Velero's gRPC server reads the body 16 KiB at a
// time and sends each piece before it reads the next, so reading the HTTP
// body, hashing it and sending it to Velero would take turns on one
// goroutine. A fetcher goroutine instead reads the body in blocks while
// Velero sends the previous ones, with fewer and larger socket reads; at
// most readAheadBlocks blocks (1 MiB) are held per download.
const (
	readAheadBlock  = 256 << 10
	readAheadBlocks = 4
)

// download is the body GetObject returns. Read belongs to the caller's
// goroutine (Close may come from any), the fields above ready to the
// fetcher (fetch).
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
	blockSize   int

	ready     chan block    // filled blocks, in order
	free      chan []byte   // blocks the caller has consumed
	stop      chan struct{} // closed by Close
	closeOnce sync.Once

	// The caller's side.
	cur, curBuf []byte // unread part of the current block, and the block
	err         error  // the error that ends the body, once cur is read
}

type block struct {
	buf  []byte // the whole buffer, for reuse
	data []byte
	err  error // io.EOF, or why the body failed, after data
}

// start begins reading ahead; size is the body's length, or -1.
func (d *download) start(size int64) {
	d.blockSize = readAheadBlock
	if size >= 0 && size < readAheadBlock {
		d.blockSize = int(size) + 1 // one Read sees the data and EOF
	}
	d.ready = make(chan block, readAheadBlocks-2)
	d.free = make(chan []byte, readAheadBlocks)
	d.stop = make(chan struct{})
	go d.fetch()
}

// fetch reads the body block by block until it ends, fails or the caller
// closes the download.
func (d *download) fetch() {
	defer func() { d.body.Close() }()
	allocated := 0
	for {
		var buf []byte
		select {
		case buf = <-d.free:
		default:
			if allocated < readAheadBlocks {
				allocated++
				buf = make([]byte, d.blockSize)
				break
			}
			select {
			case buf = <-d.free:
			case <-d.stop:
				return
			}
		}
		n, err := d.fill(buf)
		select {
		case d.ready <- block{buf: buf, data: buf[:n], err: err}:
		case <-d.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// fill reads until buf is full or the body ends or fails.
func (d *download) fill(buf []byte) (int, error) {
	got := 0
	for got < len(buf) {
		n, err := d.readBody(buf[got:])
		got += n
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// readBody reads the HTTP body, hashes what it read, and reopens the object
// from the next byte after a transient failure. At the end it checks the
// object's CRC64.
func (d *download) readBody(p []byte) (int, error) {
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
		case !isTransient(err) || d.resumes >= d.o.policy.Attempts:
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
		return err
	}
	d.body = res.Response
	return nil
}

func (d *download) Read(p []byte) (int, error) {
	select {
	case <-d.stop:
		return 0, errClosed
	default:
	}
	if len(d.cur) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if d.curBuf != nil {
			d.free <- d.curBuf // never blocks: free holds every block
			d.curBuf = nil
		}
		select {
		case b := <-d.ready:
			d.cur, d.curBuf, d.err = b.data, b.buf, b.err
		case <-d.stop: // closed while waiting: the fetcher sends no more
			return 0, errClosed
		}
	}
	n := copy(p, d.cur)
	d.cur = d.cur[n:]
	if len(d.cur) == 0 && d.err != nil {
		return n, d.err
	}
	return n, nil
}

// Close stops the fetcher, which closes the HTTP body once its current read
// returns: closing it here could wait for a stalled read.
func (d *download) Close() error {
	d.closeOnce.Do(func() { close(d.stop) })
	return nil
}

// errClosed is what Read returns after Close.
var errClosed = errors.New("read of a closed OSS object body")

// stickyError keeps failing after a resume could not reopen the object.
type stickyError struct{ err error }

func (e stickyError) Read([]byte) (int, error) { return 0, e.err }
