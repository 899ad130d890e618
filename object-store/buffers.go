package objectstore

import (
	"bytes"
	"io"
	"sort"
)

// bufferPool hands out at most limit part buffers; get blocks until one is
// free. Buffers are allocated on first use, so small uploads cost nothing.
type bufferPool struct {
	size      int64
	free      chan []byte
	allocated chan struct{} // one token per allocated buffer
}

func newBufferPool(size int64, limit int) *bufferPool {
	return &bufferPool{size: size, free: make(chan []byte, limit), allocated: make(chan struct{}, limit)}
}

// adopt counts n buffers allocated outside the pool against its limit.
func (p *bufferPool) adopt(n int) {
	for i := 0; i < n; i++ {
		p.allocated <- struct{}{}
	}
}

// get returns an empty buffer, or false when stop is closed first.
func (p *bufferPool) get(stop <-chan struct{}) ([]byte, bool) {
	select {
	case b := <-p.free:
		return b, true
	default:
	}
	select {
	case b := <-p.free:
		return b, true
	case p.allocated <- struct{}{}:
		return make([]byte, 0, p.size), true
	case <-stop:
		return nil, false
	}
}

// put returns a buffer; buffers not of the pool's size are dropped.
func (p *bufferPool) put(b []byte) {
	if int64(cap(b)) != p.size {
		<-p.allocated
		return
	}
	select {
	case p.free <- b[:0]:
	default:
	}
}

// byteReader gives the SDK a reader whose length it can see, so that it
// sends Content-Length; a fresh one per try makes retries resend from 0.
func byteReader(b []byte) io.Reader { return bytes.NewReader(b) }

func sortParts(p []partResult) {
	sort.Slice(p, func(i, j int) bool { return p[i].part.PartNumber < p[j].part.PartNumber })
}
