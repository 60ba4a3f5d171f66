// SPDX-License-Identifier: GPL-2.0
// fentry/fexit programs, in an object of their own: some kernels (this project's CI kernel)
// refuse to load BPF trampolines, and one failing program fails its whole object's load.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile int target_tgid = 0;
__u64 fentry_hits = 0;
__u64 fexit_hits = 0;

static __always_inline bool mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == (__u64)target_tgid;
}

// The target (do_nanosleep) is set from user space before load.
SEC("fentry")
int BPF_PROG(count_fentry)
{
	if (mine())
		__sync_fetch_and_add(&fentry_hits, 1);
	return 0;
}

SEC("fexit")
int BPF_PROG(count_fexit)
{
	if (mine())
		__sync_fetch_and_add(&fexit_hits, 1);
	return 0;
}
