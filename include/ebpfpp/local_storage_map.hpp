#pragma once
/// @file
/// TaskStorageMap<V>, SocketStorageMap<V>, InodeStorageMap<V> and CgroupStorageMap<V>: local
/// storage, a V attached to each task, socket, inode or cgroup by BPF programs
/// (bpf_task_storage_get, bpf_sk_storage_get, bpf_inode_storage_get, bpf_cgrp_storage_get), read
/// and written from user space through an fd that names the owner: a pidfd for a task
/// (BPF_MAP_TYPE_TASK_STORAGE, 5.11+), a socket fd for a socket (BPF_MAP_TYPE_SK_STORAGE, 5.2+),
/// an fd of any open file for its inode (BPF_MAP_TYPE_INODE_STORAGE, 5.10+), an fd of a cgroup
/// v2 directory for that cgroup (BPF_MAP_TYPE_CGRP_STORAGE, 6.2+).
///
///     ebpfpp::TaskStorageMap<std::uint64_t> calls(skel->maps.calls);
///     int pidfd = syscall(SYS_pidfd_open, pid, 0);
///     if (auto n = calls.get(pidfd)) ...;        // what the BPF side stored for that task
///     calls.set(pidfd, 0);                       // the BPF side sees it at its next run
///
/// Each has get(fd), set(fd, value, flag) and erase(fd) (detail::LocalStorageOps in
/// detail/map_ops.hpp); an fd that names no owner of the map's kind is an Error (EBADF) whose
/// hint says what the fd must name.
///
/// Such maps need BTF and BPF_F_NO_PREALLOC, so they come from a BPF object (no create()).

#include "detail/config.hpp"

#include "detail/map_ops.hpp"
#include "detail/uapi.hpp"

namespace ebpfpp {

/// Task local storage (BPF_MAP_TYPE_TASK_STORAGE, 5.11+): user space names a task by a pidfd
/// (pidfd_open(2), 5.3+).
template <MapData V>
class TaskStorageMap : public detail::LocalStorageOps<TaskStorageMap<V>, V> {
public:
  using detail::LocalStorageOps<TaskStorageMap<V>, V>::LocalStorageOps;
  /// What an fd must name, for errors.
  static std::string_view owner() noexcept { return "a pidfd (pidfd_open)"; }
  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_TASK_STORAGE};
    return detail::key_value_spec<int, V>("TaskStorageMap", types, true);
  }
};

/// Socket local storage (BPF_MAP_TYPE_SK_STORAGE, 5.2+): user space names a socket by its fd.
template <MapData V>
class SocketStorageMap : public detail::LocalStorageOps<SocketStorageMap<V>, V> {
public:
  using detail::LocalStorageOps<SocketStorageMap<V>, V>::LocalStorageOps;
  /// What an fd must name, for errors.
  static std::string_view owner() noexcept { return "a socket fd"; }
  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_SK_STORAGE};
    return detail::key_value_spec<int, V>("SocketStorageMap", types, true);
  }
};

/// Inode local storage (BPF_MAP_TYPE_INODE_STORAGE, 5.10+, CONFIG_BPF_LSM): user space names an
/// inode by an fd of any file open on it, so every fd of one file reaches the same value. The
/// BPF side is an LSM program (bpf_inode_storage_get), which needs BPF LSM active (bpf in lsm=).
template <MapData V>
class InodeStorageMap : public detail::LocalStorageOps<InodeStorageMap<V>, V> {
public:
  using detail::LocalStorageOps<InodeStorageMap<V>, V>::LocalStorageOps;
  /// What an fd must name, for errors.
  static std::string_view owner() noexcept { return "an fd of an open file (open(2))"; }
  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {BPF_MAP_TYPE_INODE_STORAGE};
    return detail::key_value_spec<int, V>("InodeStorageMap", types, true);
  }
};

/// Cgroup local storage (BPF_MAP_TYPE_CGRP_STORAGE, 6.2+): user space names a cgroup by an fd
/// of its cgroup v2 directory (open("/sys/fs/cgroup/<path>", O_RDONLY | O_DIRECTORY)). Not the
/// older BPF_MAP_TYPE_CGROUP_STORAGE, which is per attached program.
template <MapData V>
class CgroupStorageMap : public detail::LocalStorageOps<CgroupStorageMap<V>, V> {
public:
  using detail::LocalStorageOps<CgroupStorageMap<V>, V>::LocalStorageOps;
  /// What an fd must name, for errors.
  static std::string_view owner() noexcept { return "an fd of a cgroup v2 directory"; }
  /// What this view requires of a map (used by the checks).
  static detail::ViewSpec spec() {
    static constexpr bpf_map_type types[] = {
        static_cast<bpf_map_type>(detail::uapi::map_type_cgrp_storage)};
    return detail::key_value_spec<int, V>("CgroupStorageMap", types, true);
  }
};

} // namespace ebpfpp
