#pragma once
// What Object and Skeleton (object.hpp) share: finding programs and maps by name, and loading,
// which turns a failure into an Error that names the failing program, map or relocation and
// carries the verifier's log, and hands the logs of programs the verifier accepted (with
// OpenOptions::kernel_log_level) to the log handler.

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <bpf/libbpf.h>

#include "../error.hpp"
#include "../kernel.hpp"
#include "../map_ref.hpp"
#include "../open_options.hpp"
#include "../program.hpp"
#include "format.hpp"
#include "libbpf_log.hpp"
#include "lifetime.hpp"
#include "token.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

// Finding and listing are templates over a parameter nobody gives, as Object's program(), map(),
// programs() and maps() are: their vectors and errors are compiled only where they are called.
template <class = void>
std::vector<Program> programs_of(bpf_object* obj, const LifeWatch& watch = {}) {
  std::vector<Program> out;
  bpf_program* p = nullptr;
  while ((p = bpf_object__next_program(obj, p))) out.emplace_back(p, watch);
  return out;
}

template <class = void>
std::vector<MapRef> maps_of(bpf_object* obj, const LifeWatch& watch = {}) {
  std::vector<MapRef> out;
  bpf_map* m = nullptr;
  while ((m = bpf_object__next_map(obj, m))) out.emplace_back(m, watch);
  return out;
}

template <class Views>
std::string names_of(const Views& views) {
  std::string out;
  for (const auto& v : views) {
    if (!out.empty()) out += ", ";
    out += detail::format("'{}'", v.name());
  }
  return out.empty() ? "none" : out;
}

template <class = void>
Program find_program(bpf_object* obj, std::string_view name, const LifeWatch& watch) {
  const std::string key(name);
  if (bpf_program* p = bpf_object__find_program_by_name(obj, key.c_str())) return Program(p, watch);
  throw Error(ENOENT,
              detail::format("find program '{}' in object '{}'", name, bpf_object__name(obj)),
              detail::format("the object's programs are: {}", names_of(programs_of(obj))));
}

template <class = void>
MapRef find_map(bpf_object* obj, std::string_view name, const LifeWatch& watch) {
  const std::string key(name);
  if (bpf_map* m = bpf_object__find_map_by_name(obj, key.c_str())) return MapRef(m, watch);
  throw Error(ENOENT, detail::format("find map '{}' in object '{}'", name, bpf_object__name(obj)),
              detail::format("the object's maps are: {}", names_of(maps_of(obj))));
}

/// What a load keeps of its open's options.
struct LoadContext {
  std::string btf_custom_path; // for the hint of a failed CO-RE relocation
  std::string token_path;      // OpenOptions::bpf_token_path
  UniqueFd token;              // the token made from it at open
};

/// What Object and Skeleton<T> share: the one owner of an opened BPF object (a bpf_object, or a
/// skeleton around one), the Life its views watch, and what load() keeps of the open's options.
/// `Close` frees the handle (bpf_object__close, T::destroy). Move-only; empty after a move.
template <class Handle, auto Close>
class OwnedObject {
public:
  OwnedObject() noexcept = default;
  /// Takes ownership of `handle` (freeing it if this throws std::bad_alloc).
  explicit OwnedObject(Handle* handle) : handle_(handle) {
    if (!handle_) return;
    try {
      life_ = Life::start();
    } catch (...) {
      reset();
      throw;
    }
  }
  OwnedObject(OwnedObject&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)), life_(std::move(other.life_)),
        load_(std::move(other.load_)) {}
  OwnedObject& operator=(OwnedObject&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, nullptr);
      life_ = std::move(other.life_);
      load_ = std::move(other.load_);
    }
    return *this;
  }
  ~OwnedObject() { reset(); }

  Handle* get() const noexcept { return handle_; }
  explicit operator bool() const noexcept { return handle_ != nullptr; }
  /// Frees the handle; the views taken from it expire (see Program, MapRef).
  void reset() noexcept {
    life_.end();
    if (handle_) Close(handle_);
    handle_ = nullptr;
    load_ = {};
  }

protected:
  /// Gives up ownership: views taken so far stay the caller's to keep valid.
  Handle* release() noexcept {
    life_.forget();
    return std::exchange(handle_, nullptr);
  }

  Handle* handle_ = nullptr;
  Life life_;
  LoadContext load_; // what load() keeps of the open's options (BTF path, token)
};

/// The LoadContext of an open with `o`: makes the token (detail/token.hpp). Throws Error.
template <class Action>
LoadContext load_context(const OpenOptions& o, const Action& action) {
  LoadContext c;
  c.btf_custom_path = o.btf_custom_path.string();
  if (!o.bpf_token_path.empty()) {
    c.token_path = o.bpf_token_path.string();
    c.token = make_token(o.bpf_token_path, action);
  }
  return c;
}

/// The verifier log libbpf printed for a failed load, and the name of the failing program.
struct LoadFailure {
  std::string program;
  std::string log;
};

// libbpf 1.x prints "prog 'NAME': BPF program load failed: ..." and then, in one message,
// "prog 'NAME': -- BEGIN PROG LOAD LOG --\n<log>-- END PROG LOAD LOG --". It grows its own
// buffer on ENOSPC until the log fits, so the log it prints is whole.
inline LoadFailure parse_load_failure(const std::string& text) {
  LoadFailure out;
  // The failing program: "prog 'NAME': BPF program load failed: ..." (also when the kernel
  // refused before verifying, so there is no log).
  constexpr std::string_view failed_marker = "': BPF program load failed";
  if (const auto failed = text.find(failed_marker); failed != std::string::npos) {
    const auto quote = text.rfind("prog '", failed);
    if (quote != std::string::npos) out.program = text.substr(quote + 6, failed - quote - 6);
  }
  constexpr std::string_view begin_marker = "-- BEGIN PROG LOAD LOG --\n";
  constexpr std::string_view end_marker = "-- END PROG LOAD LOG --";
  if (const auto begin = text.find(begin_marker); begin != std::string::npos) {
    const auto body = begin + begin_marker.size();
    const auto end = text.find(end_marker, body);
    out.log = text.substr(body, end == std::string::npos ? std::string::npos : end - body);
  }
  return out;
}

/// Hands each verifier log of an accepted program (what libbpf printed into `logs` with a kernel
/// log level set: "prog 'NAME': -- BEGIN PROG LOAD LOG --\n<log>-- END PROG LOAD LOG --\n" per
/// program) to the log handler, one message per program.
inline void deliver_verifier_logs(std::string_view object_name, std::string_view logs) {
  constexpr std::string_view begin_marker = "': -- BEGIN PROG LOAD LOG --\n";
  constexpr std::string_view end_marker = "-- END PROG LOAD LOG --";
  while (!logs.empty()) {
    const auto begin = logs.find(begin_marker);
    const auto quote = logs.rfind("prog '", begin);
    if (begin == std::string_view::npos || quote == std::string_view::npos) return;
    const std::string_view program = logs.substr(quote + 6, begin - quote - 6);
    const auto body = begin + begin_marker.size();
    const auto end = std::min(logs.find(end_marker, body), logs.size());
    std::string_view text = logs.substr(body, end - body);
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    log_message(LogLevel::info,
                detail::format("verifier log of program '{}' of BPF object '{}' (loaded):\n{}",
                               program, object_name, text));
    logs.remove_prefix(std::min(end + end_marker.size(), logs.size()));
  }
}

/// The path libbpf names in "<marker>'PATH'..." within `text`, or "".
inline std::string quoted_after(std::string_view text, std::string_view marker) {
  const auto at = text.find(marker);
  if (at == std::string_view::npos) return {};
  const auto from = at + marker.size();
  const auto to = text.find('\'', from);
  return to == std::string_view::npos ? std::string() : std::string(text.substr(from, to - from));
}

/// The map libbpf says it failed to create ("map 'NAME': failed to create"), or "".
inline std::string failed_map(const std::string& text) {
  constexpr std::string_view create_marker = "': failed to create";
  const auto at = text.find(create_marker);
  if (at == std::string::npos) return {};
  const auto quote = text.rfind("map '", at);
  return quote == std::string::npos ? std::string() : text.substr(quote + 5, at - quote - 5);
}

/// The hint for a load refused (EPERM) under a token: the delegation option that lacks what the
/// failing map or program (or libbpf's own first check) needs; "" when the token covers it.
template <class = void> // (as token_refusal_hint)
std::string token_hint(bpf_object* obj, const LoadContext& ctx, const LoadFailure& failure,
                       const std::string& map) {
  int map_type = -1, prog_type = -1, attach_type = -1;
  if (!failure.program.empty()) {
    if (const bpf_program* p = bpf_object__find_program_by_name(obj, failure.program.c_str())) {
      prog_type = static_cast<int>(bpf_program__type(p));
      attach_type = static_cast<int>(bpf_program__expected_attach_type(p));
    }
  } else if (!map.empty()) {
    if (const bpf_map* m = bpf_object__find_map_by_name(obj, map.c_str()))
      map_type = static_cast<int>(bpf_map__type(m));
  }
  return token_refusal_hint(ctx.token.get(), ctx.token_path, map_type, prog_type, attach_type);
}

/// Runs a load step (bpf_object__load, T::load) and turns its failure into an Error that names
/// the failing program and carries its verifier log. `ctx` is what the open kept: the
/// OpenOptions::btf_custom_path, for the hint of a CO-RE relocation that failed, and the BPF
/// token, in scope for libbpf's calls during the load (detail/token.hpp).
template <class LoadFn>
void load_with_log(bpf_object* obj, LoadFn&& load, const LoadContext& ctx) {
  const std::string_view object_name = bpf_object__name(obj);
  const std::string_view btf_custom_path = ctx.btf_custom_path;
  const bool shim = ctx.token && !libbpf_takes_tokens;
  if (shim && !libbpf_reaches_shim(ctx.token.get()))
    throw Error(EOPNOTSUPP,
                detail::format("load BPF object '{}' with the BPF token of '{}': libbpf {}.{} "
                               "makes its bpf() calls itself, and they do not pass ebpfpp's "
                               "token shim in this program",
                               object_name, ctx.token_path, LIBBPF_MAJOR_VERSION,
                               LIBBPF_MINOR_VERSION),
                std::string(hint::token_shim_missing));
  LibbpfLog log;
  std::string accepted_logs;
  const int ret = [&] {
    VerifierLogSink sink(accepted_logs);
    TokenScope scope(shim ? ctx.token.get() : -1);
    return std::forward<LoadFn>(load)();
  }();
  deliver_verifier_logs(object_name, accepted_logs);
  if (ret >= 0) return;
  const int err = -ret;
  std::string text = log.take();
  LoadFailure failure = parse_load_failure(text);
  const std::string map = failed_map(text);
  // Refused under a token: the hint names the delegation option to widen.
  const std::string by_token =
      err == EPERM && ctx.token ? token_hint(obj, ctx, failure, map) : std::string();
  // Refused for a privilege, an object with network programs needs CAP_NET_ADMIN beside CAP_BPF,
  // whichever of its maps or programs the kernel refused first: the hint names both.
  const auto object_op = [&](Op op) {
    if ((err != EPERM && err != EACCES) || op == Op::load_network) return op;
    bpf_program* p = nullptr;
    while ((p = bpf_object__next_program(obj, p)) != nullptr)
      if (load_op_for(bpf_program__type(p)) == Op::load_network) return Op::load_network;
    return op;
  };
  if (failure.program.empty()) {
    // Not a verifier rejection: a map, BTF or relocation problem; libbpf said which. A map that
    // could not be created is named in the action (libbpf: "map 'NAME': failed to create").
    std::string action = detail::format("load BPF object '{}'", object_name);
    Op op = Op::load;
    // btf_custom_path is parsed at load (libbpf: "failed to parse target BTF: -N").
    if (text.find("failed to parse target BTF") != std::string::npos)
      fail(
          err,
          [&] {
            return detail::format("{}: parse BTF file '{}' (OpenOptions::btf_custom_path)", action,
                                  btf_custom_path);
          },
          op, hint::unreadable_btf(btf_custom_path), text);
    // A map pinned under the pin root that differs from the declaration (libbpf: "couldn't reuse
    // pinned map at 'PATH': parameter mismatch").
    if (std::string pin = quoted_after(text, "couldn't reuse pinned map at '"); !pin.empty())
      fail(
          err,
          [&] { return detail::format("{}: reuse the map pinned at '{}'", action, pin); }, op,
          hint::pinned_map_differs, text);
    if (!map.empty()) {
      action = detail::format("create map '{}' of BPF object '{}'", map, object_name);
      const bpf_map* m = bpf_object__find_map_by_name(obj, map.c_str());
      op = m ? map_create_op_for(bpf_map__type(m), err) : Op::map_create;
    }
    // `text` copied, not moved: the checks after this branch cannot see that fail() throws.
    fail(err, [&] { return std::move(action); }, object_op(op), by_token, text);
  }
  std::string action =
      detail::format("load program '{}' of BPF object '{}'", failure.program, object_name);
  // fentry/fexit (and LSM, fmod_ret) need the BPF trampoline, which some kernels refuse even to
  // root: say which feature is missing rather than show a verifier log that has no answer.
  const bpf_program* prog = bpf_object__find_program_by_name(obj, failure.program.c_str());
  // Networking program types need CAP_NET_ADMIN, tracing ones CAP_PERFMON: the hint says which.
  const Op op = object_op(prog ? load_op_for(bpf_program__type(prog)) : Op::load);
  if (prog && bpf_program__type(prog) == BPF_PROG_TYPE_TRACING &&
      !kernel::has(kernel::Feature::fentry))
    throw kernel::missing(kernel::Feature::fentry, std::move(action), std::string(hint::no_fentry),
                          failure.log.empty() ? std::move(text) : std::move(failure.log));
  // A rejection (a log and EACCES or EINVAL) leads with the verifier's reason rather than the
  // errno's text: "Permission denied" alone reads as a privilege problem.
  if (!failure.log.empty() && (err == EACCES || err == EINVAL))
    if (std::string reason = verifier_reason(failure.log); !reason.empty()) {
      // libbpf poisons a CO-RE read whose type or field the target BTF lacks, and rewrites the
      // verifier's complaint about it into "failed to resolve CO-RE relocation [ID] struct
      // task_struct.real_parent (...)": the type and field are in the reason.
      std::string hint = reason.starts_with("failed to resolve CO-RE relocation")
                             ? hint::core_relocation(btf_custom_path)
                             : hint_for(err, op);
      throw VerifierError(err, std::move(action), std::move(reason), std::move(hint),
                          std::move(failure.log));
    }
  fail(
      err, [&] { return std::move(action); }, op, by_token,
      failure.log.empty() ? std::move(text) : std::move(failure.log));
}

} // namespace ebpfpp::detail
