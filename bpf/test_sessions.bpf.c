// SPDX-License-Identifier: GPL-2.0
// Programs for the kprobe and uprobe session tests (tests/kernel/sessions_test.cpp). A session
// program runs at a function's entry and, when that run returns 0, again at its return; the
// kfuncs below tell the two runs apart and give each call 8 bytes that live from one to the
// other. libbpf 1.1 knows neither SEC("kprobe.session") nor SEC("uprobe.session"): the programs
// are SEC("kprobe.multi") and SEC("uprobe"), and the test sets their expected attach type to the
// session's before load (KprobeMulti::prepare / UprobeMulti::prepare with ProbeAt::session).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

// The session kfuncs as 6.10 to 6.18 declare them (kernel/trace/bpf_trace.c; in BTF:
// bool bpf_session_is_return(void), __u64 *bpf_session_cookie(void)). Weak: on a kernel without
// them the object still loads, and only a program that calls them is refused. 7.x passes them
// the program's ctx (bool bpf_session_is_return(void *ctx), ...: Debian sid's 7.2 does), and
// libbpf refuses an object whose declaration is not its kernel's: test_sessions_ctx.bpf.c
// builds this file with EBPFPP_SESSION_KFUNC_CTX for those, and the test loads the one that fits.
#ifdef EBPFPP_SESSION_KFUNC_CTX
extern bool bpf_session_is_return(void *ctx) __weak __ksym;
extern __u64 *bpf_session_cookie(void *ctx) __weak __ksym;
#define session_is_return(ctx) bpf_session_is_return(ctx)
#define session_cookie(ctx) bpf_session_cookie(ctx)
#else
extern bool bpf_session_is_return(void) __weak __ksym;
extern __u64 *bpf_session_cookie(void) __weak __ksym;
#define session_is_return(ctx) bpf_session_is_return()
#define session_cookie(ctx) bpf_session_cookie()
#endif

const volatile int target_tgid = 0;

static __always_inline bool mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == (__u64)target_tgid;
}

/* uprobe session on ebpfpp_test_session_add(x): the entry keeps x in the call's cookie, the
 * return adds the cookie to a sum. The sum is the sum of the arguments only if each return run
 * saw the cookie its own entry set. */
__u64 sum_entries = 0;
__u64 sum_returns = 0;
__u64 sum_of_args = 0;

SEC("uprobe")
int uprobe_session_sum(struct pt_regs *ctx)
{
	if (!mine())
		return 1; /* not ours: no return run either */
	__u64 *cookie = session_cookie(ctx);
	if (session_is_return(ctx)) {
		__sync_fetch_and_add(&sum_returns, 1);
		__sync_fetch_and_add(&sum_of_args, *cookie);
		return 0;
	}
	__sync_fetch_and_add(&sum_entries, 1);
	*cookie = PT_REGS_PARM1(ctx);
	return 0;
}

/* A session whose entry returns 1: the return run never happens. */
__u64 skip_entries = 0;
__u64 skip_returns = 0;

SEC("uprobe")
int uprobe_session_skip(struct pt_regs *ctx)
{
	if (!mine())
		return 1;
	if (session_is_return(ctx))
		__sync_fetch_and_add(&skip_returns, 1);
	else
		__sync_fetch_and_add(&skip_entries, 1);
	return 1;
}

/* An ordinary uprobe.multi program (no session kfuncs), for the flag-mismatch errors. */
__u64 plain_hits = 0;

SEC("uprobe")
int uprobe_multi_plain(struct pt_regs *ctx)
{
	if (mine())
		__sync_fetch_and_add(&plain_hits, 1);
	return 0;
}

/* kprobe session on getppid: the n-th entry keeps n in its cookie, each return adds its cookie
 * to a sum (1 + 2 + ... + N for N calls) and counts. */
__u64 kprobe_entries = 0;
__u64 kprobe_returns = 0;
__u64 kprobe_cookie_sum = 0;

SEC("kprobe.multi")
int kprobe_session_count(struct pt_regs *ctx)
{
	if (!mine())
		return 1;
	__u64 *cookie = session_cookie(ctx);
	if (session_is_return(ctx)) {
		__sync_fetch_and_add(&kprobe_returns, 1);
		__sync_fetch_and_add(&kprobe_cookie_sum, *cookie);
		return 0;
	}
	/* One thread triggers the calls: no fetch-add needed for the sequence number. */
	*cookie = ++kprobe_entries;
	return 0;
}
