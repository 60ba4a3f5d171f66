// SPDX-License-Identifier: GPL-2.0
// Local storage for the kernel tests of local_storage_map.hpp: a per-task count of getppid calls
// (task storage, created by the BPF side), and a per-socket value the BPF side bumps on each TCP
// state change of a socket user space gave storage to (socket storage).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} task_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} sk_marks SEC(".maps");

const volatile int target_tgid = 0;

// Counts this process's getppid calls in its task's storage (created on first call).
SEC("tp/syscalls/sys_enter_getppid")
int count_task(void *ctx)
{
	__u64 *v;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	v = bpf_task_storage_get(&task_calls, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (v)
		*v += 1;
	return 0;
}

// Adds 1 to the storage of a socket that has some (user space made it) on each state change.
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(mark_socket, struct sock *sk, int oldstate, int newstate)
{
	__u64 *v = bpf_sk_storage_get(&sk_marks, sk, 0, 0);

	if (v)
		*v += 1;
	return 0;
}
