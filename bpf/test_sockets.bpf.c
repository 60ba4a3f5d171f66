// SPDX-License-Identifier: GPL-2.0
// Socket programs for the kernel tests of sk_lookup.hpp and sock_map.hpp: an sk_lookup program
// that steers TCP connections for one port to a socket in a sockmap; an sk_msg verdict program
// that counts, drops and redirects what sockets send; sk_skb programs that echo what a socket
// receives back to its peer, or count it and let it through.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

// --- sk_lookup ----------------------------------------------------------------------------------

// TCP connections to this port (host order) go to the socket in lookup_socks[0]; set before load.
const volatile __u16 steer_port = 0;

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lookup_socks SEC(".maps");

// Connections steered.
__u64 steered = 0;

SEC("sk_lookup")
int steer(struct bpf_sk_lookup *ctx)
{
	if (ctx->protocol != IPPROTO_TCP || ctx->local_port != steer_port)
		return SK_PASS;
	__u32 zero = 0;
	struct bpf_sock *sk = bpf_map_lookup_elem(&lookup_socks, &zero);
	if (!sk)
		return SK_PASS; // nobody to steer to: the normal lookup (and its refusal)
	long err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err)
		return SK_DROP;
	__sync_fetch_and_add(&steered, 1);
	return SK_PASS;
}

// --- sk_msg: on each sendmsg of a socket in msg_socks
// ---------------------------------------------

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} msg_socks SEC(".maps");

// Messages and bytes seen; messages dropped (first byte '!'); messages redirected (first byte
// '>') into the receive queue of the socket in msg_socks[1].
__u64 msg_count = 0, msg_bytes = 0, msg_dropped = 0, msg_redirected = 0;

SEC("sk_msg")
int msg_verdict(struct sk_msg_md *msg)
{
	__sync_fetch_and_add(&msg_count, 1);
	__sync_fetch_and_add(&msg_bytes, msg->size);
	char *data = msg->data, *end = msg->data_end;
	if (data + 1 > end)
		return SK_PASS;
	if (data[0] == '!') {
		__sync_fetch_and_add(&msg_dropped, 1);
		return SK_DROP; // sendmsg fails with EACCES
	}
	if (data[0] == '>') {
		__sync_fetch_and_add(&msg_redirected, 1);
		return bpf_msg_redirect_map(msg, &msg_socks, 1, BPF_F_INGRESS);
	}
	return SK_PASS;
}

// --- sk_skb: on what a socket in echo_socks receives
// -----------------------------------------------

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} echo_socks SEC(".maps");

// Bytes the verdict programs saw.
__u64 skb_bytes = 0;

// One message per skb: whatever arrived.
SEC("sk_skb/stream_parser")
int echo_parser(struct __sk_buff *skb)
{
	return skb->len;
}

// Sends the data back out of the socket it arrived on (echo_socks[0]): the peer reads its own
// bytes, and the receiving socket reads nothing.
SEC("sk_skb/stream_verdict")
int echo_verdict(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&skb_bytes, skb->len);
	return bpf_sk_redirect_map(skb, &echo_socks, 0, 0);
}

// BPF_SK_SKB_VERDICT (5.13+, no parser): counts and passes the data to the socket.
SEC("sk_skb")
int count_verdict(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&skb_bytes, skb->len);
	return SK_PASS;
}
