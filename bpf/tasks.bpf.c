// SPDX-License-Identifier: GPL-2.0
/* tasks: a task iterator writing one record per task (the tasks example and its test). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tasks.h"

char LICENSE[] SEC("license") = "GPL";

/* Only thread group leaders (one record per process), unless set. */
const volatile bool all_threads = false;

/* Kernels before 5.14 call the field `state`. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline unsigned int task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	if (!t)
		return 0; /* the end of the walk */
	if (!all_threads && t->pid != t->tgid)
		return 0;
	struct task_record r = {};
	r.pid = t->pid;
	r.tgid = t->tgid;
	r.ppid = BPF_CORE_READ(t, real_parent, tgid);
	r.state = task_state(t);
	r.exit_state = t->exit_state;
	r.flags = t->flags;
	__builtin_memcpy(r.comm, t->comm, sizeof(r.comm));
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/* The same walk as text, one "pid comm" line per process. */
SEC("iter/task")
int dump_task_text(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	if (!t || t->pid != t->tgid)
		return 0;
	BPF_SEQ_PRINTF(ctx->meta->seq, "%d %s\n", t->tgid, t->comm);
	return 0;
}
