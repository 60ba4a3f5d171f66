/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* execsnoop's event: written by execsnoop.bpf.c, read by execsnoop.cpp. Plain C types, so that
 * both sides can include it (the BPF side after vmlinux.h). */
#ifndef EXECSNOOP_H
#define EXECSNOOP_H

struct exec_event {
	int pid;	    /* the process calling execve */
	int ppid;	    /* its parent */
	char comm[16];	    /* its name, before the exec replaces it */
	char filename[256]; /* the program it asks to run */
};

#endif
