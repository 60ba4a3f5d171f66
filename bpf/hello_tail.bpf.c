// SPDX-License-Identifier: GPL-2.0
// hello-tail: the chapter's tail-call program. `hello` runs at the entry of every syscall (raw
// tracepoint sys_enter) and tail-calls into the prog array `syscall`, indexed by the syscall
// number: hello_exec for execve, hello_timer for the timer_* calls, ignore_opcode for the rest.
// A tail call to an empty slot falls through, so hello prints "Another syscall: N" for any
// syscall user space left no program for.
//
// Syscall numbers differ between architectures (execve is 59 on x86-64, 221 on arm64): they
// come from user space (SYS_* of the arch it was built for) through .rodata, and user space
// puts the programs in the slots of those numbers.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

// Enough slots for every syscall number of x86-64 and arm64 today; user space checks its
// numbers against max_entries (ProgArray::set throws on an index out of range).
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u32);
} syscall SEC(".maps");

const volatile long nr_timer_create = -1;
const volatile long nr_timer_delete = -1;
// The tool's own process: its reads of trace_pipe are syscalls too, and printing them would
// feed itself (with --show-others) a line per line it prints.
const volatile int ignore_tgid = 0;

SEC("raw_tp/sys_enter")
int hello(struct bpf_raw_tracepoint_args *ctx)
{
	int opcode = ctx->args[1];

	if ((bpf_get_current_pid_tgid() >> 32) == (__u64)ignore_tgid)
		return 0;
	bpf_tail_call(ctx, &syscall, opcode);
	bpf_printk("Another syscall: %d", opcode);
	return 0;
}

SEC("raw_tp")
int hello_exec(void *ctx)
{
	bpf_printk("Executing a program");
	return 0;
}

SEC("raw_tp")
int hello_timer(struct bpf_raw_tracepoint_args *ctx)
{
	long opcode = ctx->args[1];

	if (opcode == nr_timer_create)
		bpf_printk("Creating a timer");
	else if (opcode == nr_timer_delete)
		bpf_printk("Deleting a timer");
	else
		bpf_printk("Some other timer operation");
	return 0;
}

SEC("raw_tp")
int ignore_opcode(void *ctx)
{
	return 0;
}
