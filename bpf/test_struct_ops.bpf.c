// SPDX-License-Identifier: GPL-2.0
// A minimal TCP congestion control in BPF (struct_ops), registered by the StructOps test as
// "ebpfpp_test_cc": a fixed window, enough for the kernel to accept and list it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/ebpfpp_ssthresh")
__u32 BPF_PROG(ebpfpp_ssthresh, struct sock *sk)
{
	return 10;
}

SEC("struct_ops/ebpfpp_cong_avoid")
void BPF_PROG(ebpfpp_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops/ebpfpp_undo_cwnd")
__u32 BPF_PROG(ebpfpp_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC(".struct_ops")
struct tcp_congestion_ops ebpfpp_cc = {
    .ssthresh = (void *)ebpfpp_ssthresh,
    .cong_avoid = (void *)ebpfpp_cong_avoid,
    .undo_cwnd = (void *)ebpfpp_undo_cwnd,
    .name = "ebpfpp_test_cc",
};
