// SPDX-License-Identifier: GPL-2.0
// Producers for benchmarks/bench_streams.cpp: fill a ring buffer or a perf buffer on demand
// (raw_tp + test_run + bpf_loop), and a live getpid tracepoint producer emitting through
// ebpfpp's helper (need-wakeup) or plain bpf_ringbuf_output (the kernel's policy); and
// a consumer of two user ring buffers (one per user-space producer, ebpfpp and libbpf).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <ebpfpp/ring_buffer.bpf.h>
#include <ebpfpp/user_ring_buffer.bpf.h>

char LICENSE[] SEC("license") = "GPL";

struct ev32 {
	__u64 seq, a, b, c;
};
struct ev256 {
	__u64 seq;
	__u64 rest[31];
};

const volatile int target_tgid = 0;

EBPFPP_RINGBUF(ring, 64 * 1024 * 1024);
EBPFPP_RINGBUF(live_ring, 4 * 1024 * 1024);

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} plain_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

struct loop_ctx {
	void *ctx;
	__u64 first;
};

static long ring32(__u32 i, struct loop_ctx *lc)
{
	struct ev32 *e = EBPFPP_RINGBUF_RESERVE(ring, struct ev32);

	if (e) {
		e->seq = lc->first + i;
		EBPFPP_RINGBUF_SUBMIT(ring, e);
	}
	return 0;
}

static long ring256(__u32 i, struct loop_ctx *lc)
{
	struct ev256 *e = EBPFPP_RINGBUF_RESERVE(ring, struct ev256);

	if (e) {
		e->seq = lc->first + i;
		EBPFPP_RINGBUF_SUBMIT(ring, e);
	}
	return 0;
}

static long perf32(__u32 i, struct loop_ctx *lc)
{
	struct ev32 e = {.seq = lc->first + i};

	bpf_perf_event_output(lc->ctx, &perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

static long perf256(__u32 i, struct loop_ctx *lc)
{
	struct ev256 e = {.seq = lc->first + i};

	bpf_perf_event_output(lc->ctx, &perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

#define FILL(name, fn)                                                                             \
	SEC("raw_tp")                                                                              \
	int name(struct bpf_raw_tracepoint_args *ctx)                                              \
	{                                                                                          \
		struct loop_ctx lc = {.ctx = ctx, .first = ctx->args[1]};                          \
		bpf_loop((__u32)ctx->args[0], fn, &lc, 0);                                         \
		return 0;                                                                          \
	}

FILL(fill_ring32, ring32)
FILL(fill_ring256, ring256)
FILL(fill_perf32, perf32)
FILL(fill_perf256, perf256)

__u64 live_seq = 0;

SEC("tracepoint/syscalls/sys_enter_getpid")
int live_ebpfpp(void *ctx)
{
	struct ev32 *e;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	e = EBPFPP_RINGBUF_RESERVE(live_ring, struct ev32);
	if (e) {
		e->seq = __sync_fetch_and_add(&live_seq, 1);
		e->a = bpf_ktime_get_ns(); /* the lone-event latency starts here */
		EBPFPP_RINGBUF_SUBMIT(live_ring, e);
	}
	return 0;
}

__u64 plain_drops = 0;

SEC("tracepoint/syscalls/sys_enter_getpid")
int live_plain(void *ctx)
{
	struct ev32 e = {};

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	e.seq = __sync_fetch_and_add(&live_seq, 1);
	if (bpf_ringbuf_output(&plain_ring, &e, sizeof(e), 0))
		__sync_fetch_and_add(&plain_drops, 1);
	return 0;
}

// User ring buffers for the produce benchmark: user space fills one, then drain_uring (raw_tp,
// test_run; args[0] 0 = uring_ebpfpp, 1 = uring_libbpf) empties it, summing the seqs.
EBPFPP_USER_RINGBUF(uring_ebpfpp, 4 * 1024 * 1024);
EBPFPP_USER_RINGBUF(uring_libbpf, 4 * 1024 * 1024);
__u64 uring_sum = 0;

static long on_user_record(struct bpf_dynptr *d, void *ctx)
{
	struct ev32 e;

	if (bpf_dynptr_read(&e, sizeof(e), d, 0, 0))
		return 1;
	uring_sum += e.seq;
	return 0;
}

SEC("raw_tp")
int drain_uring(struct bpf_raw_tracepoint_args *ctx)
{
	if (ctx->args[0] == 0)
		return EBPFPP_USER_RINGBUF_DRAIN(uring_ebpfpp, on_user_record, NULL, 0);
	return EBPFPP_USER_RINGBUF_DRAIN(uring_libbpf, on_user_record, NULL, 0);
}
