// SPDX-License-Identifier: GPL-2.0
// A BPF consumer of a user ring buffer, for the kernel tests of user_ring_buffer.hpp: each
// getppid of the test process drains every record, checking their order and summing them.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <ebpfpp/user_ring_buffer.bpf.h>

char LICENSE[] SEC("license") = "GPL";

struct command {
	__u64 seq;
	__u64 value;
};

EBPFPP_USER_RINGBUF(commands, 8192);

const volatile int target_tgid = 0;
__u64 next_seq = 0; // the seq the next record must carry
__u64 out_of_order = 0;
__u64 sum = 0;
__u64 drains = 0;

static long on_command(struct bpf_dynptr *d, void *ctx)
{
	struct command c;

	if (bpf_dynptr_read(&c, sizeof(c), d, 0, 0))
		return 1;
	if (c.seq != next_seq)
		out_of_order++;
	next_seq = c.seq + 1;
	sum += c.value;
	return 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int drain(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	drains++;
	EBPFPP_USER_RINGBUF_DRAIN(commands, on_command, NULL, 0);
	return 0;
}
