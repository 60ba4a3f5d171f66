// SPDX-License-Identifier: GPL-2.0
// BPF streams (tests/kernel/bpf_stream_test.cpp): raw_tp programs, run with BPF_PROG_TEST_RUN,
// that print known lines to their stdout and stderr with EBPFPP_STREAM_PRINTK. The test reads
// them back with ebpfpp::ProgramStream. Each program counts the prints the kernel refused and
// keeps the last error, so that the test can tell a refusal from a line lost on the way.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <ebpfpp/stream.bpf.h>

char LICENSE[] SEC("license") = "GPL";

// At most this many lines per stream and run: the loop's bound for the verifier.
#define MAX_LINES 32

int prints = 0;	    // prints attempted
int refused = 0;    // of which the kernel refused
int last_error = 0; // the last refusal's errno (negative)

static __always_inline void note(int err)
{
	prints++;
	if (err) {
		refused++;
		last_error = err;
	}
}

// args[0] lines to stdout ("out <i> of <n>: <word>"), args[1] to stderr ("err <i>: <hex>").
SEC("raw_tp")
int print_lines(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 n_out = (__u32)ctx->args[0], n_err = (__u32)ctx->args[1];
	for (__u32 i = 0; i < MAX_LINES && i < n_out; i++)
		note(EBPFPP_STREAM_PRINTK(EBPFPP_STDOUT, "out %u of %u: %s\n", i, n_out,
					  i % 2 ? "odd" : "even"));
	for (__u32 i = 0; i < MAX_LINES && i < n_err; i++)
		note(EBPFPP_STREAM_PRINTK(EBPFPP_STDERR, "err %u: %x\n", i, 0xbeef00 + i));
	return 0;
}

// A line in two prints, one per run: args[0] 0 prints its start, 1 its end.
SEC("raw_tp")
int print_halves(struct bpf_raw_tracepoint_args *ctx)
{
	if (ctx->args[0] == 0)
		note(EBPFPP_STREAM_PRINTK(EBPFPP_STDOUT, "first half, "));
	else
		note(EBPFPP_STREAM_PRINTK(EBPFPP_STDOUT, "second half\n"));
	return 0;
}

// One line longer than a read (4096 bytes): 24 prints of 200 characters, then its end. (A %s
// argument goes through the kernel's 512-byte argument buffer: prints of 600 did not come out.)
static const char chunk[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrst"
    "uvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
    "YZ0123456789abcd";

SEC("raw_tp")
int print_long_line(struct bpf_raw_tracepoint_args *ctx)
{
	for (int i = 0; i < 24; i++)
		note(EBPFPP_STREAM_PRINTK(EBPFPP_STDOUT, "%s", chunk));
	note(EBPFPP_STREAM_PRINTK(EBPFPP_STDOUT, "<end>\n"));
	return 0;
}
