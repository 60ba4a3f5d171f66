// SPDX-License-Identifier: GPL-2.0
// xdp-swap's kernel side: two versions of one XDP program, each counting the UDP datagrams to a
// port into its own counter. User space attaches v1, then swaps the link to v2 with
// BPF_LINK_UPDATE: every datagram meets exactly one of them, so v1 + v2 is what arrived.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <ebpfpp/packet.bpf.h>

char LICENSE[] SEC("license") = "GPL";

// The UDP port to count datagrams to. Set before load.
const volatile __u16 port = 0;

// [0]: datagrams v1 counted, [1]: datagrams v2 counted. Per CPU: no two CPUs share a slot.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline int count_to(struct xdp_md *ctx, __u32 version)
{
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ebpfpp_ipv4((void *)(long)ctx->data, end);
	struct udphdr *udp = ip ? ebpfpp_udp(ip, end) : 0;
	if (!udp || udp->dest != bpf_htons(port))
		return XDP_PASS;
	__u64 *n = bpf_map_lookup_elem(&counts, &version);
	if (n)
		*n += 1;
	return XDP_PASS;
}

SEC("xdp")
int count_v1(struct xdp_md *ctx)
{
	return count_to(ctx, 0);
}

SEC("xdp")
int count_v2(struct xdp_md *ctx)
{
	return count_to(ctx, 1);
}
