// SPDX-License-Identifier: GPL-2.0
// Cgroup local storage for the kernel tests of local_storage_map.hpp: a count of one process's
// getppid calls kept in the storage of its cgroup (v2), created by the BPF side.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} cgroup_calls SEC(".maps");

const volatile int target_tgid = 0;

SEC("tp/syscalls/sys_enter_getppid")
int count_cgroup(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 *v = bpf_cgrp_storage_get(&cgroup_calls, task->cgroups->dfl_cgrp, 0,
					BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}
