// SPDX-License-Identifier: GPL-2.0
// cgroup-firewall's kernel side: runs at every IPv4 connect() (TCP, and UDP connect) made by a
// process in the cgroup it is attached to, looks the destination up in an LPM trie of blocked
// prefixes, and refuses a match (the caller's connect() fails with EPERM), reporting it through
// a ring buffer.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <ebpfpp/ebpfpp.bpf.h>

#include "cgroup_firewall.h"

char LICENSE[] SEC("license") = "GPL";

struct ipv4_prefix {
	__u32 prefixlen;
	__u8 addr[4];
};

// Blocked prefixes, filled by user space; the value is unused (present = blocked).
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC); // the kernel requires it for LPM tries
	__type(key, struct ipv4_prefix);
	__type(value, __u8);
} blocked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} refusals SEC(".maps");
// The typed skeleton's maps.refusals is a RingBuffer<firewall_event>.
EBPFPP_EVENT(refusals, struct firewall_event);

SEC("cgroup/connect4")
int refuse_connect4(struct bpf_sock_addr *ctx)
{
	struct ipv4_prefix key = {.prefixlen = 32};
	__u32 addr = ctx->user_ip4;
	__builtin_memcpy(key.addr, &addr, 4);
	if (!bpf_map_lookup_elem(&blocked, &key))
		return 1; // allowed
	struct firewall_event *e = bpf_ringbuf_reserve(&refusals, sizeof(*e), 0);
	if (e) {
		e->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(e->command, sizeof(e->command));
		e->addr = addr;
		e->port = bpf_ntohs(ctx->user_port);
		e->pad = 0;
		bpf_ringbuf_submit(e, 0);
	}
	return 0; // refused: connect() returns EPERM
}
