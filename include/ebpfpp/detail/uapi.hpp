#pragma once
// Kernel ABI values newer than the uapi headers ebpfpp may be built with (Debian 12 ships 6.1's
// linux/bpf.h), and the raw bpf() syscall for what libbpf 1.1 has no function for. The one place
// for them: a header that needs a newer value takes it from here.

#include "config.hpp"

#include <sys/syscall.h>
#include <unistd.h>

namespace ebpfpp::kernel::detail {

// uapi values newer than the headers ebpfpp may be built with (Debian 12 ships 6.1's).
inline constexpr int attach_netfilter = 45;
inline constexpr int attach_tcx_ingress = 46;
inline constexpr int attach_uprobe_multi = 48;
inline constexpr int prog_type_netfilter = 32;
inline constexpr int map_type_user_ringbuf = 31;
inline constexpr int map_type_cgrp_storage = 32;
inline constexpr int cmd_token_create = 36;

inline long sys_bpf(int cmd, void* attr, unsigned size) noexcept {
  return ::syscall(__NR_bpf, cmd, attr, size);
}

} // namespace ebpfpp::kernel::detail
