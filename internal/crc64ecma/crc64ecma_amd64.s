#include "textflag.h"

// FOLD multiplies the halves of the 128-bit lane L by the constants in K
// (low by low, high by high) into L and T, which are then xored together:
// the lane moved forward by the distance K stands for, to be xored with
// the data that far ahead.
#define FOLD(K, L, T) \
	MOVO      L, T     \
	PCLMULQDQ $0x00, K, L \
	PCLMULQDQ $0x11, K, T \
	PXOR      T, L

// func fold(crc uint64, p []byte) uint64
TEXT ·fold(SB), NOSPLIT, $0-40
	MOVQ crc+0(FP), AX
	MOVQ p_base+8(FP), SI
	MOVQ p_len+16(FP), CX

	// Four lanes; the CRC state enters with the first 8 bytes.
	MOVOU 0(SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3
	MOVQ  AX, X4
	PXOR  X4, X0
	ADDQ  $64, SI
	SUBQ  $64, CX

	MOVOU ·consts+0(SB), X4 // x^575, x^511
	CMPQ  CX, $64
	JB    lanes

loop64:
	MOVOU 0(SI), X9
	MOVOU 16(SI), X10
	MOVOU 32(SI), X11
	MOVOU 48(SI), X12
	FOLD(X4, X0, X5)
	FOLD(X4, X1, X6)
	FOLD(X4, X2, X7)
	FOLD(X4, X3, X8)
	PXOR  X9, X0
	PXOR  X10, X1
	PXOR  X11, X2
	PXOR  X12, X3
	ADDQ  $64, SI
	SUBQ  $64, CX
	CMPQ  CX, $64
	JAE   loop64

lanes:
	// Fold each lane into the next: X3 holds all 512 bits' worth.
	MOVOU ·consts+16(SB), X4 // x^191, x^127
	FOLD(X4, X0, X5)
	PXOR  X0, X1
	FOLD(X4, X1, X5)
	PXOR  X1, X2
	FOLD(X4, X2, X5)
	PXOR  X2, X3
	CMPQ  CX, $16
	JB    reduce

loop16:
	MOVOU 0(SI), X9
	FOLD(X4, X3, X5)
	PXOR  X9, X3
	ADDQ  $16, SI
	SUBQ  $16, CX
	CMPQ  CX, $16
	JAE   loop16

reduce:
	// 128 bits to B, 64 + 64: the low half times x^127 (x^128 with the
	// kernel's extra x), plus the high half one half down.
	MOVO      X3, X5
	PCLMULQDQ $0x10, X4, X3
	PSRLDQ    $8, X5
	PXOR      X5, X3

	// Barrett: T1 = floor(B.lo * floor(x^127/P) / x^63), and the CRC is
	// B.hi + T1 * (P - x^64) mod x^64, computed as T1 * P1 * x + T1.
	MOVOU     ·consts+32(SB), X4 // mu, P1
	MOVO      X3, X5
	PCLMULQDQ $0x00, X4, X5 // T1 in the low half
	MOVO      X5, X6
	PCLMULQDQ $0x10, X4, X6 // T1 * P1 * x mod x^64 in the high half
	PXOR      X3, X6
	PEXTRQ    $1, X6, AX
	MOVQ      X5, BX
	XORQ      BX, AX
	MOVQ      AX, ret+32(FP)
	RET
