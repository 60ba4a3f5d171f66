// SPDX-License-Identifier: GPL-2.0
// Programs the kernel tests attach. Each counts the events of one process (target_tgid, set
// through .rodata before load) into a .bss counter that the test reads through the skeleton.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile int target_tgid = 0;
// The arch's getppid number, from user space (SYS_getppid): no per-arch table here.
const volatile long getppid_nr = -1;

__u64 tracepoint_hits = 0;
__u64 raw_tracepoint_hits = 0;
__u64 uprobe_hits = 0;
__u64 uprobe_last_arg = 0;
__u64 uretprobe_hits = 0;
__u64 uretprobe_last_ret = 0;
__u64 kprobe_hits = 0;
__u64 kretprobe_hits = 0;
__u64 ksyscall_hits = 0;

static __always_inline bool mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == (__u64)target_tgid;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_tracepoint(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&tracepoint_hits, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int count_raw_tracepoint(struct bpf_raw_tracepoint_args *ctx)
{
	// args[1] is the syscall number.
	if (mine() && ctx->args[1] == getppid_nr)
		__sync_fetch_and_add(&raw_tracepoint_hits, 1);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(count_uprobe, long arg)
{
	if (mine()) {
		__sync_fetch_and_add(&uprobe_hits, 1);
		uprobe_last_arg = arg;
	}
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(count_uretprobe, long ret)
{
	if (mine()) {
		__sync_fetch_and_add(&uretprobe_hits, 1);
		uretprobe_last_ret = ret;
	}
	return 0;
}

SEC("kprobe")
int count_kprobe(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&kprobe_hits, 1);
	return 0;
}

SEC("kretprobe")
int count_kretprobe(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&kretprobe_hits, 1);
	return 0;
}

SEC("ksyscall")
int count_ksyscall(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&ksyscall_hits, 1);
	return 0;
}

// A bpf_printk line for each system call of the target: a test process that reads trace_pipe
// makes a read() for each batch it reads, so the pipe never runs dry.
SEC("raw_tp/sys_enter")
int print_syscalls(struct bpf_raw_tracepoint_args *ctx)
{
	if (mine())
		bpf_printk("syscall %ld", ctx->args[1]);
	return 0;
}
