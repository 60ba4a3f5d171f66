#pragma once
/// @file
/// The machine's BPF objects: every loaded program, map, link and BTF object by id, with what
/// the kernel says about each (like `bpftool prog/map/link/btf show`), and StatsGuard, which
/// turns on per-program run-time statistics (run_count, run_time_ns) while it lives.
///
///     ebpfpp::StatsGuard stats;                                // BPF_ENABLE_STATS, 5.8+
///     for (const ebpfpp::ProgramInfo& p : ebpfpp::all_programs())
///       fmt::print("{} {} {} runs {} ns\n", p.id, p.type_name(), p.name, p.run_count,
///                  p.run_time_ns);
///     auto m = ebpfpp::Map<u32, u64>::from_id(id);             // any map by id, typed
///     auto fd = ebpfpp::open_program_by_id(id);                // an owned program fd
///
/// All of it needs CAP_SYS_ADMIN (the kernel's rule for ids). Objects come and go while the ids
/// are walked: one that vanished between its id and its info is left out, not an error.
///
/// Opening other processes' maps is a hazard: on 6.18, a prog_array opened by id while its
/// owner closes its last fd was leaked for good, with its programs (detail/map_iter.hpp says
/// why). So all_maps() opens no map: it reads every map's description with a BPF map iterator
/// (kernel 5.8+ with BTF), and a typed view's from_id(id) checks the map's type and sizes the
/// same way before it opens the map, so it opens only a map of the type asked for. Only a
/// ProgArray::from_id of a prog_array that another process is closing meets the hazard; a poller
/// should not hold other processes' prog arrays open. Before 5.8 (or without BTF, or when the
/// iterator cannot be loaded) all_maps() opens each map by id as bpftool does.

#include "detail/config.hpp"

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "detail/format.hpp"
#include "detail/id_walk.hpp"
#include "detail/link_ops.hpp"
#include "detail/map_iter.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link_info.hpp"
#include "map_info.hpp"
#include "program_info.hpp"

namespace ebpfpp {

/// LinkInfo (a link as the kernel describes it, with its typed target) is in link_info.hpp.

/// A BTF object as the kernel describes it (kernel 5.4+; name 5.11+).
struct BtfInfo {
  std::uint32_t id = 0;
  /// "vmlinux", a module's name, or "" for a program's BTF.
  std::string name;
  std::uint32_t size = 0;
  /// Whether it is the kernel's or a module's own BTF.
  bool kernel = false;
};

/// Ids of every loaded program (kernel 4.13+). Throws Error (EPERM without CAP_SYS_ADMIN).
inline std::vector<std::uint32_t> program_ids() {
  return detail::ids_of(bpf_prog_get_next_id, "programs");
}
/// Ids of every map (kernel 4.13+). Throws Error.
inline std::vector<std::uint32_t> map_ids() {
  return detail::ids_of(bpf_map_get_next_id, "maps");
}
/// Ids of every link (kernel 5.8+). Throws Error.
inline std::vector<std::uint32_t> link_ids() {
  return detail::ids_of(bpf_link_get_next_id, "links");
}
/// Ids of every BTF object (kernel 5.4+). Throws Error.
inline std::vector<std::uint32_t> btf_ids() {
  return detail::ids_of(bpf_btf_get_next_id, "BTF");
}

/// An owned fd of the program with this id (kernel 4.13+). Throws Error (ENOENT: no such id).
inline detail::UniqueFd open_program_by_id(std::uint32_t id) {
  return detail::open_id(bpf_prog_get_fd_by_id, id, "program");
}
/// An owned fd of the link with this id (kernel 5.8+). Throws Error.
inline detail::UniqueFd open_link_by_id(std::uint32_t id) {
  return detail::open_id(bpf_link_get_fd_by_id, id, "link");
}
/// Maps by id: MapSource::id(id), or any typed view's from_id(id).

/// Every loaded program with its info (run_count/run_time_ns count while a StatsGuard lives).
template <class = void> // a template: a file that never calls it does not compile the walk over ids
std::vector<ProgramInfo> all_programs() {
  return detail::infos_of<ProgramInfo>(
      program_ids(), bpf_prog_get_fd_by_id, [](int fd) { return program_info(fd); }, "program");
}
/// Every map with its info, read without opening any (see above; kernel 5.8+, else each map is
/// opened by id).
template <class = void> // a template: a file that never calls it does not compile the walk over ids
std::vector<MapInfo> all_maps() {
  if (auto described = detail::describe_maps_unopened()) return std::move(*described);
  return detail::infos_of<MapInfo>(
      map_ids(), bpf_map_get_fd_by_id,
      [](int fd) { return detail::query_map_info(fd, detail::format("fd {}", fd)); }, "map");
}
/// Every link with its info and typed target (kernel 5.8+).
template <class = void> // a template: a file that never calls it does not compile LinkInfo's reading
std::vector<LinkInfo> all_links() {
  return detail::infos_of<LinkInfo>(
      link_ids(), bpf_link_get_fd_by_id,
      [](int fd) {
        return detail::describe_link(fd, [] { return std::string("describe a link"); });
      },
      "link");
}
/// Every BTF object with its info (kernel 5.4+).
template <class = void> // a template: a file that never calls it does not compile the walk over ids
std::vector<BtfInfo> all_btfs() {
  return detail::infos_of<BtfInfo>(
      btf_ids(), bpf_btf_get_fd_by_id,
      [](int fd) {
        char name[64] = {};
        bpf_btf_info info{};
        info.name = reinterpret_cast<std::uintptr_t>(name);
        info.name_len = sizeof name;
        __u32 len = sizeof info;
        detail::check(bpf_obj_get_info_by_fd(fd, &info, &len),
                      [] { return std::string("describe a BTF object"); });
        return BtfInfo{info.id, name, info.btf_size, info.kernel_btf != 0};
      },
      "BTF");
}

/// Turns on run-time statistics of every program (BPF_ENABLE_STATS, kernel 5.8+) while it lives:
/// the kernel then counts runs and their time, which ProgramInfo::run_count and run_time_ns
/// report. Several guards may live at once (also in other processes): statistics stay on until
/// the last one is gone. Counting costs a few tens of ns per program run. Move-only. Throws
/// FeatureError below 5.8, Error without CAP_SYS_ADMIN.
class StatsGuard {
public:
  StatsGuard() {
    kernel::require(kernel::Feature::run_stats, "enable BPF run-time statistics");
    fd_.reset(bpf_enable_stats(BPF_STATS_RUN_TIME));
    if (!fd_) detail::fail(errno, [] { return std::string("enable BPF run-time statistics"); });
  }
  /// The fd that keeps the statistics on.
  int fd() const noexcept { return fd_.get(); }

private:
  detail::UniqueFd fd_;
};

} // namespace ebpfpp
