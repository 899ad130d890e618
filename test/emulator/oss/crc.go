package oss

import "hash/crc64"

// crcTable is CRC-64/ECMA-182 as OSS reports it in x-oss-hash-crc64ecma
// (Go's crc64 with the ECMA table, which is what the OSS SDKs compute), the
// reference the tests check against. Stored data is hashed with crc64ecma,
// the same function with carry-less multiplication, so that in benchmarks
// the emulator's hashing takes little of the CPU it shares with the plugin.
var crcTable = crc64.MakeTable(crc64.ECMA)

// crc64Combine returns the CRC of A||B given crc(A), crc(B) and len(B), so a
// multipart object's CRC comes from its parts' CRCs without rereading data.
// It is zlib's crc32_combine carried over to 64 bits (reflected ECMA poly).
func crc64Combine(crc1, crc2 uint64, len2 int64) uint64 {
	if len2 <= 0 {
		return crc1
	}
	var even, odd [64]uint64
	odd[0] = 0xC96C5795D7870F42 // reflected ECMA-182 polynomial
	row := uint64(1)
	for n := 1; n < 64; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(even[:], odd[:]) // two zero bits
	gf2Square(odd[:], even[:]) // four zero bits
	for {
		gf2Square(even[:], odd[:])
		if len2&1 != 0 {
			crc1 = gf2Times(even[:], crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
		gf2Square(odd[:], even[:])
		if len2&1 != 0 {
			crc1 = gf2Times(odd[:], crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
	}
	return crc1 ^ crc2
}

func gf2Times(mat []uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i++ {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
		vec >>= 1
	}
	return sum
}

func gf2Square(square, mat []uint64) {
	for n := 0; n < 64; n++ {
		square[n] = gf2Times(mat, mat[n])
	}
}
