package crc64ecma

import (
	"fmt"
	"hash/crc64"
	"testing"
)

// BenchmarkUpdate compares the folding kernel, the table path this package
// falls back to, and hash/crc64 called directly.
func BenchmarkUpdate(b *testing.B) {
	paths := []struct {
		name   string
		clmul  bool
		update func(uint64, []byte) uint64
	}{
		{"clmul", true, Update},
		{"table", false, Update},
		{"stdlib", false, func(crc uint64, p []byte) uint64 { return crc64.Update(crc, stdTable, p) }},
	}
	for _, path := range paths {
		b.Run(path.name, func(b *testing.B) {
			if path.clmul && !hasCLMUL() {
				b.Skip("this CPU has no carry-less multiplication")
			}
			defer func(old bool) { useCLMUL = old }(useCLMUL)
			useCLMUL = path.clmul
			for _, size := range []int{64, 1 << 10, 64 << 10, 1 << 20} {
				b.Run(sizeName(size), func(b *testing.B) {
					p := make([]byte, size)
					for i := range p {
						p[i] = byte(i * 7)
					}
					b.SetBytes(int64(size))
					var crc uint64
					for b.Loop() {
						crc = path.update(crc, p)
					}
					sink = crc
				})
			}
		})
	}
}

var sink uint64

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dM", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dK", n>>10)
	}
	return fmt.Sprint(n)
}
