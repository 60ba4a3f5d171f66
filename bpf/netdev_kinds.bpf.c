// SPDX-License-Identifier: GPL-2.0
// Programs for the kernel test of netkit.hpp, flow_dissector.hpp and freplace.hpp: TC programs
// that count (or drop) UDP datagrams on a netkit device's primary or peer; a flow dissector that
// fills the flow keys of IPv4 UDP packets and counts those to one port; and a tc program whose
// global function an extension program (freplace) replaces.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include <ebpfpp/packet.bpf.h>

char LICENSE[] SEC("license") = "GPL";

// --- netkit ---------------------------------------------------------------------------------

#define NETKIT_NEXT -1
#define NETKIT_PASS 0
#define NETKIT_DROP 2

// UDP datagrams to nk_port and nk_port + 1 (host order; set before load) are counted.
const volatile __u16 nk_port = 0;

// Datagrams to nk_port + i that nk_count saw, and that nk_drop dropped.
__u64 nk_counted[2] = {}, nk_dropped[2] = {};

static __always_inline int nk_index(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct iphdr *ip = ebpfpp_ipv4(data, end);
	struct udphdr *udp = ip ? ebpfpp_udp(ip, end) : 0;
	if (!udp)
		return -1;
	const __u16 port = bpf_ntohs(udp->dest);
	return port == nk_port ? 0 : port == nk_port + 1 ? 1 : -1;
}

// Counts and lets the next program (or the device's policy) decide.
SEC("tc")
int nk_count(struct __sk_buff *skb)
{
	const int i = nk_index(skb);
	if (i == 0 || i == 1)
		__sync_fetch_and_add(&nk_counted[i], 1);
	return NETKIT_NEXT;
}

// Drops the datagrams to nk_port and nk_port + 1, passes the rest to the next program.
SEC("tc")
int nk_drop(struct __sk_buff *skb)
{
	const int i = nk_index(skb);
	if (i != 0 && i != 1)
		return NETKIT_NEXT;
	__sync_fetch_and_add(&nk_dropped[i], 1);
	return NETKIT_DROP;
}

// --- flow dissector -------------------------------------------------------------------------

// IPv4 UDP packets to this port (host order; set before load) are counted.
const volatile __u16 fd_port = 0;

// Packets to fd_port the kernel asked the dissector about; packets of any kind.
__u64 fd_udp = 0, fd_all = 0;

// Fills the flow keys of an IPv4 UDP or TCP packet: addresses, ports, offsets; anything else
// is refused (BPF_DROP: the kernel then has no keys for it). Reads the packet directly
// (bpf_skb_load_bytes fails where the kernel dissects without an skb, e.g. in a test run).
SEC("flow_dissector")
int dissect(struct __sk_buff *skb)
{
	struct bpf_flow_keys *keys = skb->flow_keys;
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__sync_fetch_and_add(&fd_all, 1);
	if (keys->n_proto != bpf_htons(ETH_P_IP))
		return BPF_DROP;
	// Offsets bounded for the verifier: it proves a packet access only at a bounded offset.
	const __u32 nhoff = keys->nhoff;
	if (nhoff > 128)
		return BPF_DROP;
	struct iphdr *ip = data + nhoff;
	if ((void *)(ip + 1) > end || ip->ihl < 5)
		return BPF_DROP;
	keys->addr_proto = ETH_P_IP;
	keys->ipv4_src = ip->saddr;
	keys->ipv4_dst = ip->daddr;
	keys->ip_proto = ip->protocol;
	const __u32 thoff = nhoff + ip->ihl * 4;
	keys->thoff = thoff;
	if (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP)
		return BPF_OK;
	__be16 *ports = data + thoff;
	if ((void *)(ports + 2) > end)
		return BPF_DROP;
	keys->sport = ports[0];
	keys->dport = ports[1];
	if (ip->protocol == IPPROTO_UDP && ports[1] == bpf_htons(fd_port))
		__sync_fetch_and_add(&fd_udp, 1);
	return BPF_OK;
}

// --- freplace -------------------------------------------------------------------------------

// A global (not static) function: the verifier checks it on its own, and an extension program
// can replace it in the loaded program.
__attribute__((noinline)) int fr_value(int base)
{
	return base + 1;
}

// Returns fr_value(1000): 1001, or what the extension returns once it replaces fr_value.
SEC("tc")
int fr_target(struct __sk_buff *skb)
{
	return fr_value(1000);
}

// The extension: returns base + 2000 instead. Not loaded with the object ("?"): it needs its
// target set first (ebpfpp::Freplace::prepare), in another load of this object.
SEC("?freplace/fr_value")
int fr_replacement(int base)
{
	return base + 2000;
}
