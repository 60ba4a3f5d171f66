// SPDX-License-Identifier: GPL-2.0
// BPF streams (tests/kernel/bpf_stream_test.cpp): raw_tp programs, run with BPF_PROG_TEST_RUN,
// that print known lines to their stdout and stderr with EBPFPP_STREAM_PRINTK. The test reads
// them back with ebpfpp::ProgramStream. Each program counts the prints the kernel refused and
// keeps the last error, so that the test can tell a refusal from a line lost on the way. One,
// may_goto_loop, loops until the kernel stops it, for the kernel's own report on its stderr.
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

// A loop the kernel cuts off: it loops on may_goto, whose budget on x86-64 is time (a quarter
// of a second), after which the kernel ends the loop and writes its report to the program's
// stderr. args[0] 0 only prints the first line (the test checks the kernel takes prints before
// it spends the quarter second), 1 also loops, then says how many times it went round.
__u64 loops = 0;

SEC("raw_tp")
int may_goto_loop(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 n;

	note(EBPFPP_STREAM_PRINTK(EBPFPP_STDERR, "looping until the kernel stops me\n"));
	if (ctx->args[0] == 0)
		return 0;
	// r1 = 0; loop: may_goto +2 (past the loop, once the budget is spent); r1 += 1; goto loop.
	// clang-14 knows no may_goto (BPF_JMP | BPF_JCOND: code 0xe5, src_reg 0, off = the jump),
	// so it and the jump back are raw instructions; both jumps stay inside this block.
	asm volatile("r1 = 0\n\t"
		     ".quad 0x00000000000200e5\n\t" // may_goto +2
		     "r1 += 1\n\t"
		     ".quad 0x00000000fffd0005\n\t" // goto -3
		     "%[n] = r1"
		     : [n] "=r"(n)
		     :
		     : "r1");
	loops = n;
	note(EBPFPP_STREAM_PRINTK(EBPFPP_STDERR, "stopped after %llu loops\n", n));
	return 0;
}
