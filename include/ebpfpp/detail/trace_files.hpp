#pragma once
// What TracePipe (trace_pipe.hpp) does with tracefs's files: the number and token scanning its
// line parser uses, and its private tracefs instances (instances/ebpfpp-<pid>-<n>): making one
// with the bpf_trace_printk event enabled, removing it, and removing those of dead processes.

#include "config.hpp"

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <utility>

#include "format.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

inline void skip_spaces(std::string_view& s) noexcept {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
}

// The decimal number at the start of `s`, taken off it. (std::uint64_t, not long long: the
// library's other headers already instantiate std::optional<std::uint64_t>.)
inline std::optional<std::uint64_t> take_number(std::string_view& s) noexcept {
  std::uint64_t v = 0;
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9')
    v = v * 10 + static_cast<std::uint64_t>(s[i++] - '0');
  if (i == 0) return std::nullopt;
  s.remove_prefix(i);
  return v;
}

inline std::string_view take_token(std::string_view& s) noexcept {
  std::size_t i = 0;
  while (i < s.size() && s[i] != ' ') ++i;
  std::string_view t = s.substr(0, i);
  s.remove_prefix(i);
  return t;
}

// "5678.123456:" -> ns; nullopt when the token is not a timestamp.
inline std::optional<std::chrono::nanoseconds> parse_timestamp(std::string_view t) noexcept {
  if (!t.ends_with(':')) return std::nullopt;
  t.remove_suffix(1);
  const auto dot = t.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view sec = t.substr(0, dot), frac = t.substr(dot + 1);
  auto s = take_number(sec);
  if (!s || !sec.empty() || frac.empty() || frac.size() > 9) return std::nullopt;
  long long ns = 0;
  for (std::size_t i = 0; i < 9; ++i) {
    if (i < frac.size()) {
      if (frac[i] < '0' || frac[i] > '9') return std::nullopt;
      ns = ns * 10 + (frac[i] - '0');
    } else {
      ns *= 10;
    }
  }
  return std::chrono::seconds(*s) + std::chrono::nanoseconds(ns);
}

/// Prefix of the tracefs instances TracePipe creates: "ebpfpp-<pid>-<n>".
inline constexpr std::string_view trace_instance_prefix = "ebpfpp-";

/// The pid in an instance name "ebpfpp-<pid>-<n>"; nullopt for any other name.
inline std::optional<pid_t> trace_instance_owner(std::string_view name) noexcept {
  if (!name.starts_with(trace_instance_prefix)) return std::nullopt;
  name.remove_prefix(trace_instance_prefix.size());
  auto pid = take_number(name);
  if (!pid || *pid == 0 || !name.starts_with('-')) return std::nullopt;
  name.remove_prefix(1);
  if (!take_number(name) || !name.empty()) return std::nullopt;
  return static_cast<pid_t>(*pid);
}

/// Writes `value` to a tracefs control file; false (errno set) on failure.
inline bool write_trace_file(const std::filesystem::path& file, std::string_view value) noexcept {
  const UniqueFd fd(::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return false;
  return ::write(fd.get(), value.data(), value.size()) == static_cast<ssize_t>(value.size());
}

/// Removes instances "ebpfpp-<pid>-<n>" whose process is gone (killed before its destructor
/// ran). An instance someone still reads cannot be removed (the kernel answers EBUSY), so a live
/// reader in another pid namespace, whose pid looks dead from here, keeps its instance. A dead
/// pid that has been reused keeps its instance until that process is gone too.
inline void remove_stale_trace_instances(const std::filesystem::path& instances) noexcept {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(instances, ec), end; !ec && it != end;
       it.increment(ec)) {
    const auto owner = trace_instance_owner(it->path().filename().native());
    if (!owner || *owner == ::getpid()) continue;
    if (::kill(*owner, 0) == 0 || errno != ESRCH) continue; // alive (EPERM: alive, not ours)
    ::rmdir(it->path().c_str()); // also disables its events; ENOENT: another process was first
  }
}

/// A tracefs instance this process made; removes it (rmdir) on destruction. The kernel refuses
/// the rmdir while the instance's trace_pipe is open: close it first.
class TraceInstance {
public:
  TraceInstance() noexcept = default;
  explicit TraceInstance(std::filesystem::path dir) noexcept : dir_(std::move(dir)) {}
  TraceInstance(TraceInstance&& other) noexcept : dir_(std::exchange(other.dir_, {})) {}
  TraceInstance& operator=(TraceInstance&& other) noexcept {
    if (this != &other) {
      remove();
      dir_ = std::exchange(other.dir_, {});
    }
    return *this;
  }
  ~TraceInstance() { remove(); }

  const std::filesystem::path& dir() const noexcept { return dir_; }
  explicit operator bool() const noexcept { return !dir_.empty(); }

  // rmdir disables the instance's events itself; it fails (EBUSY) while a reader has the
  // instance's trace_pipe open.
  void remove() noexcept {
    if (dir_.empty()) return;
    ::rmdir(dir_.c_str());
    dir_.clear();
  }

private:
  std::filesystem::path dir_;
};

/// A trace_pipe to open, and the private instance it belongs to (empty for the top level).
struct OpenedTrace {
  TraceInstance instance;
  std::filesystem::path path;
};

/// Makes a private instance under `tracefs` with the bpf_trace_printk event enabled, after
/// removing stale ones; the top-level pipe when `top_level` is asked for or instances are
/// unavailable (no instances directory, mkdir refused, no such event before 5.9).
inline OpenedTrace open_trace_instance(const std::filesystem::path& tracefs, bool top_level) {
  if (top_level) return {{}, tracefs / "trace_pipe"};
  const auto instances = tracefs / "instances";
  std::error_code ec;
  if (!std::filesystem::is_directory(instances, ec)) return {{}, tracefs / "trace_pipe"};
  remove_stale_trace_instances(instances);
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto dir = instances / format("{}{}-{}", trace_instance_prefix, ::getpid(),
                                  counter.fetch_add(1, std::memory_order_relaxed));
    if (::mkdir(dir.c_str(), 0700) != 0) {
      if (errno == EEXIST) continue; // left by an earlier process with this pid
      break;                         // no instances here (EACCES, ENOMEM, ...): top level
    }
    TraceInstance instance(dir);
    // No such event before 5.9: bpf_printk wrote to the top-level buffer only.
    if (!write_trace_file(dir / "events/bpf_trace/bpf_trace_printk/enable", "1")) break;
    return {std::move(instance), dir / "trace_pipe"};
  }
  return {{}, tracefs / "trace_pipe"};
}

} // namespace ebpfpp::detail
