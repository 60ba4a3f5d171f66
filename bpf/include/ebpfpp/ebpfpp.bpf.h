/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* ebpfpp's kernel-side helpers: include this from a .bpf.c after vmlinux.h and bpf_helpers.h.
 * Each helper pairs with a user-space type of ebpfpp (named in its comment). */
#ifndef EBPFPP_BPF_H
#define EBPFPP_BPF_H

/* A process filter set from user space through .rodata, so one object serves any target.
 * Declare it once at file scope, test it first thing in each program:
 *
 *     EBPFPP_DECLARE_TGID_FILTER();
 *     SEC("tracepoint/syscalls/sys_enter_openat")
 *     int on_open(void *ctx) { if (!EBPFPP_TGID_MATCHES()) return 0; ... }
 *
 * and set it before load: `skel->rodata->ebpfpp_target_tgid = pid;` (0, the default, means
 * every process). Being const volatile .rodata, the verifier sees its value after load and
 * removes the test entirely when it is 0. A TGID is what user space calls a process id; the
 * thread id would be the low 32 bits of bpf_get_current_pid_tgid(). */
#define EBPFPP_DECLARE_TGID_FILTER() const volatile int ebpfpp_target_tgid = 0

/* True when the current task belongs to the process set in ebpfpp_target_tgid (or it is 0). */
#define EBPFPP_TGID_MATCHES()                                                                      \
	(ebpfpp_target_tgid == 0 || (bpf_get_current_pid_tgid() >> 32) == (__u64)ebpfpp_target_tgid)

/* The record type of a ring or perf buffer map, for ebpfpp-skel: BTF records a map's key and
 * value types but not what a program writes into a stream, so say it once at file scope:
 *
 *     EBPFPP_RINGBUF(events, 256 * 1024);
 *     EBPFPP_EVENT(events, struct event);
 *
 * and the typed skeleton's `maps.events` is a RingBuffer<event> (a PerfBuffer<event> for a perf
 * event array, a UserRingBuffer<event> for a user ring buffer). The mark is a static function that
 * takes a `type *`: its BTF prototype names the type, it costs nothing at run time (never called,
 * so never loaded), and libbpf loads the object as before. */
#define EBPFPP_EVENT(map, type)                                                                    \
	__attribute__((used)) static void __ebpfpp_event__##map(type *event)                       \
	{                                                                                          \
		(void)event;                                                                       \
	}

#include "count.bpf.h"
#include "errno.bpf.h"
#include "ring_buffer.bpf.h"
#include "stream.bpf.h"

#endif /* EBPFPP_BPF_H */
