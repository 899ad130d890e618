//go:build !amd64 && !arm64

package crc64ecma

import "hash/crc64"

func hasCLMUL() bool { return false }

// fold is never called without carry-less multiplication; it is the table
// on the non-inverted state so that it still gives the right answer.
func fold(crc uint64, p []byte) uint64 { return ^crc64.Update(^crc, table, p) }
