// SPDX-License-Identifier: GPL-2.0
// XDP redirect targets for the kernel tests of xsk_map.hpp, xdp_socket.hpp and cpu_map.hpp: UDP
// datagrams to one port go to the AF_XDP socket of the queue they came in on (an XSKMAP by
// rx_queue_index), or to another CPU (a CPUMAP), where a cpumap program counts them and passes
// them on to the stack. Everything else passes.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <ebpfpp/packet.bpf.h>

char LICENSE[] SEC("license") = "GPL";

// UDP datagrams to this port are redirected; set before load.
const volatile __u16 udp_port = 0;
// The CPU xdp_to_cpu redirects to; set before load.
const volatile __u32 target_cpu = 0;

// AF_XDP sockets by RX queue.
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

// Target CPUs, with the program that runs on each.
struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

enum counter {
	REDIRECTED_XSK,  // datagrams xdp_to_xsk redirected (the XSK slot may be empty: then passed)
	REDIRECTED_CPU,  // datagrams xdp_to_cpu redirected
	SEEN_ON_CPU,     // datagrams on_cpu saw on the target CPU
	WRONG_CPU,       // ... of those, on another CPU than target_cpu
	COUNTERS,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void bump(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline int is_ours(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ebpfpp_ipv4((void *)(long)ctx->data, end);
	struct udphdr *udp = ip ? ebpfpp_udp(ip, end) : 0;
	return udp && udp->dest == bpf_htons(udp_port);
}

SEC("xdp")
int xdp_to_xsk(struct xdp_md *ctx)
{
	if (!is_ours(ctx))
		return XDP_PASS;
	bump(REDIRECTED_XSK);
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

SEC("xdp")
int xdp_to_cpu(struct xdp_md *ctx)
{
	if (!is_ours(ctx))
		return XDP_PASS;
	bump(REDIRECTED_CPU);
	return bpf_redirect_map(&cpus, target_cpu, XDP_PASS);
}

// Runs on the target CPU, on each frame redirected there, before the stack builds its skb.
SEC("xdp/cpumap")
int on_cpu(struct xdp_md *ctx)
{
	if (is_ours(ctx)) {
		bump(SEEN_ON_CPU);
		if (bpf_get_smp_processor_id() != target_cpu)
			bump(WRONG_CPU);
	}
	return XDP_PASS;
}
