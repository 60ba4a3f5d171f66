#pragma once
/// @file
/// StructOps: a struct_ops map (a kernel ops table implemented by BPF programs, such as a TCP
/// congestion control) registered with the kernel through a link.
///
///     // SEC(".struct_ops.link") struct tcp_congestion_ops my_cc = { .name = "my_cc", ... };
///     ebpfpp::StructOps cc(skel->maps.my_cc);   // "my_cc" is now a congestion control
///
/// Destroying it unregisters the ops. Kernel 5.6+ (links for struct_ops: 6.4+, with the map in
/// SEC(".struct_ops.link"); older kernels register on attach and unregister on detach alike).

#include "detail/config.hpp"

#include <string>

#include <bpf/libbpf.h>

#include "detail/format.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "map_ref.hpp"
#include "program.hpp"

namespace ebpfpp {

/// Registers a loaded struct_ops map (a MapRef or a skeleton's bpf_map*) with the kernel.
/// Throws FeatureError where the kernel has no struct_ops, Error when it refuses the ops (the
/// ops' programs are loaded when the Object is; registration can still fail, e.g. EEXIST for a
/// congestion control name already taken).
class StructOps : public Link {
public:
  [[nodiscard]] explicit StructOps(const MapRef& map) : Link(make(map)) {}
  [[nodiscard]] explicit StructOps(bpf_map* map) : Link(make(MapRef(map))) {}

private:
  static Link make(const MapRef& map) {
    const std::string action = detail::format("register struct_ops map '{}'", map.name());
    if (!map) throw Error(EBADF, action, std::string(detail::hint::empty_view));
    if (map.type() != BPF_MAP_TYPE_STRUCT_OPS)
      throw Error(EINVAL, action,
                  detail::format("it is a {} map: declare the ops in SEC(\".struct_ops\") or "
                                 "SEC(\".struct_ops.link\")",
                                 map.type_name()));
    kernel::require(kernel::Feature::struct_ops, action);
    if (map.fd() < 0) throw Error(EBADF, action, std::string(detail::hint::not_loaded));
    detail::LibbpfLog log;
    errno = 0;
    bpf_link* l = bpf_map__attach_struct_ops(map.get());
    if (!l) {
      const int err = errno ? errno : EINVAL;
      detail::fail(
          err, [&] { return action; }, detail::Op::attach_tracing,
          err == EEXIST ? detail::hint::struct_ops_name_taken : std::string_view(), log.take());
    }
    return Link(l, detail::format("struct_ops '{}'", map.name()));
  }
};

} // namespace ebpfpp
