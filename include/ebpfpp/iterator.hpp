#pragma once
/// @file
/// Iterator: a bpf_iter program (SEC("iter/task"), "iter/bpf_map_elem", "iter/tcp", ...) whose
/// output is read like a file: the kernel runs the program once per object (task, map element,
/// socket) while user space reads.
///
///     // SEC("iter/task") int dump(struct bpf_iter__task *ctx) {
///     //   if (ctx->task) BPF_SEQ_PRINTF(ctx->meta->seq, "%d %s\n", ctx->task->pid, ...); }
///     ebpfpp::Iterator tasks(skel.program("dump"));
///     for (const std::string& line : tasks.lines()) ...
///     // or bpf_seq_write() fixed-size structs and read them with tasks.records<Record>()
///
/// Each read (open(), read(), lines(), records()) walks the objects anew. Kernel 5.8+ (task,
/// task_file, bpf_map: 5.8; map elements 5.9; tcp/udp 5.9; task_vma 5.12).

#include "detail/config.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include "detail/format.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link.hpp"
#include "map_data.hpp"
#include "map_ref.hpp"
#include "program.hpp"

namespace ebpfpp {

/// An attached bpf_iter program; each read walks the kernel's objects and returns what the
/// program wrote (BPF_SEQ_PRINTF, bpf_seq_write). Throws FeatureError below 5.8, Error when
/// the attach or a read fails.
class Iterator : public Link {
public:
  /// An iterator over the kind of objects its SEC() names ("iter/task", "iter/tcp", ...).
  [[nodiscard]] explicit Iterator(const Program& prog) : Link(make(prog, nullptr, {})) {}
  /// An iterator over the elements of `map` (SEC("iter/bpf_map_elem"), kernel 5.9+).
  [[nodiscard]] Iterator(const Program& prog, const MapRef& map)
      : Link(make(prog, &map, map.name())) {}

  /// A new walk: an fd that reads the program's output until end of file.
  detail::UniqueFd open() const {
    const auto action = [&] { return detail::format("start a walk of {}", description()); };
    if (!*this) throw Error(EBADF, action(), std::string(detail::hint::empty_view));
    detail::UniqueFd fd(bpf_iter_create(this->fd()));
    if (!fd) detail::fail(errno, action, detail::Op::attach_tracing);
    return fd;
  }

  /// The whole output of one walk.
  std::string read() const {
    detail::UniqueFd fd = open();
    std::string out;
    char buf[16384];
    for (;;) {
      const ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        // EAGAIN: a program that wrote more than a page in one run; others: see dmesg.
        detail::fail(errno, [&] { return detail::format("read {}", description()); });
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

  /// One walk's output split into lines (without the '\n').
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    const std::string text = read();
    std::string_view rest = text;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      out.emplace_back(rest.substr(0, nl));
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
    return out;
  }

  /// One walk's output as fixed-size records, written with bpf_seq_write(seq, &rec, sizeof rec).
  /// Throws Error when the output is not a whole number of records.
  template <MapData T>
  std::vector<T> records() const {
    const std::string text = read();
    if (text.size() % sizeof(T) != 0)
      throw Error(EINVAL,
                  detail::format("read {} as records of {} bytes: {} bytes is not a whole number",
                                 description(), sizeof(T), text.size()),
                  std::string(detail::hint::share_struct));
    std::vector<T> out(text.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), text.data(), text.size());
    return out;
  }

private:
  static Link make(const Program& prog, const MapRef* map, std::string_view map_name) {
    auto opts = detail::make_opts<bpf_iter_attach_opts>();
    bpf_iter_link_info info{};
    if (map) {
      info.map.map_fd = static_cast<__u32>(map->fd());
      opts.link_info = &info;
      opts.link_info_len = sizeof(info);
    }
    return detail::attach_link(
        prog,
        map ? detail::format("iterator '{}' over map '{}'", prog.section(), map_name)
            : detail::format("iterator '{}'", prog.section()),
        [&] { return bpf_program__attach_iter(prog.get(), &opts); },
        {kernel::Feature::iterators, std::string(detail::hint::no_iterators),
         detail::Op::attach_tracing});
  }
};

} // namespace ebpfpp
