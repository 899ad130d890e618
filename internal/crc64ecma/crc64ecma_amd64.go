package crc64ecma

import "golang.org/x/sys/cpu"

func hasCLMUL() bool { return cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSE41 }

// fold adds p to the (non-inverted) CRC state crc; len(p) is a multiple of
// 16 and at least minFold.
//
//go:noescape
func fold(crc uint64, p []byte) uint64
