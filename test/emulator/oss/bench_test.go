package oss_test

import (
	"io"
	"testing"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// BenchmarkPutObject streams 64 MiB through the SDK into the emulator
// (signature check, MD5 + CRC64 on the fly, write to disk).
func BenchmarkPutObject(b *testing.B) {
	e := newEnv(b)
	bkt := e.bucket(b)
	const size = 64 << 20
	b.SetBytes(size)
	for b.Loop() {
		if err := bkt.PutObject("bench", io.LimitReader(zeros{}, size)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetObject reads 64 MiB back (the SDK checks the CRC64).
func BenchmarkGetObject(b *testing.B) {
	e := newEnv(b)
	bkt := e.bucket(b, sdk.EnableCRC(true))
	const size = 64 << 20
	if err := bkt.PutObject("bench", io.LimitReader(zeros{}, size)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		rc, err := bkt.GetObject("bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}
