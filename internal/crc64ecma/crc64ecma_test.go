package crc64ecma

import (
	"bytes"
	"hash/crc64"
	"math/bits"
	"math/rand/v2"
	"testing"
)

var stdTable = crc64.MakeTable(crc64.ECMA)

// paths runs f once per implementation this CPU can run, with useCLMUL set
// accordingly, so that the table path is tested on CPUs with the kernel.
func paths(t *testing.T, f func(t *testing.T)) {
	for _, clmul := range []bool{true, false} {
		name := map[bool]string{true: "clmul", false: "table"}[clmul]
		t.Run(name, func(t *testing.T) {
			if clmul && !hasCLMUL() {
				t.Skip("this CPU has no carry-less multiplication")
			}
			defer func(old bool) { useCLMUL = old }(useCLMUL)
			useCLMUL = clmul
			f(t)
		})
	}
}

func randomBytes(r *rand.Rand, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

// TestUpdate compares every length from 0 to 4096 at every alignment from 0
// to 63 with hash/crc64, from a random initial CRC each time.
func TestUpdate(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		buf := randomBytes(r, 4096+64)
		for n := 0; n <= 4096; n++ {
			for align := 0; align < 64; align++ {
				p := buf[align : align+n]
				crc := r.Uint64()
				if got, want := Update(crc, p), crc64.Update(crc, stdTable, p); got != want {
					t.Fatalf("Update(%#x, %d bytes at offset %d) = %#x, hash/crc64 says %#x", crc, n, align, got, want)
				}
			}
		}
	})
}

// TestUpdateLarge covers lengths that run the 64-byte loop many times, with
// every tail length, and special inputs.
func TestUpdateLarge(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		inputs := map[string][]byte{
			"random": randomBytes(r, 1<<20+15),
			"zeros":  make([]byte, 1<<20+15),
			"ones":   bytes.Repeat([]byte{0xff}, 1<<20+15),
		}
		for name, buf := range inputs {
			for _, n := range []int{1 << 20, 1<<20 + 1, 1<<20 + 15, 1<<16 + 48, 1<<16 + 63, 100000} {
				for _, crc := range []uint64{0, ^uint64(0), r.Uint64()} {
					if got, want := Update(crc, buf[:n]), crc64.Update(crc, stdTable, buf[:n]); got != want {
						t.Fatalf("%s: Update(%#x, %d bytes) = %#x, hash/crc64 says %#x", name, crc, n, got, want)
					}
				}
			}
		}
	})
}

// TestIncremental checks that any split of the input gives the CRC of the
// whole, through Update and through New.
func TestIncremental(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		buf := randomBytes(r, 64<<10)
		want := crc64.Checksum(buf, stdTable)
		if got := Checksum(buf); got != want {
			t.Fatalf("Checksum = %#x, hash/crc64 says %#x", got, want)
		}
		for i := 0; i < 200; i++ {
			h := New()
			crc := uint64(0)
			for rest := buf; len(rest) > 0; {
				n := min(len(rest), r.IntN(3000))
				crc = Update(crc, rest[:n])
				if m, err := h.Write(rest[:n]); m != n || err != nil {
					t.Fatalf("Write(%d bytes) = %d, %v", n, m, err)
				}
				rest = rest[n:]
			}
			if crc != want || h.Sum64() != want {
				t.Fatalf("split %d: Update gives %#x, New gives %#x, want %#x", i, crc, h.Sum64(), want)
			}
		}
	})
}

// TestHash checks New against hash/crc64's Hash64: Sum, Size, BlockSize,
// Reset.
func TestHash(t *testing.T) {
	ours, std := New(), crc64.New(stdTable)
	data := []byte("velero backup data, and a little more than sixty-four bytes of it for the kernel")
	for _, h := range []interface{ Write([]byte) (int, error) }{ours, std} {
		h.Write(data)
	}
	if got, want := ours.Sum([]byte("prefix")), std.Sum([]byte("prefix")); !bytes.Equal(got, want) {
		t.Errorf("Sum = %x, hash/crc64 gives %x", got, want)
	}
	if ours.Size() != std.Size() || ours.Size() != Size || ours.BlockSize() != std.BlockSize() {
		t.Errorf("Size, BlockSize = %d, %d; hash/crc64 gives %d, %d", ours.Size(), ours.BlockSize(), std.Size(), std.BlockSize())
	}
	ours.Reset()
	if ours.Sum64() != 0 {
		t.Errorf("Sum64 after Reset = %#x, want 0", ours.Sum64())
	}
	ours.Write(data[:10])
	if got, want := ours.Sum64(), crc64.Checksum(data[:10], stdTable); got != want {
		t.Errorf("Sum64 after Reset and Write = %#x, want %#x", got, want)
	}
}

// TestFold calls the kernel directly on every length it accepts up to 2048
// bytes, where Update would hand the tail to the table.
func TestFold(t *testing.T) {
	if !hasCLMUL() {
		t.Skip("this CPU has no carry-less multiplication")
	}
	r := rand.New(rand.NewPCG(7, 8))
	buf := randomBytes(r, 2048)
	for n := minFold; n <= len(buf); n += 16 {
		crc := r.Uint64()
		if got, want := ^fold(^crc, buf[:n]), crc64.Update(crc, stdTable, buf[:n]); got != want {
			t.Fatalf("fold of %d bytes from %#x = %#x, hash/crc64 says %#x", n, crc, got, want)
		}
	}
}

// FuzzUpdate compares Update with hash/crc64 on arbitrary data, initial
// CRCs and offsets into the data.
func FuzzUpdate(f *testing.F) {
	f.Add(uint64(0), []byte(nil), uint8(0))
	f.Add(^uint64(0), bytes.Repeat([]byte{0xa5}, 200), uint8(3))
	f.Add(uint64(0x123456789abcdef0), bytes.Repeat([]byte("oss"), 1000), uint8(17))
	f.Fuzz(func(t *testing.T, crc uint64, data []byte, skip uint8) {
		if int(skip) > len(data) {
			skip = uint8(len(data))
		}
		p := data[skip:]
		for _, clmul := range []bool{hasCLMUL(), false} {
			useCLMUL = clmul
			got := Update(crc, p)
			useCLMUL = hasCLMUL()
			if want := crc64.Update(crc, stdTable, p); got != want {
				t.Fatalf("clmul=%v: Update(%#x, %d bytes) = %#x, hash/crc64 says %#x", clmul, crc, len(p), got, want)
			}
		}
	})
}

// The constants the kernels use, derived from the polynomial in the normal
// (most significant bit first) representation, with x^64 implicit.
var poly = bits.Reverse64(crc64.ECMA)

// xPowModP returns x^n mod P.
func xPowModP(n int) uint64 {
	r := uint64(1)
	for range n {
		carry := r >> 63
		r <<= 1
		if carry != 0 {
			r ^= poly
		}
	}
	return r
}

// barrettQuotient returns floor(x^127 / P) by long division.
func barrettQuotient() uint64 {
	// The remainder, as the coefficients of x^127..x^64 (hi) and x^63..x^0
	// (lo); P shifted to degree d is x^d + poly*x^(d-64).
	hi, lo := uint64(1)<<63, uint64(0)
	var q uint64
	for d := 127; d >= 64; d-- {
		s := d - 64
		if hi>>s&1 == 0 {
			continue
		}
		q |= 1 << s
		hi ^= 1 << s
		if s > 0 {
			hi ^= poly >> (64 - s)
		}
		lo ^= poly << s
	}
	return q
}

func TestConstants(t *testing.T) {
	r := bits.Reverse64
	want := [len(consts)]uint64{
		r(xPowModP(512 + 63)),
		r(xPowModP(512 - 1)),
		r(xPowModP(128 + 63)),
		r(xPowModP(128 - 1)),
		r(barrettQuotient()),
		r(poly >> 1), // poly has the x^0 term, which the kernel adds itself
	}
	if poly&1 != 1 {
		t.Fatalf("the polynomial %#x has no x^0 term; the Barrett step assumes it", poly)
	}
	for i := range want {
		if consts[i] != want[i] {
			t.Errorf("consts[%d] = %#016x, derived %#016x", i, consts[i], want[i])
		}
	}
	// floor(x^127/P) * P + (x^127 mod P) must be x^127 again.
	q := barrettQuotient()
	hi, lo := clmul(q, poly)
	hi ^= q // q * x^64
	lo ^= xPowModP(127)
	if hi != 1<<63 || lo != 0 {
		t.Errorf("floor(x^127/P) = %#x: q*P + (x^127 mod P) = %#016x%016x, want x^127", q, hi, lo)
	}
}

// clmul is the carry-less product of a and b, high and low 64 bits.
func clmul(a, b uint64) (hi, lo uint64) {
	for i := range 64 {
		if b>>i&1 != 0 {
			lo ^= a << i
			if i > 0 {
				hi ^= a >> (64 - i)
			}
		}
	}
	return hi, lo
}
