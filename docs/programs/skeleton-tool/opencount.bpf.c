// SPDX-License-Identifier: GPL-2.0
// opencount's kernel side (docs/11-typed-skeleton.md): every openat on the machine, counted per
// process in a hash map and sent, with the file name, through a ring buffer.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <ebpfpp/ebpfpp.bpf.h>

char LICENSE[] SEC("license") = "GPL";

// What each openat sends to user space. Defined here only: the typed skeleton gives the C++
// side the same struct, checked member by member.
struct open_event {
	__u32 pid;
	char comm[16];
	char filename[128];
};

// Opens per process: pid -> count.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} opens SEC(".maps");

// The ring buffer `events`, and the record type it carries: BTF does not say it by itself.
EBPFPP_RINGBUF(events, 256 * 1024);
EBPFPP_EVENT(events, struct open_event);

// Set by user space before load: the tool's own process, whose opens are not counted.
const volatile __u32 ignore_tgid = 0;

SEC("tracepoint/syscalls/sys_enter_openat")
int count_open(struct trace_event_raw_sys_enter *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct open_event *e;

	if (pid == ignore_tgid)
		return 0;
	ebpfpp_count(&opens, &pid, 1);
	e = EBPFPP_RINGBUF_RESERVE(events, struct open_event);
	if (!e)
		return 0;
	e->pid = pid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	// openat's second argument, the file name, is in the caller's memory.
	if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const char *)ctx->args[1]) <
	    0)
		e->filename[0] = '\0';
	EBPFPP_RINGBUF_SUBMIT(events, e);
	return 0;
}
