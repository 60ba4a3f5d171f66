// SPDX-License-Identifier: GPL-2.0
// Fixture for the ProgArray tests, driven by BPF_PROG_TEST_RUN (no hook needed). `dispatch`
// tail-calls into `jump_table` at slot args[0] of its context. Each target counts its runs in
// `hits` at that slot and returns a value of its own, so a test can tell which program ran;
// a fall-through (empty slot) counts in `hits` at FALLTHROUGH and returns 100.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define SLOTS 8
#define FALLTHROUGH SLOTS

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} jump_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS + 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&hits, &slot);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("raw_tp")
int dispatch(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 slot = ctx->args[0];

	bpf_tail_call(ctx, &jump_table, slot);
	count(FALLTHROUGH);
	return 100;
}

SEC("raw_tp")
int target_a(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 slot = ctx->args[0];

	if (slot < SLOTS)
		count(slot);
	return 1;
}

SEC("raw_tp")
int target_b(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 slot = ctx->args[0];

	if (slot < SLOTS)
		count(slot);
	return 2;
}

// Another program type: a prog array used by raw_tp programs must refuse it.
SEC("tracepoint/syscalls/sys_enter_getppid")
int wrong_type(void *ctx)
{
	return 0;
}
