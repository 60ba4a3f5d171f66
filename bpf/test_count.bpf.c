// SPDX-License-Identifier: GPL-2.0
// Counting under a race (tests/kernel/count_test.cpp): two threads pinned to two CPUs run these
// programs with BPF_PROG_TEST_RUN at the same moment, with the same new key each round.
// `naive` is the pattern ebpfpp/count.bpf.h warns about (an insert that fails is a count lost);
// `helper` uses ebpfpp_count. The key is the raw tracepoint's first argument.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <ebpfpp/count.bpf.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} naive_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} helper_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} helper_lru_counts SEC(".maps");

// A map of 1 entry: the second key cannot go in, and ebpfpp_count says so.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tiny SEC(".maps");

// The last error ebpfpp_count returned for `tiny`.
long tiny_err = 0;

SEC("raw_tp")
int naive(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 key = (__u32)ctx->args[0];
	__u64 one = 1;
	__u64 *v = bpf_map_lookup_elem(&naive_counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&naive_counts, &key, &one, BPF_NOEXIST);
	return 0;
}

SEC("raw_tp")
int helper(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 key = (__u32)ctx->args[0];
	ebpfpp_count(&helper_counts, &key, 1);
	ebpfpp_count(&helper_lru_counts, &key, 1);
	return 0;
}

SEC("raw_tp")
int fill_tiny(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 key = (__u32)ctx->args[0];
	tiny_err = ebpfpp_count(&tiny, &key, ctx->args[1]);
	return 0;
}
