// SPDX-License-Identifier: GPL-2.0
// test_sessions.bpf.c for kernels whose session kfuncs take the program's ctx (7.x), where
// libbpf refuses the 6.10-6.18 declarations: the test loads whichever of the two its kernel
// takes (see test_sessions.bpf.c).
#define EBPFPP_SESSION_KFUNC_CTX
#include "test_sessions.bpf.c"
