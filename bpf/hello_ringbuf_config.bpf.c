// SPDX-License-Identifier: GPL-2.0
// hello-ringbuf-config: on every execve, send hello-buffer's event through a ring buffer, with
// the message looked up by uid in a hash map that user space fills.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <ebpfpp/ebpfpp.bpf.h>

#include "hello_buffer.h"

char LICENSE[] SEC("license") = "GPL";

static const char hello[HELLO_MESSAGE_LEN] = "Hello World";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct hello_config);
} uid_config SEC(".maps");

EBPFPP_RINGBUF(output, 256 * 1024);
// Its records, for the typed skeleton: maps.output is a RingBuffer<hello_event>.
EBPFPP_EVENT(output, struct hello_event);

static __always_inline int emit(void)
{
	struct hello_event *e = EBPFPP_RINGBUF_RESERVE(output, struct hello_event);
	struct hello_config *c;
	__u32 uid;

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	uid = bpf_get_current_uid_gid() & 0xFFFFFFFF;
	e->uid = uid;
	bpf_get_current_comm(e->command, sizeof(e->command));
	c = bpf_map_lookup_elem(&uid_config, &uid);
	bpf_probe_read_kernel(e->message, sizeof(e->message), c ? c->message : hello);
	EBPFPP_RINGBUF_SUBMIT(output, e);
	return 0;
}

SEC("ksyscall/execve")
int hello_kprobe(void *ctx)
{
	return emit();
}

SEC("tracepoint/syscalls/sys_enter_execve")
int hello_tracepoint(void *ctx)
{
	return emit();
}
