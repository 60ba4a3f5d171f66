/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Packet parsing for XDP and TC programs: the Ethernet, IPv4 and UDP headers of a frame, each
 * bounds-checked against the packet's end (the verifier refuses a read it cannot prove in
 * bounds; a frame may end anywhere). Include after vmlinux.h and bpf/bpf_endian.h:
 *
 *     struct iphdr *ip = ebpfpp_ipv4(data, end);          // NULL: not IPv4, or truncated
 *     struct udphdr *udp = ip ? ebpfpp_udp(ip, end) : 0;  // NULL: not UDP, or truncated
 */
#ifndef EBPFPP_PACKET_BPF_H
#define EBPFPP_PACKET_BPF_H

#ifndef ETH_P_IP
#define ETH_P_IP 0x0800
#endif

/* The IPv4 header of the Ethernet frame [data, end), or NULL when the frame is not IPv4 or too
 * short for the header. */
static __always_inline struct iphdr *ebpfpp_ipv4(void *data, void *end)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return 0;
	return ip;
}

/* The UDP header after `ip` (its options skipped), or NULL when the packet is not UDP or too
 * short for the header. */
static __always_inline struct udphdr *ebpfpp_udp(struct iphdr *ip, void *end)
{
	if (ip->protocol != IPPROTO_UDP)
		return 0;
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > end)
		return 0;
	return udp;
}

#endif /* EBPFPP_PACKET_BPF_H */
