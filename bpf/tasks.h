/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One task as the tasks iterator writes it, shared by the BPF side and the C++ side. */
#ifndef TASKS_H
#define TASKS_H

struct task_record {
	int pid;	    /* thread id */
	int tgid;	    /* process id */
	int ppid;	    /* the parent's process id */
	unsigned int state; /* task_struct::__state (::state before 5.14) */
	unsigned int exit_state;
	unsigned int flags; /* PF_* (PF_KTHREAD: a kernel thread) */
	char comm[16];
};

#endif
