#pragma once
/// @file
/// CpuMap: the CPUs an XDP program hands frames to with bpf_redirect_map (BPF_MAP_TYPE_CPUMAP,
/// kernel 4.15+), so that the rest of their way through the stack runs on another CPU.
///
///     ebpfpp::CpuMap<> cpus(skel->maps.cpus);
///     cpus.set(1, {.qsize = 192, .prog = skel.program("on_cpu").fd()});  // CPU 1, a program
///
/// The key is a CPU number; the value the size of that CPU's queue of frames (qsize, from 4.15)
/// and, from 5.9, an XDP program (SEC("xdp/cpumap")) that runs on the frames there before the
/// stack sees those it passes. A qsize of 0 takes the CPU out of the map.

#include "detail/config.hpp"

#include <cstdint>
#include <string_view>

#include "detail/map_kind.hpp"

namespace ebpfpp {

/// The long form of a cpumap value (struct bpf_cpumap_val, 5.9+): the CPU's queue size and an
/// XDP program (SEC("xdp/cpumap")) to run on the frames redirected there.
struct CpuMapValue {
  /// Frames the CPU's queue holds (1 to 16384; 0 removes the CPU). 192 is a usual size.
  std::uint32_t qsize = 0;
  /// The program's fd when writing (-1 or 0: none); its id when reading.
  std::int32_t prog = 0;
};

/// A typed view of a cpumap (BPF_MAP_TYPE_CPUMAP, kernel 4.15+): target CPUs by number. V is
/// CpuMapValue (the default) or std::uint32_t (the qsize alone, as before 5.9). Writing a CPU
/// that is not possible on this machine throws Error (ENODEV), a qsize over 16384 (EOVERFLOW),
/// a program that is not SEC("xdp/cpumap") (EINVAL). Throws like ArrayMap.
template <MapData V = CpuMapValue>
class CpuMap
    : public detail::RedirectArray<CpuMap<V>, V, detail::Kind<"CpuMap", BPF_MAP_TYPE_CPUMAP>> {
public:
  using CpuMap::RedirectArray::RedirectArray;

  // create(max_entries, name, map_flags) (detail::MapKind).
};

} // namespace ebpfpp
