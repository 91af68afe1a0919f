// SPDX-License-Identifier: Apache-2.0
// Copyright (C) 2026 The dockerfleet Authors

//go:build !purego

#include "textflag.h"

// func quoteMaskAVX2(line []byte, mask *[maskWords]uint32) (plain bool)
//
// For each 32 bytes of line, one load and three compares: the quotes go to
// mask (bit k of the mask for byte k), and a byte that is a backslash, a
// control character or non-ASCII clears plain. The last chunk, when line is
// not a multiple of 32 bytes long, is the one that ends at the end of line,
// its bytes already seen shifted out, so that nothing past line is read.
// The caller guarantees minMaskLine <= len(line) <= maxMaskLine.
TEXT ·quoteMaskAVX2(SB), NOSPLIT, $0-33
	MOVQ line_base+0(FP), SI
	MOVQ line_len+8(FP), CX
	MOVQ mask+24(FP), DI
	MOVL $0x22, AX
	MOVD AX, X0
	VPBROADCASTB X0, Y0 // '"' in every byte
	MOVL $0x5c, AX
	MOVD AX, X1
	VPBROADCASTB X1, Y1 // '\\' in every byte
	MOVL $0x1f, AX
	MOVD AX, X2
	VPBROADCASTB X2, Y2 // 0x1f in every byte
	XORL R8, R8         // bytes that are not plain, or'ed
	MOVQ CX, DX
	SHRQ $5, DX         // whole chunks

loop:
	VMOVDQU (SI), Y3
	VPCMPEQB Y0, Y3, Y4
	VPMOVMSKB Y4, AX
	MOVL AX, (DI)
	VPCMPEQB Y1, Y3, Y5 // backslash
	VPCMPGTB Y2, Y3, Y6 // 0x20..0x7f (signed compare: 0x80.. are negative)
	VPANDN Y6, Y5, Y7   // plain: in range and not a backslash
	VPMOVMSKB Y7, AX
	NOTL AX
	ORL AX, R8
	ADDQ $32, SI
	ADDQ $4, DI
	DECQ DX
	JNZ loop

	ANDQ $31, CX
	JZ done
	// The last CX bytes: load the 32 that end with them and drop the
	// 32-CX already seen from the low end of the masks.
	MOVQ CX, BX
	NEGQ CX
	ADDQ $32, CX          // 32 - rest: the bytes to drop
	SUBQ CX, SI
	VMOVDQU (SI), Y3
	VPCMPEQB Y0, Y3, Y4
	VPMOVMSKB Y4, AX
	SHRL CX, AX
	MOVL AX, (DI)
	VPCMPEQB Y1, Y3, Y5
	VPCMPGTB Y2, Y3, Y6
	VPANDN Y6, Y5, Y7
	VPMOVMSKB Y7, AX
	NOTL AX
	SHRL CX, AX
	ORL AX, R8

done:
	VZEROUPPER
	TESTL R8, R8
	SETEQ plain+32(FP)
	RET
