// SPDX-License-Identifier: GPL-2.0
// Inode local storage for the kernel tests of local_storage_map.hpp: a per-inode count of the
// opens of files whose inode user space gave storage to. The BPF side of inode storage is an LSM
// program (bpf_inode_storage_get is offered to those), so it runs where BPF LSM is active.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} inode_opens SEC(".maps");

SEC("lsm/file_open")
int BPF_PROG(count_open, struct file *file)
{
	__u64 *v = bpf_inode_storage_get(&inode_opens, file->f_inode, 0, 0);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}
