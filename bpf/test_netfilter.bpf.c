// SPDX-License-Identifier: GPL-2.0
// A netfilter program for the kernel test of netfilter.hpp: drops IPv4 UDP datagrams to one port
// and counts them. Kernel 6.4+ (BPF_PROG_TYPE_NETFILTER); its own object, so that the other test
// objects still load on older kernels. libbpf 1.1 does not know SEC("netfilter"): the test sets
// the type with ebpfpp::Netfilter::prepare() before load.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define NF_DROP 0
#define NF_ACCEPT 1

// UDP to this port is dropped; set before load.
const volatile __u16 nf_drop_port = 0;

// UDP datagrams seen; those dropped.
__u64 nf_udp = 0, nf_dropped = 0;

SEC("netfilter")
int nf_drop_udp(struct bpf_nf_ctx *ctx)
{
	// The sk_buff is a kernel object, not packet memory: read its headers with
	// bpf_probe_read_kernel from where the network header starts.
	struct sk_buff *skb = ctx->skb;
	unsigned char *nh = skb->head + skb->network_header;
	struct iphdr ip;
	if (bpf_probe_read_kernel(&ip, sizeof(ip), nh) || ip.protocol != IPPROTO_UDP)
		return NF_ACCEPT;
	struct udphdr udp;
	if (bpf_probe_read_kernel(&udp, sizeof(udp), nh + ip.ihl * 4))
		return NF_ACCEPT;
	__sync_fetch_and_add(&nf_udp, 1);
	if (udp.dest != bpf_htons(nf_drop_port))
		return NF_ACCEPT;
	__sync_fetch_and_add(&nf_dropped, 1);
	return NF_DROP;
}
