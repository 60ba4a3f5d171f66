/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The errno values BPF helpers return (negated): vmlinux.h has the kernel's types but not its
 * #defines, so a program that checks `err == -EEXIST` has nowhere to get EEXIST from. Each is
 * defined only where nothing else defined it (a program that includes <errno.h>'s values by
 * other means keeps them). */
#ifndef EBPFPP_ERRNO_BPF_H
#define EBPFPP_ERRNO_BPF_H

#ifndef EPERM
#define EPERM 1
#endif
#ifndef ENOENT
#define ENOENT 2
#endif
#ifndef ESRCH
#define ESRCH 3
#endif
#ifndef EINTR
#define EINTR 4
#endif
#ifndef E2BIG
#define E2BIG 7
#endif
#ifndef EBADF
#define EBADF 9
#endif
#ifndef EAGAIN
#define EAGAIN 11
#endif
#ifndef ENOMEM
#define ENOMEM 12
#endif
#ifndef EFAULT
#define EFAULT 14
#endif
#ifndef EBUSY
#define EBUSY 16
#endif
#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef EINVAL
#define EINVAL 22
#endif
#ifndef ENOSPC
#define ENOSPC 28
#endif
#ifndef ERANGE
#define ERANGE 34
#endif
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

#endif /* EBPFPP_ERRNO_BPF_H */
