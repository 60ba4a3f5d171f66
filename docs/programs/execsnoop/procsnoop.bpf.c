// SPDX-License-Identifier: GPL-2.0
// procsnoop's kernel side: execsnoop's execve events on one ring buffer, and process exits
// (with their exit status) on another.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <ebpfpp/ring_buffer.bpf.h>

#include "execsnoop.h"
#include "procsnoop.h"

char LICENSE[] SEC("license") = "GPL";

EBPFPP_RINGBUF(execs, 256 * 1024);
EBPFPP_RINGBUF(exits, 256 * 1024);

SEC("tracepoint/syscalls/sys_enter_execve")
int handle_exec(struct trace_event_raw_sys_enter *ctx)
{
	struct exec_event *e = EBPFPP_RINGBUF_RESERVE(execs, struct exec_event);
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const char *)ctx->args[0]) <
	    0)
		e->filename[0] = '\0';
	EBPFPP_RINGBUF_SUBMIT(execs, e);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exit_event *e;

	// Every thread ends through here: report the process once, when its main thread ends.
	if ((__u32)id != (__u32)(id >> 32))
		return 0;
	e = EBPFPP_RINGBUF_RESERVE(exits, struct exit_event);
	if (!e)
		return 0;
	e->pid = id >> 32;
	// do_exit stores the status (wait(2)'s encoding: the exit code in bits 8-15) before this
	// tracepoint fires.
	e->exit_code = (BPF_CORE_READ(task, exit_code) >> 8) & 0xff;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	EBPFPP_RINGBUF_SUBMIT(exits, e);
	return 0;
}
