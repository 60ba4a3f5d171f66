// SPDX-License-Identifier: GPL-2.0
// packets' kernel side: counts IPv4 packets by IP protocol on an interface, arriving (an XDP
// program) and leaving (a TC program), and drops UDP datagrams to one port on the way in.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <ebpfpp/packet.bpf.h>

char LICENSE[] SEC("license") = "GPL";

// UDP datagrams to this port are dropped on arrival (0: none are). Set by user space before load.
const volatile __u16 drop_port = 0;

// Datagrams dropped, a global user space reads (skel->bss->dropped).
__u64 dropped = 0;

// Packets by IP protocol (the index: 1 ICMP, 6 TCP, 17 UDP, ...), one map per direction. Per-CPU:
// each CPU adds to its own slot, so no two CPUs race on one counter; user space sums the slots.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} received SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} sent SEC(".maps");

static __always_inline void count(void *map, __u32 protocol)
{
	__u64 *n = bpf_map_lookup_elem(map, &protocol);
	if (n)
		*n += 1;
}

// XDP: every frame the interface receives, before the kernel has made an skb of it.
SEC("xdp")
int count_in(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end;
	// ebpfpp_ipv4 checks each header against `end`: the verifier refuses a read it cannot prove
	// inside the packet.
	struct iphdr *ip = ebpfpp_ipv4((void *)(long)ctx->data, end);
	if (!ip)
		return XDP_PASS; // not IPv4 (ARP, IPv6), or too short: not ours to judge
	count(&received, ip->protocol);

	struct udphdr *udp = drop_port ? ebpfpp_udp(ip, end) : 0;
	if (udp && udp->dest == bpf_htons(drop_port)) {
		__sync_fetch_and_add(&dropped, 1);
		return XDP_DROP;
	}
	return XDP_PASS;
}

// TC_ACT_UNSPEC: "no verdict, go on". On tcx (6.6+) that is TCX_NEXT, which runs the next
// program on the hook; on the clsact qdisc the next filter. A macro, so not in vmlinux.h.
#define TC_ACT_UNSPEC -1

// TC: every packet the interface sends (egress), as an skb. XDP cannot see this direction.
SEC("tc")
int count_out(struct __sk_buff *skb)
{
	struct iphdr *ip = ebpfpp_ipv4((void *)(long)skb->data, (void *)(long)skb->data_end);
	if (ip)
		count(&sent, ip->protocol);
	return TC_ACT_UNSPEC;
}
