// SPDX-License-Identifier: GPL-2.0
// For the sk_reuseport tests: picks the socket of a SO_REUSEPORT group that a UDP datagram goes
// to by its first payload byte, '0' + index into a REUSEPORT_SOCKARRAY, and counts what it did.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} group SEC(".maps");

// [0]: datagrams sent to the socket chosen, [1]: no such socket (the kernel's own choice).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} picks SEC(".maps");

SEC("sk_reuseport")
int pick_by_digit(struct sk_reuseport_md *md)
{
	char digit = 0;
	// md->data is the UDP header here: the payload follows it.
	if (bpf_skb_load_bytes(md, sizeof(struct udphdr), &digit, 1))
		return SK_PASS;
	__u32 index = (__u32)(digit - '0');
	__u32 slot = bpf_sk_select_reuseport(md, &group, &index, 0) == 0 ? 0 : 1;
	__u64 *n = bpf_map_lookup_elem(&picks, &slot);
	if (n)
		__sync_fetch_and_add(n, 1);
	return SK_PASS;
}
