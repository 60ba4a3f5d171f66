// SPDX-License-Identifier: GPL-2.0
// Trampoline-based and fprobe-based programs (fmod_ret, LSM, kprobe.multi), in an object of
// their own: kernels that refuse trampolines or lack fprobe refuse to load them, and one failing
// program fails its whole object's load. Tests load one at a time (set_autoload).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile int target_tgid = 0;
__u64 fmod_ret_hits = 0;
__u64 lsm_hits = 0;
__u64 kprobe_multi_hits = 0;

static __always_inline bool mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == (__u64)target_tgid;
}

/* bpf_modify_return_test (net/bpf/test_run.c) is fmod_ret-able on every kernel with fmod_ret,
 * and BPF_PROG_TEST_RUN of this program calls it: bpf_modify_return_test(1, &b) adds 1 to b (2)
 * and returns a + b. Returning non-zero here skips the function and becomes its return value. */
int fmod_ret_value = 0;

SEC("fmod_ret/bpf_modify_return_test")
int BPF_PROG(count_fmod_ret, int a, int *b, int ret)
{
	if (mine())
		__sync_fetch_and_add(&fmod_ret_hits, 1);
	return fmod_ret_value;
}

/* Denies nothing; counts this process's file opens. */
SEC("lsm/file_open")
int BPF_PROG(count_lsm, struct file *file)
{
	if (mine())
		__sync_fetch_and_add(&lsm_hits, 1);
	return 0;
}

SEC("kprobe.multi/__x64_sys_getppid")
int count_kprobe_multi(struct pt_regs *ctx)
{
	if (mine())
		__sync_fetch_and_add(&kprobe_multi_hits, 1);
	return 0;
}
