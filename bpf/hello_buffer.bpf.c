// SPDX-License-Identifier: GPL-2.0
// hello-buffer: on every execve, send {pid, uid, command, message} to user space through a perf
// buffer. Two hooks for the same work, as in hello.bpf.c: a syscall kprobe (the chapter's
// choice) and the sys_enter_execve tracepoint for kernels without kprobes.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include <ebpfpp/ebpfpp.bpf.h>

#include "hello_buffer.h"

char LICENSE[] SEC("license") = "GPL";

// The chapter's exercise: different messages for odd and even pids (set before load).
const volatile bool odd_even = false;

static const char hello[HELLO_MESSAGE_LEN] = "Hello World";
static const char odd[HELLO_MESSAGE_LEN] = "Odd pid";
static const char even[HELLO_MESSAGE_LEN] = "Even pid";

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} output SEC(".maps");
// Its records, for the typed skeleton: maps.output is a PerfBuffer<hello_event>.
EBPFPP_EVENT(output, struct hello_event);

static __always_inline int emit(void *ctx)
{
	struct hello_event data = {};
	const char *message = hello;

	data.pid = bpf_get_current_pid_tgid() >> 32;
	data.uid = bpf_get_current_uid_gid() & 0xFFFFFFFF;
	bpf_get_current_comm(&data.command, sizeof(data.command));
	if (odd_even)
		message = (data.pid % 2) ? odd : even;
	bpf_probe_read_kernel(&data.message, sizeof(data.message), message);
	bpf_perf_event_output(ctx, &output, BPF_F_CURRENT_CPU, &data, sizeof(data));
	return 0;
}

SEC("ksyscall/execve")
int hello_kprobe(void *ctx)
{
	return emit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_execve")
int hello_tracepoint(void *ctx)
{
	return emit(ctx);
}
