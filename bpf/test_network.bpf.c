// SPDX-License-Identifier: GPL-2.0
// Network programs for the kernel tests of xdp.hpp, tc.hpp and cgroup.hpp: an XDP counter (per IP
// protocol, in a per-CPU array) that can drop UDP to one port, an XDP rewriter for test runs, TC
// programs that record the order they ran in, and a cgroup connect4 filter.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <ebpfpp/packet.bpf.h>

char LICENSE[] SEC("license") = "GPL";

#define TC_ACT_OK 0

// --- XDP ----------------------------------------------------------------------------------------

// UDP datagrams to this port are dropped (0: none); set before load.
const volatile __u16 drop_udp_port = 0;

// Packets seen, by IPv4 protocol number.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} xdp_protocols SEC(".maps");

// [0]: UDP datagrams dropped.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} xdp_drops SEC(".maps");

static __always_inline void bump(void *map, __u32 key)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);
	if (v)
		*v += 1;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ebpfpp_ipv4((void *)(long)ctx->data, end);
	if (!ip)
		return XDP_PASS;
	bump(&xdp_protocols, ip->protocol);
	struct udphdr *udp = drop_udp_port ? ebpfpp_udp(ip, end) : 0;
	if (!udp || udp->dest != bpf_htons(drop_udp_port))
		return XDP_PASS;
	bump(&xdp_drops, 0);
	return XDP_DROP;
}

// Sends the frame back where it came from: swaps the Ethernet addresses, returns XDP_TX.
SEC("xdp")
int xdp_swap_macs(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	unsigned char tmp[6];
	__builtin_memcpy(tmp, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, tmp, 6);
	return XDP_TX;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

// --- TC (tcx and clsact) -------------------------------------------------------------------------

// Each TC program appends its id to a per-direction log: [0] is the count, [1..] the ids in the
// order the programs ran, for UDP packets only (ARP and the like are not logged).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} tc_order SEC(".maps");

static __always_inline int is_udp(struct __sk_buff *skb)
{
	struct iphdr *ip = ebpfpp_ipv4((void *)(long)skb->data, (void *)(long)skb->data_end);
	return ip && ip->protocol == IPPROTO_UDP;
}

static __always_inline int record(struct __sk_buff *skb, __u32 id)
{
	if (!is_udp(skb))
		return TC_ACT_OK;
	__u32 zero = 0;
	__u32 *count = bpf_map_lookup_elem(&tc_order, &zero);
	if (!count)
		return TC_ACT_OK;
	// Not atomic (a fetched-and-added value needs -mcpu=v3): the tests send one packet at a
	// time.
	__u32 slot = *count + 1;
	*count = slot;
	if (slot >= 64)
		return TC_ACT_OK;
	__u32 *v = bpf_map_lookup_elem(&tc_order, &slot);
	if (v)
		*v = id;
	return TC_ACT_OK;
}

// tcx: TC_ACT_UNSPEC (-1) lets the next program run; TC_ACT_OK would end the chain.
#define TCX_NEXT -1

SEC("tc")
int tc_first(struct __sk_buff *skb)
{
	record(skb, 1);
	return TCX_NEXT;
}

SEC("tc")
int tc_second(struct __sk_buff *skb)
{
	record(skb, 2);
	return TCX_NEXT;
}

SEC("tc")
int tc_third(struct __sk_buff *skb)
{
	record(skb, 3);
	return TCX_NEXT;
}

// --- cgroup --------------------------------------------------------------------------------------

// connect() to this IPv4 address (network order) is refused with EPERM; set before load.
const volatile __u32 blocked_ip4 = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} refused_pid SEC(".maps");

SEC("cgroup/connect4")
int block_connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->user_ip4 != blocked_ip4)
		return 1;
	__u32 zero = 0;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	bpf_map_update_elem(&refused_pid, &zero, &pid, BPF_ANY);
	return 0;
}

// --- maps for the typed views: an LPM trie the XDP side matches sources against, a devmap it
// redirects through -------------------------------------------------------------------------------

struct ipv4_prefix {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ipv4_prefix);
	__type(value, __u32);
} prefixes SEC(".maps");

// The value of the longest prefix that holds the frame's IPv4 source, written to [0] of
// xdp_match (0: none matched).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xdp_match SEC(".maps");

SEC("xdp")
int xdp_match_source(struct xdp_md *ctx)
{
	struct iphdr *ip = ebpfpp_ipv4((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	if (!ip)
		return XDP_PASS;
	struct ipv4_prefix key = {.prefixlen = 32};
	__builtin_memcpy(key.addr, &ip->saddr, 4);
	__u32 zero = 0, none = 0;
	__u32 *v = bpf_map_lookup_elem(&prefixes, &key);
	bpf_map_update_elem(&xdp_match, &zero, v ? v : &none, BPF_ANY);
	return XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports_hash SEC(".maps");

// Redirects every frame through slot 0 of tx_ports (XDP_ABORTED when the slot is empty).
SEC("xdp")
int xdp_redirect_slot0(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_ports, 0, XDP_ABORTED);
}
