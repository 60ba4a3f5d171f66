// SPDX-License-Identifier: GPL-2.0
// execsnoop's kernel side: on every execve, send {pid, ppid, comm, filename} to user space
// through a ring buffer.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <ebpfpp/ring_buffer.bpf.h>

#include "execsnoop.h"

char LICENSE[] SEC("license") = "GPL";

// The ring buffer map `events` (256 KiB), with a per-CPU count of events a full ring refused.
EBPFPP_RINGBUF(events, 256 * 1024);

SEC("tracepoint/syscalls/sys_enter_execve")
int handle_execve(struct trace_event_raw_sys_enter *ctx)
{
	struct exec_event *e = EBPFPP_RINGBUF_RESERVE(events, struct exec_event);
	struct task_struct *task;

	if (!e)
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	// execve's first argument, the file name, is in the caller's memory.
	if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const char *)ctx->args[0]) <
	    0)
		e->filename[0] = '\0';
	EBPFPP_RINGBUF_SUBMIT(events, e);
	return 0;
}
