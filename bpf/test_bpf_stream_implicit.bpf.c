// SPDX-License-Identifier: GPL-2.0
// test_bpf_stream.bpf.c for kernels whose kfuncs take implicit arguments (7.x), where
// bpf_stream_vprintk has four arguments and 6.18's bpf_stream_vprintk_impl another prototype:
// libbpf loads an object only with the declaration its kernel has, so the test loads whichever
// of the two this kernel takes (see stream.bpf.h).
#define EBPFPP_STREAM_KFUNC_IMPLICIT
#include "test_bpf_stream.bpf.c"
