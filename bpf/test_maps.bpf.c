// SPDX-License-Identifier: GPL-2.0
// Maps of every kind the typed views wrap, with BTF, for the kernel tests of map.hpp; and one
// program the tests run with BPF_PROG_TEST_RUN on a chosen CPU, so that per-CPU values, queue
// elements and hash values are written by the kernel side, not only by user space.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct pair {
	__u32 a;
	__u32 b;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} hash_u32_u64 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct pair);
} hash_pair SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} lru SEC(".maps");

// int key, as BPF code often declares array indexes: ArrayMap must accept it.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, int);
	__type(value, __u64);
} array_u64 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4);
	__type(value, __u32);
} queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 4);
	__type(value, __u32);
} stack SEC(".maps");

// Run with BPF_PROG_TEST_RUN: args[0] is a key, args[1] an amount. Adds the amount at the key
// of the hash and per-CPU maps (on the CPU it runs on) and pushes the key to the queue and
// the stack.
SEC("raw_tp")
int add_on_cpu(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 key = (__u32)ctx->args[0];
	__u64 amount = ctx->args[1];
	__u64 *v;

	v = bpf_map_lookup_elem(&hash_u32_u64, &key);
	if (v)
		__sync_fetch_and_add(v, amount);
	else
		bpf_map_update_elem(&hash_u32_u64, &key, &amount, BPF_NOEXIST);

	v = bpf_map_lookup_elem(&pcpu_hash, &key);
	if (v)
		*v += amount; // this CPU's copy: no atomics needed
	else
		bpf_map_update_elem(&pcpu_hash, &key, &amount, BPF_NOEXIST);

	v = bpf_map_lookup_elem(&pcpu_array, &key);
	if (v)
		*v += amount;

	bpf_map_push_elem(&queue, &key, 0);
	bpf_map_push_elem(&stack, &key, 0);
	return 0;
}
