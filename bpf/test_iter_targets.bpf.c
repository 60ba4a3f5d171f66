// SPDX-License-Identifier: GPL-2.0
/* Iterators over a target with a parameter (tests/kernel/iterator_options_test.cpp): one
 * process's tasks and files, a cgroup and its relatives in an order, a given map's elements.
 * Each writes fixed-size records with bpf_seq_write for the test to compare exactly. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* {tgid, tid} per task. */
SEC("iter/task")
int task_ids(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	if (!t)
		return 0;
	__u32 rec[2] = {t->tgid, t->pid};
	bpf_seq_write(ctx->meta->seq, rec, sizeof(rec));
	return 0;
}

/* {tgid, fd} per open file (once per file table: threads sharing it are skipped). */
SEC("iter/task_file")
int task_fds(struct bpf_iter__task_file *ctx)
{
	struct task_struct *t = ctx->task;
	if (!t || !ctx->file)
		return 0;
	__u32 rec[2] = {t->tgid, ctx->fd};
	bpf_seq_write(ctx->meta->seq, rec, sizeof(rec));
	return 0;
}

/* The cgroup's id (its kernfs node's id, the directory's inode number) per cgroup. */
SEC("iter/cgroup")
int cgroup_ids(struct bpf_iter__cgroup *ctx)
{
	struct cgroup *cg = ctx->cgroup;
	if (!cg)
		return 0;
	__u64 id = BPF_CORE_READ(cg, kn, id);
	bpf_seq_write(ctx->meta->seq, &id, sizeof(id));
	return 0;
}

/* {key, value} per element of a u32 -> u64 map. */
SEC("iter/bpf_map_elem")
int map_elems(struct bpf_iter__bpf_map_elem *ctx)
{
	__u32 *key = ctx->key;
	__u64 *value = ctx->value;
	if (!key || !value)
		return 0;
	__u64 rec[2] = {*key, *value};
	bpf_seq_write(ctx->meta->seq, rec, sizeof(rec));
	return 0;
}
