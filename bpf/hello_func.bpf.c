// SPDX-License-Identifier: GPL-2.0
// hello-func: BPF-to-BPF function calls. Both programs print "Syscall: N" at the entry of every
// syscall (raw tracepoint sys_enter); they differ only in how they get N. hello_func calls
// get_opcode, kept out of line: a real BPF-to-BPF call (kernel 4.16+), visible as a call
// instruction in the loaded program. hello_inline calls get_opcode_inline, which clang inlines:
// what every BPF function had to be before 4.16, and no call is left.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

// The tool's own process: printing its own reads of trace_pipe would feed it a line per line.
const volatile int ignore_tgid = 0;

static __noinline int get_opcode(struct bpf_raw_tracepoint_args *ctx)
{
	return ctx->args[1];
}

static __always_inline int get_opcode_inline(struct bpf_raw_tracepoint_args *ctx)
{
	return ctx->args[1];
}

SEC("raw_tp/sys_enter")
int hello_func(struct bpf_raw_tracepoint_args *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) == (__u64)ignore_tgid)
		return 0;
	bpf_printk("Syscall: %d", get_opcode(ctx));
	return 0;
}

SEC("raw_tp/sys_enter")
int hello_inline(struct bpf_raw_tracepoint_args *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) == (__u64)ignore_tgid)
		return 0;
	bpf_printk("Syscall: %d", get_opcode_inline(ctx));
	return 0;
}
