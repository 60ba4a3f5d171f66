// SPDX-License-Identifier: GPL-2.0
// Watches one process open maps by id: counts its BPF_MAP_GET_FD_BY_ID calls, and those for one
// map id, so a test can tell from the kernel's side which maps a call opened.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile int target_tgid = 0;

__u32 watched_id = 0; // set after load: the map to watch
__u64 opens_by_id = 0;
__u64 opens_of_watched = 0;

SEC("tracepoint/syscalls/sys_enter_bpf")
int count_map_opens(struct trace_event_raw_sys_enter *ctx)
{
	__u32 id = 0;

	if ((bpf_get_current_pid_tgid() >> 32) != (__u64)target_tgid)
		return 0;
	if (ctx->args[0] != BPF_MAP_GET_FD_BY_ID)
		return 0;
	// union bpf_attr begins with map_id for this command.
	bpf_probe_read_user(&id, sizeof(id), (const void *)ctx->args[1]);
	__sync_fetch_and_add(&opens_by_id, 1);
	if (id == watched_id)
		__sync_fetch_and_add(&opens_of_watched, 1);
	return 0;
}
