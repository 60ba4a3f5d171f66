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

#include "detail/map_kind.hpp"
#include "detail/map_ops.hpp"
#include "detail/uapi.hpp"

namespace ebpfpp {

namespace detail {
/// A local storage kind over LocalStorageOps: its name and map type (K), and what an fd must
/// name (`Owner`, for errors). The user side's key is the owner's fd, an int.
template <class Self, MapData V, class K, KindName Owner>
class LocalStorage : public LocalStorageOps<Self, V> {
public:
  using LocalStorageOps<Self, V>::LocalStorageOps;
  /// What an fd must name, for errors.
  static std::string_view owner() noexcept { return Owner.view(); }
  /// What this view requires of a map (used by the checks).
  static ViewSpec spec() { return key_value_spec<int, V>(K::name, K::map_types, true); }
};
} // namespace detail

/// Task local storage (BPF_MAP_TYPE_TASK_STORAGE, 5.11+): user space names a task by a pidfd
/// (pidfd_open(2), 5.3+).
template <MapData V>
class TaskStorageMap
    : public detail::LocalStorage<TaskStorageMap<V>, V,
                                  detail::Kind<"TaskStorageMap", BPF_MAP_TYPE_TASK_STORAGE>,
                                  "a pidfd (pidfd_open)"> {
public:
  using TaskStorageMap::LocalStorage::LocalStorage;
};

/// Socket local storage (BPF_MAP_TYPE_SK_STORAGE, 5.2+): user space names a socket by its fd.
template <MapData V>
class SocketStorageMap
    : public detail::LocalStorage<SocketStorageMap<V>, V,
                                  detail::Kind<"SocketStorageMap", BPF_MAP_TYPE_SK_STORAGE>,
                                  "a socket fd"> {
public:
  using SocketStorageMap::LocalStorage::LocalStorage;
};

/// Inode local storage (BPF_MAP_TYPE_INODE_STORAGE, 5.10+, CONFIG_BPF_LSM): user space names an
/// inode by an fd of any file open on it, so every fd of one file reaches the same value. The
/// BPF side is an LSM program (bpf_inode_storage_get), which needs BPF LSM active (bpf in lsm=).
template <MapData V>
class InodeStorageMap
    : public detail::LocalStorage<InodeStorageMap<V>, V,
                                  detail::Kind<"InodeStorageMap", BPF_MAP_TYPE_INODE_STORAGE>,
                                  "an fd of an open file (open(2))"> {
public:
  using InodeStorageMap::LocalStorage::LocalStorage;
};

/// Cgroup local storage (BPF_MAP_TYPE_CGRP_STORAGE, 6.2+): user space names a cgroup by an fd
/// of its cgroup v2 directory (open("/sys/fs/cgroup/<path>", O_RDONLY | O_DIRECTORY)). Not the
/// older BPF_MAP_TYPE_CGROUP_STORAGE, which is per attached program.
template <MapData V>
class CgroupStorageMap
    : public detail::LocalStorage<
          CgroupStorageMap<V>, V,
          detail::Kind<"CgroupStorageMap",
                       static_cast<bpf_map_type>(detail::uapi::map_type_cgrp_storage)>,
          "an fd of a cgroup v2 directory"> {
public:
  using CgroupStorageMap::LocalStorage::LocalStorage;
};

} // namespace ebpfpp
