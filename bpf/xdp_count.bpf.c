// SPDX-License-Identifier: GPL-2.0
// xdp-count's kernel side: counts the IPv4 packets arriving on an interface per IP protocol in
// a per-CPU array (no locks: each CPU adds to its own slot; user space sums them), the packets
// per source address in an LRU hash, and drops UDP datagrams to one port when asked.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <ebpfpp/count.bpf.h>
#include <ebpfpp/packet.bpf.h>

char LICENSE[] SEC("license") = "GPL";

// UDP to this port is dropped with XDP_DROP (0: nothing is dropped). Set before load.
const volatile __u16 drop_udp_port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} protocols SEC(".maps");

// Source address (network order) -> packets; the least recently seen go when it is full.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} sources SEC(".maps");

// [0]: datagrams dropped.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end;
	// Bounds-checked parsing (packet.bpf.h): the verifier insists, a packet may end anywhere.
	struct iphdr *ip = ebpfpp_ipv4((void *)(long)ctx->data, end);
	if (!ip)
		return XDP_PASS;

	__u32 proto = ip->protocol;
	__u64 *n = bpf_map_lookup_elem(&protocols, &proto);
	if (n)
		*n += 1;
	// Two CPUs can see a new source at once: ebpfpp_count adds to the entry the other made.
	__u32 src = ip->saddr;
	ebpfpp_count(&sources, &src, 1);

	struct udphdr *udp = drop_udp_port ? ebpfpp_udp(ip, end) : 0;
	if (!udp || udp->dest != bpf_htons(drop_udp_port))
		return XDP_PASS;
	__u32 zero = 0;
	__u64 *d = bpf_map_lookup_elem(&drops, &zero);
	if (d)
		*d += 1;
	return XDP_DROP;
}
