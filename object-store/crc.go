package objectstore

import (
	"fmt"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/crc64ecma"
)

// checksum is the CRC-64/ECMA-182 of p, as OSS computes it
// (x-oss-hash-crc64ecma).
func checksum(p []byte) uint64 { return crc64ecma.Checksum(p) }

// crcError reports data that differs from what OSS stored or sent.
type crcError struct {
	op, bucket, key string
	part            int // 0 = whole object
	client, server  uint64
	transient       bool // a corrupted part upload is worth retrying
}

func (e *crcError) Error() string {
	what := fmt.Sprintf("object %q in bucket %q", e.key, e.bucket)
	if e.part > 0 {
		what = fmt.Sprintf("part %d of %s", e.part, what)
	}
	return fmt.Sprintf("%s %s: CRC64 mismatch, local %d but OSS %d: the data was corrupted in transit", e.op, what, e.client, e.server)
}

// combineCRC returns the CRC64 of a followed by b, given b's length.
func combineCRC(a, b uint64, lenB int64) uint64 {
	if lenB == 0 {
		return a
	}
	return oss.CRC64Combine(a, b, uint64(lenB))
}
