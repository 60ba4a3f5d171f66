/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by funclatency's BPF side and C++ side. */
#ifndef FUNCLATENCY_H
#define FUNCLATENCY_H

/* log2 buckets: bucket b counts latencies in [2^b, 2^(b+1)) units. */
#define FUNCLATENCY_SLOTS 64

#endif
