// SPDX-License-Identifier: GPL-2.0
// hello: the chapter's first program. Prints "Hello World!" to the trace pipe each time any
// process calls execve. Two hooks for the same work: a syscall kprobe (the chapter's choice)
// and the syscalls/sys_enter_execve tracepoint for kernels without kprobes. User space attaches
// one of them.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("ksyscall/execve")
int hello_kprobe(void *ctx)
{
	bpf_printk("Hello World!");
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int hello_tracepoint(void *ctx)
{
	bpf_printk("Hello World!");
	return 0;
}
