// SPDX-License-Identifier: GPL-2.0
// The typed-skeleton test's object (tests/kernel/typed_skeleton_test.cpp): one map of each common
// kind, with keys, values, events and globals whose types use every BTF kind ebpfpp-skel emits
// (struct, union, enum, typedef, array, nested and anonymous members, a bit field), maps of maps
// typed by their inner maps, a syscall program that reads a point from `points` and sends it,
// tagged, through each stream, and one that counts through the maps of maps.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <ebpfpp/ebpfpp.bpf.h>

char LICENSE[] SEC("license") = "GPL";

enum skel_color { SKEL_RED = 1, SKEL_GREEN = 2, SKEL_BLUE = 300 };
typedef __u16 skel_port_t;

struct skel_key {
	__u32 id;
	skel_port_t port;
	__u8 flags : 3; // a bit field: no offsetof, the size still checked
	__u8 more : 5;
};

struct skel_inner {
	__s16 dx, dy;
};

struct skel_point {
	__s64 x;
	struct skel_inner delta[2]; // a nested struct, in an array
	enum skel_color color;
	union { // an anonymous union member: its members are the point's
		__u32 as_int;
		float as_float;
	};
	char label[12];
};

union skel_word {
	__u64 whole;
	__u32 halves[2];
};

struct skel_event {
	struct skel_key key;
	struct skel_point point;
	union skel_word word;
	__u32 seq;
};

const volatile __u32 seq_base = 0;
__u64 runs = 0;	  // .bss
__s32 marker = 7; // .data

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct skel_key);
	__type(value, struct skel_point);
} points SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, union skel_word);
} words SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16);
	__type(key, __u64);
	__type(value, enum skel_color);
} colors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} jumps SEC(".maps");

// LPM trie keys as the kernel wants them, a prefix length and then the address bytes: the
// skeleton types them as ebpfpp's Ipv4Prefix and Ipv6Prefix, whatever the C struct is called.
struct skel_net4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct skel_net6 {
	__u32 prefixlen;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct skel_net4);
	__type(value, __u32);
} nets4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct skel_net6);
	__type(value, __u8);
} nets6 SEC(".maps");

EBPFPP_RINGBUF(events, 4096);
EBPFPP_EVENT(events, struct skel_event);

// Maps of maps: the skeleton types each by its inner map's own definition (`__array(values, ...)`),
// `tables` as ArrayOfMaps<Map<u32, u64>>, `word_sets` as HashOfMaps<u64, ArrayMap<skel_word>>.
// The object puts no inner map in them: user space does.
struct skel_counts {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct skel_counts);
} tables SEC(".maps");

struct skel_words {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, union skel_word);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u64);
	__array(values, struct skel_words);
} word_sets SEC(".maps");

// A ring buffer without a mark: its records are bytes.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} raw SEC(".maps");

SEC("syscall")
int produce(void *ctx)
{
	struct skel_key key = {.id = 1, .port = 80, .flags = 5};
	struct skel_point *p = bpf_map_lookup_elem(&points, &key);
	__u32 zero = 0;
	union skel_word *w = bpf_map_lookup_elem(&words, &zero);
	__u64 *hit = bpf_map_lookup_elem(&hits, &zero);

	if (!p || !w)
		return 1;
	if (hit)
		*hit += 1;
	runs += 1;
	struct skel_event *e = EBPFPP_RINGBUF_RESERVE(events, struct skel_event);
	if (!e)
		return 2;
	e->key = key;
	e->point = *p;
	e->word = *w;
	e->seq = seq_base + (__u32)runs;
	EBPFPP_RINGBUF_SUBMIT(events, e);
	__u32 tag = 0x5ce1e7;
	bpf_ringbuf_output(&raw, &tag, sizeof(tag), 0);
	return 0;
}

// Counts through the maps of maps: +1 at key 7 of the map in tables[0] (inserted at the first
// run), +1 to word 1 of the array at word_sets[9]. Returns 1 when tables[0] is empty, 2 when
// word_sets has no 9, 3 when both are missing.
SEC("syscall")
int count_inner(void *ctx)
{
	__u32 slot = 0, key = 7, word = 1;
	__u64 set = 9, first = 1;
	int missing = 0;

	void *counts = bpf_map_lookup_elem(&tables, &slot);
	if (counts) {
		__u64 *n = bpf_map_lookup_elem(counts, &key);
		if (n)
			__sync_fetch_and_add(n, 1);
		else
			bpf_map_update_elem(counts, &key, &first, BPF_NOEXIST);
	} else {
		missing |= 1;
	}
	void *words = bpf_map_lookup_elem(&word_sets, &set);
	if (words) {
		union skel_word *w = bpf_map_lookup_elem(words, &word);
		if (w)
			__sync_fetch_and_add(&w->whole, 1);
	} else {
		missing |= 2;
	}
	return missing;
}
