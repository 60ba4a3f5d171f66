// SPDX-License-Identifier: GPL-2.0
// sock-filter's kernel side: a socket filter (SO_ATTACH_BPF) on a UDP socket. The kernel runs it
// for each datagram queued to that socket; it drops those whose payload starts with 'X' (a filter
// drops by keeping 0 bytes) and counts both kinds in an array: [0] kept, [1] dropped.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

// On a UDP socket the filter sees the datagram from its UDP header (8 bytes) on.
SEC("socket")
int drop_x(struct __sk_buff *skb)
{
	char first = 0;
	// An empty datagram has no first byte: it is kept.
	bpf_skb_load_bytes(skb, sizeof(struct udphdr), &first, 1);
	__u32 verdict = first == 'X';
	__u64 *n = bpf_map_lookup_elem(&counts, &verdict);
	if (n)
		__sync_fetch_and_add(n, 1);
	return verdict ? 0 : skb->len;
}
