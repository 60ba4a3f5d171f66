/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Printing to the program's own stdout and stderr, its BPF streams (kernel 6.17+), which user
 * space reads line by line with ebpfpp::ProgramStream (bpf_stream.hpp). Include after vmlinux.h
 * and bpf_helpers.h:
 *
 *     EBPFPP_STREAM_PRINTK(EBPFPP_STDOUT, "pid %d opened %s\n", pid, name);
 *     EBPFPP_STREAM_PRINTK(EBPFPP_STDERR, "lookup failed: %d\n", err);
 *
 * The format is a string literal with bpf_printk's conversions (%d %u %x %ld %llu %p %s ...),
 * followed by at most 12 arguments; end a line with \n (ProgramStream hands out whole lines).
 * Unlike bpf_printk, the output goes to no tracefs and no other program: only this program's
 * readers see it.
 *
 * The macro evaluates to the kernel's answer: 0, or a negative errno: -ENOSPC when the stream
 * holds its most unread bytes (about 100 000; read them), -ENOMEM when the kernel found no
 * memory without waiting for it (6.17 and 6.18 take whole pages that way, which also always
 * fails while a kernel booted with deferred_init=lazy still initialises its memory), -EINVAL
 * for a format it refuses, and -ENOSYS on a kernel without BPF streams, where a program that
 * uses the macro still loads and runs.
 *
 * The kfunc changed its name and its prototype twice, and libbpf (1.1 at least) refuses to load
 * an object whose kfunc declaration differs from the kernel's, even a weak one for a branch
 * that never runs; so an object is built for one of them:
 *   - 6.18 (the default): bpf_stream_vprintk_impl(..., void *aux__prog), the verifier passing
 *     the program's bpf_prog_aux as the last argument;
 *   - 6.17: bpf_stream_vprintk with the same arguments: #define EBPFPP_STREAM_KFUNC_6_17;
 *   - kernels with implicit kfunc arguments (7.x: Debian's 7.2 has them), where
 *     bpf_stream_vprintk takes four arguments and the kernel adds the fifth:
 *     #define EBPFPP_STREAM_KFUNC_IMPLICIT.
 * (#define before including this header.) Built for another kernel, the object fails to load
 * ("func_proto ... incompatible with kernel"). On a kernel without the kfunc at all it loads,
 * and the macro returns -ENOSYS: the kfunc is declared weak, and the verifier removes the call
 * to an absent one, whose address is 0. With libbpf 1.6+, whose bpf_helpers.h defines
 * bpf_stream_printk for the kernels of its day, the macro is libbpf's. */
#ifndef EBPFPP_STREAM_BPF_H
#define EBPFPP_STREAM_BPF_H

#include "errno.bpf.h"

#ifndef ENOSYS
#define ENOSYS 38
#endif

/* The stream ids (the kernel's enum bpf_stream_id: BPF_STDOUT, BPF_STDERR). */
#define EBPFPP_STDOUT 1
#define EBPFPP_STDERR 2

#ifdef bpf_stream_printk

#define EBPFPP_STREAM_PRINTK(stream, fmt, args...) bpf_stream_printk(stream, fmt, ##args)

#else

#if defined(EBPFPP_STREAM_KFUNC_IMPLICIT)
extern int bpf_stream_vprintk(int stream_id, const char *fmt__str, const void *args,
			      __u32 len__sz) __weak __ksym;
#define EBPFPP_STREAM_KFUNC_ bpf_stream_vprintk
#define EBPFPP_STREAM_AUX_
#elif defined(EBPFPP_STREAM_KFUNC_6_17)
extern int bpf_stream_vprintk(int stream_id, const char *fmt__str, const void *args, __u32 len__sz,
			      void *aux__prog) __weak __ksym;
#define EBPFPP_STREAM_KFUNC_ bpf_stream_vprintk
#define EBPFPP_STREAM_AUX_ , 0
#else
extern int bpf_stream_vprintk_impl(int stream_id, const char *fmt__str, const void *args,
				   __u32 len__sz, void *aux__prog) __weak __ksym;
#define EBPFPP_STREAM_KFUNC_ bpf_stream_vprintk_impl
#define EBPFPP_STREAM_AUX_ , 0
#endif

/* Prints `fmt` with the `len` bytes of u64 arguments at `args` to stream `stream`; -ENOSYS
 * where the kernel has no such kfunc. */
static __always_inline int ebpfpp_stream_vprintk(int stream, const char *fmt, const void *args,
						 __u32 len)
{
	if (!EBPFPP_STREAM_KFUNC_)
		return -ENOSYS;
	return EBPFPP_STREAM_KFUNC_(stream, fmt, args, len EBPFPP_STREAM_AUX_);
}

/* Each argument widened to u64 in an array on the stack, as the kfunc reads them; the format
 * in .rodata, where the verifier requires a constant string. */
/* clang-format off */
#define EBPFPP_STREAM_PRINTK(stream, fmt, args...)                                                 \
	({                                                                                         \
		static const char ebpfpp_fmt_[] = fmt;                                             \
		unsigned long long ebpfpp_args_[___bpf_narg(args)];                                \
		_Pragma("GCC diagnostic push")                                                     \
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")                             \
		___bpf_fill(ebpfpp_args_, args);                                                   \
		_Pragma("GCC diagnostic pop")                                                      \
		ebpfpp_stream_vprintk(stream, ebpfpp_fmt_, ebpfpp_args_, sizeof(ebpfpp_args_));     \
	})
/* clang-format on */

#endif /* bpf_stream_printk */

#endif /* EBPFPP_STREAM_BPF_H */
