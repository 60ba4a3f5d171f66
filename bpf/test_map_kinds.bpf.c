// SPDX-License-Identifier: GPL-2.0
// Map kinds beyond test_maps.bpf.c, for the kernel tests of bloom_filter_map.hpp,
// lru_per_cpu_hash_map.hpp and map_of_maps.hpp: each map is written or read by a program the
// tests run with BPF_PROG_TEST_RUN, so both sides exercise it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__type(value, __u32);
	__uint(map_extra, 3); // hash functions
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} lru_pcpu SEC(".maps");

// The inner maps' template, and one inner map the object puts in the outer maps at load.
struct inner_hash {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} inner_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_hash);
} outer_array SEC(".maps") = {
    .values = {[0] = &inner_a},
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_hash);
} outer_hash SEC(".maps");

// args[0]: 0 pushes args[1] to the bloom filter and returns 0; 1 returns 1 when the filter may
// hold args[1], 0 when it surely does not.
SEC("raw_tp")
int bloom_op(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 value = (__u32)ctx->args[1];

	if (ctx->args[0] == 0)
		return bpf_map_push_elem(&bloom, &value, BPF_ANY) == 0 ? 0 : -1;
	return bpf_map_peek_elem(&bloom, &value) == 0 ? 1 : 0;
}

// Adds args[1] at key args[0] of lru_pcpu on the CPU it runs on.
SEC("raw_tp")
int lru_add(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 key = (__u32)ctx->args[0];
	__u64 amount = ctx->args[1];
	__u64 *v = bpf_map_lookup_elem(&lru_pcpu, &key);

	if (v)
		*v += amount;
	else
		bpf_map_update_elem(&lru_pcpu, &key, &amount, BPF_NOEXIST);
	return 0;
}

// Reads through a map of maps: args[0] 0 = outer_array, 1 = outer_hash; args[1] the outer key;
// args[2] the inner key. Returns the inner value, -1 for an empty slot, -2 for a missing key.
SEC("raw_tp")
int read_through(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 outer_key = (__u32)ctx->args[1];
	__u32 inner_key = (__u32)ctx->args[2];
	void *inner;
	__u64 *v;

	if (ctx->args[0] == 0)
		inner = bpf_map_lookup_elem(&outer_array, &outer_key);
	else
		inner = bpf_map_lookup_elem(&outer_hash, &outer_key);
	if (!inner)
		return -1;
	v = bpf_map_lookup_elem(inner, &inner_key);
	return v ? (int)*v : -2;
}
