/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ebpfpp's kernel-side helpers: include this from a .bpf.c after vmlinux.h and bpf_helpers.h.
 * Each helper pairs with a user-space type of ebpfpp (named in its comment). */
#ifndef EBPFPP_BPF_H
#define EBPFPP_BPF_H

/* Filters set from user space through .rodata, so one object serves any target:
 * skel->rodata->ebpfpp_target_tgid = pid before load. 0 means every process. */
#define EBPFPP_DECLARE_TGID_FILTER() const volatile int ebpfpp_target_tgid = 0

#define EBPFPP_TGID_MATCHES()                                                                      \
	(ebpfpp_target_tgid == 0 || (bpf_get_current_pid_tgid() >> 32) == (__u64)ebpfpp_target_tgid)

#include "ring_buffer.bpf.h"

#endif /* EBPFPP_BPF_H */
