#include "textflag.h"

// FOLD multiplies the halves of the 128-bit lane L by the constants in K
// (low by low, high by high) and xors the products into L: the lane moved
// forward by the distance K stands for, to be xored with the data that far
// ahead. T is scratch.
#define FOLD(K, L, T) \
	VPMULL2 K.D2, L.D2, T.Q1 \
	VPMULL  K.D1, L.D1, L.Q1 \
	VEOR    T.B16, L.B16, L.B16

// func fold(crc uint64, p []byte) uint64
TEXT ·fold(SB), NOSPLIT, $0-40
	MOVD crc+0(FP), R0
	MOVD p_base+8(FP), R1
	MOVD p_len+16(FP), R2
	MOVD $·consts(SB), R3
	VLD1 (R3), [V28.D2, V29.D2, V30.D2] // x^575, x^511; x^191, x^127; mu, P1

	// Four lanes; the CRC state enters with the first 8 bytes.
	VLD1.P 64(R1), [V0.B16, V1.B16, V2.B16, V3.B16]
	VEOR   V4.B16, V4.B16, V4.B16
	VMOV   R0, V4.D[0]
	VEOR   V4.B16, V0.B16, V0.B16
	SUB    $64, R2
	CMP    $64, R2
	BLO    lanes

loop64:
	VLD1.P 64(R1), [V16.B16, V17.B16, V18.B16, V19.B16]
	FOLD(V28, V0, V4)
	FOLD(V28, V1, V5)
	FOLD(V28, V2, V6)
	FOLD(V28, V3, V7)
	VEOR   V16.B16, V0.B16, V0.B16
	VEOR   V17.B16, V1.B16, V1.B16
	VEOR   V18.B16, V2.B16, V2.B16
	VEOR   V19.B16, V3.B16, V3.B16
	SUB    $64, R2
	CMP    $64, R2
	BHS    loop64

lanes:
	// Fold each lane into the next: V3 holds all 512 bits' worth.
	FOLD(V29, V0, V4)
	VEOR V0.B16, V1.B16, V1.B16
	FOLD(V29, V1, V4)
	VEOR V1.B16, V2.B16, V2.B16
	FOLD(V29, V2, V4)
	VEOR V2.B16, V3.B16, V3.B16
	CMP  $16, R2
	BLO  reduce

loop16:
	VLD1.P 16(R1), [V16.B16]
	FOLD(V29, V3, V4)
	VEOR   V16.B16, V3.B16, V3.B16
	SUB    $16, R2
	CMP    $16, R2
	BHS    loop16

reduce:
	// 128 bits to B, 64 + 64: the low half times x^127 (x^128 with the
	// kernel's extra x), plus the high half one half down.
	VMOV   V29.D[1], R4
	VMOV   R4, V31.D[0]
	VPMULL V31.D1, V3.D1, V4.Q1
	VMOV   V3.D[1], R5
	VMOV   V4.D[0], R6
	EOR    R5, R6 // B.lo
	VMOV   V4.D[1], R7 // B.hi

	// Barrett: T1 = floor(B.lo * floor(x^127/P) / x^63), and the CRC is
	// B.hi + T1 * (P - x^64) mod x^64, computed as T1 * P1 * x + T1.
	VMOV   R6, V5.D[0]
	VPMULL V30.D1, V5.D1, V6.Q1 // T1 in the low half
	VMOV   V30.D[1], R8
	VMOV   R8, V31.D[0]
	VPMULL V31.D1, V6.D1, V7.Q1 // T1 * P1 * x mod x^64 in the high half
	VMOV   V6.D[0], R9
	VMOV   V7.D[1], R10
	EOR    R9, R10
	EOR    R7, R10
	MOVD   R10, ret+32(FP)
	RET
