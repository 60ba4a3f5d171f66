// SPDX-License-Identifier: GPL-2.0
// Producers for the stream tests and benchmarks, run on demand with bpf_prog_test_run_opts: each
// call emits args[0] records whose sequence numbers start at args[1], from a bpf_loop (a raw_tp
// test run has preemption disabled, so callers emit a few thousand per call, not millions).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <ebpfpp/ring_buffer.bpf.h>

#include "test_streams.h"

char LICENSE[] SEC("license") = "GPL";

// Small, so that tests wrap around it many times and can fill it.
EBPFPP_RINGBUF(test_ring, 64 * 1024);
EBPFPP_RINGBUF(var_ring, 64 * 1024);

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} test_perf SEC(".maps");

// A map of another type, for the "wrong map type" tests.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} not_a_stream SEC(".maps");

struct loop_ctx {
	void *prog_ctx; // for bpf_perf_event_output: bpf_loop's callback gets only this struct
	__u64 first;
	__u64 discard_every;
};

static __always_inline void fill(struct stream_event *e, __u64 seq)
{
	e->seq = seq;
	e->a = seq * TEST_STREAMS_MIX_A;
	e->b = ~seq;
	e->c = seq ^ TEST_STREAMS_MIX_C;
}

static long emit_ring_one(__u32 i, struct loop_ctx *lc)
{
	__u64 seq = lc->first + i;
	struct stream_event *e = EBPFPP_RINGBUF_RESERVE(test_ring, struct stream_event);

	if (!e)
		return 0;
	fill(e, seq);
	if (lc->discard_every && seq % lc->discard_every == 0)
		EBPFPP_RINGBUF_DISCARD(test_ring, e);
	else
		EBPFPP_RINGBUF_SUBMIT(test_ring, e);
	return 0;
}

// args: count, first seq, discard every Nth seq (0: none).
SEC("raw_tp")
int emit_ring(struct bpf_raw_tracepoint_args *ctx)
{
	struct loop_ctx lc = {
	    .prog_ctx = ctx, .first = ctx->args[1], .discard_every = ctx->args[2]};

	bpf_loop((__u32)ctx->args[0], emit_ring_one, &lc, 0);
	return 0;
}

static long emit_var_one(__u32 i, struct loop_ctx *lc)
{
	__u64 seq = lc->first + i;
	__u64 words[8];
	__u64 n = (seq & 7) + 1; // 1..8 words: 8..64 bytes

	for (int w = 0; w < 8; w++)
		words[w] = seq + w;
	EBPFPP_RINGBUF_OUTPUT(var_ring, words, n * 8);
	return 0;
}

// Records of 8 to 64 bytes: record seq has (seq % 8 + 1) words seq, seq+1, ...
SEC("raw_tp")
int emit_var(struct bpf_raw_tracepoint_args *ctx)
{
	struct loop_ctx lc = {.prog_ctx = ctx, .first = ctx->args[1]};

	bpf_loop((__u32)ctx->args[0], emit_var_one, &lc, 0);
	return 0;
}

static long emit_small_one(__u32 i, struct loop_ctx *lc)
{
	struct small_event *e = EBPFPP_RINGBUF_RESERVE(test_ring, struct small_event);

	if (!e)
		return 0;
	e->seq = lc->first + i;
	e->pad = 0;
	EBPFPP_RINGBUF_SUBMIT(test_ring, e);
	return 0;
}

// Records of the wrong size for stream_event.
SEC("raw_tp")
int emit_small(struct bpf_raw_tracepoint_args *ctx)
{
	struct loop_ctx lc = {.prog_ctx = ctx, .first = ctx->args[1]};

	bpf_loop((__u32)ctx->args[0], emit_small_one, &lc, 0);
	return 0;
}

static long emit_perf_one(__u32 i, struct loop_ctx *lc)
{
	struct stream_event e;

	fill(&e, lc->first + i);
	bpf_perf_event_output(lc->prog_ctx, &test_perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

SEC("raw_tp")
int emit_perf(struct bpf_raw_tracepoint_args *ctx)
{
	struct loop_ctx lc = {.prog_ctx = ctx, .first = ctx->args[1]};

	bpf_loop((__u32)ctx->args[0], emit_perf_one, &lc, 0);
	return 0;
}

static long emit_perf_small_one(__u32 i, struct loop_ctx *lc)
{
	struct small_event e = {.seq = lc->first + i};

	bpf_perf_event_output(lc->prog_ctx, &test_perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

SEC("raw_tp")
int emit_perf_small(struct bpf_raw_tracepoint_args *ctx)
{
	struct loop_ctx lc = {.prog_ctx = ctx, .first = ctx->args[1]};

	bpf_loop((__u32)ctx->args[0], emit_perf_small_one, &lc, 0);
	return 0;
}
