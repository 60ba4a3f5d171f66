// SPDX-License-Identifier: GPL-2.0
// hello-ringbuf: on every openat, send {command, filename, dfd} through a ring buffer, with
// ebpfpp's helper: a full ring is counted (output_drops), and wake-ups are batched.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <ebpfpp/ebpfpp.bpf.h>

#include "hello_ringbuf.h"

char LICENSE[] SEC("license") = "GPL";

EBPFPP_RINGBUF(output, 256 * 1024);
// Its records, for the typed skeleton: maps.output is a RingBuffer<hello_file_event>.
EBPFPP_EVENT(output, struct hello_file_event);

SEC("tracepoint/syscalls/sys_enter_openat")
int hello_ringbuf(struct trace_event_raw_sys_enter *ctx)
{
	struct hello_file_event *e = EBPFPP_RINGBUF_RESERVE(output, struct hello_file_event);

	if (!e)
		return 0;
	bpf_get_current_comm(e->command, sizeof(e->command));
	if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), (const char *)ctx->args[1]) <
	    0)
		e->filename[0] = '\0';
	e->dfd = (int)ctx->args[0];
	EBPFPP_RINGBUF_SUBMIT(output, e);
	return 0;
}
