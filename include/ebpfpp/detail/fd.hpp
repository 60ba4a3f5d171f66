#pragma once
// The fd toolkit every owner of a kernel object uses: duplicating an fd, telling what kind of BPF
// object an fd refers to, opening a pinned object of an expected kind, and mmap'ed regions.

#include <array>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../error.hpp"
#include "enum_table.hpp"
#include "format.hpp"
#include "unique_fd.hpp"

namespace ebpfpp::detail {

/// A duplicate of `fd` (close-on-exec, never 0-2), owned by the caller. Throws Error.
inline UniqueFd dup_fd(int fd, std::string_view what) {
  UniqueFd out(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!out) fail(errno, [&] { return detail::format("duplicate the fd of {}", what); });
  return out;
}

/// What a BPF fd refers to, as the kernel names its anonymous inode.
enum class FdKind { map, program, link, btf, other };

inline std::string_view fd_kind_name(FdKind k) noexcept {
  return enum_name(k, {"a map", "a program", "a link", "a BTF object", "not a BPF object"});
}

inline FdKind fd_kind(int fd) {
  std::array<char, 64> target{};
  const auto path = detail::format("/proc/self/fd/{}", fd);
  const ssize_t n = ::readlink(path.c_str(), target.data(), target.size() - 1);
  const std::string_view t(target.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
  if (t == "anon_inode:bpf-map") return FdKind::map;
  if (t == "anon_inode:bpf-prog") return FdKind::program;
  // bpf_link when the link was made, bpf-link when reopened from a pin or by id.
  if (t == "anon_inode:bpf_link" || t == "anon_inode:bpf-link") return FdKind::link;
  if (t == "anon_inode:btf") return FdKind::btf;
  return FdKind::other;
}

/// Opens the object pinned at `path` (BPF_OBJ_GET, kernel 4.4+) and checks that it is a `kind`;
/// throws an Error described by `action` otherwise (naming what is pinned there instead).
template <class Action>
UniqueFd open_pinned(const std::filesystem::path& path, FdKind kind, const Action& action) {
  require_no_nul(path.native(), action);
  LibbpfLog log;
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd) fail(errno, action, Op::open_pinned, &log, path.native());
  if (const FdKind found = fd_kind(fd.get()); found != kind)
    throw Error(EINVAL,
                detail::format("{}: the object pinned there is not {} but {}", action(),
                               fd_kind_name(kind), fd_kind_name(found)),
                std::string(hint::pinned_kind));
  return fd;
}

/// Checks what is pinned at `path` without keeping it open (for libbpf calls that open the
/// path themselves).
template <class Action>
void require_pinned_kind(const std::filesystem::path& path, FdKind kind, const Action& action) {
  (void)open_pinned(path, kind, action);
}

/// An mmap'ed region, unmapped on destruction.
class Mapping {
public:
  Mapping() noexcept = default;
  Mapping(void* addr, std::size_t len) noexcept : addr_(addr), len_(len) {}
  Mapping(Mapping&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), len_(std::exchange(o.len_, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      reset();
      addr_ = std::exchange(o.addr_, nullptr);
      len_ = std::exchange(o.len_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { reset(); }
  void reset() noexcept {
    if (addr_) ::munmap(addr_, len_);
    addr_ = nullptr;
    len_ = 0;
  }
  std::byte* get() const noexcept { return static_cast<std::byte*>(addr_); }
  std::size_t size() const noexcept { return len_; }

private:
  void* addr_ = nullptr;
  std::size_t len_ = 0;
};

/// mmaps `len` bytes of `fd` at `offset`. Throws Error.
inline Mapping map_memory(int fd, std::size_t len, int prot, off_t offset, std::string_view what) {
  void* p = ::mmap(nullptr, len, prot, MAP_SHARED, fd, offset);
  if (p == MAP_FAILED)
    fail(
        errno, [&] { return detail::format("mmap {} ({} bytes at offset {})", what, len, offset); },
        Op::mmap);
  return Mapping(p, len);
}

} // namespace ebpfpp::detail
