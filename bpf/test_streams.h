/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The record the stream tests emit; shared by bpf/test_streams.bpf.c and the C++ tests. Every
 * field derives from seq, so a torn record (fields from two different writes) is detectable. */
#ifndef EBPFPP_TEST_STREAMS_H
#define EBPFPP_TEST_STREAMS_H

#define TEST_STREAMS_MIX_A 0x9E3779B97F4A7C15ULL
#define TEST_STREAMS_MIX_C 0x5555555555555555ULL

struct stream_event {
	unsigned long long seq;
	unsigned long long a; /* seq * MIX_A */
	unsigned long long b; /* ~seq */
	unsigned long long c; /* seq ^ MIX_C */
};

/* A 16-byte record: the wrong size for stream_event. */
struct small_event {
	unsigned long long seq;
	unsigned long long pad;
};

#endif
