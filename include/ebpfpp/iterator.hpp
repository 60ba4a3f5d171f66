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
///
/// Some targets take a parameter (IterTarget): which map's elements, which process's tasks or
/// files, which cgroup and in what order:
///
///     ebpfpp::Iterator files(skel.program("dump_files"), ebpfpp::IterTarget::process(pid));
///     ebpfpp::Iterator tree(skel.program("dump_cgroup"),
///                           ebpfpp::IterTarget::cgroup("/sys/fs/cgroup/app",
///                                                      ebpfpp::CgroupOrder::descendants_pre));

#include "detail/config.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/types.h>
#include <unistd.h>

#include "detail/format.hpp"
#include "detail/unique_fd.hpp"
#include "error.hpp"
#include "kernel.hpp"
#include "link_base.hpp"
#include "map_data.hpp"
#include "map_ref.hpp"
#include "program.hpp"

namespace ebpfpp {

/// The order a cgroup iterator walks in (enum bpf_cgroup_iter_order, kernel 6.1+).
enum class CgroupOrder : std::uint32_t {
  self_only = BPF_CGROUP_ITER_SELF_ONLY,               ///< the cgroup alone
  descendants_pre = BPF_CGROUP_ITER_DESCENDANTS_PRE,   ///< it and its descendants, parents first
  descendants_post = BPF_CGROUP_ITER_DESCENDANTS_POST, ///< it and its descendants, children first
  ancestors_up = BPF_CGROUP_ITER_ANCESTORS_UP,         ///< it, its parent, ... up to the root
};

/// What an iterator whose target takes a parameter walks: one map's elements
/// (SEC("iter/bpf_map_elem"), 5.9+), one process's or thread's tasks, files or memory areas
/// (SEC("iter/task"), "iter/task_file", "iter/task_vma"; 6.1+, where the kernel learnt to take a
/// pid: older ones would walk every task), a cgroup and its relatives (SEC("iter/cgroup"),
/// 6.1+). Nothing is opened until the Iterator is made.
class IterTarget {
public:
  /// The elements of `map` (a loaded map of an Object or Skeleton).
  static IterTarget map(const MapRef& map) {
    if (map.fd() < 0)
      throw Error(EBADF,
                  detail::format("iterate over the elements of map '{}': it is not loaded",
                                 map.name()),
                  std::string(map ? detail::hint::not_loaded : detail::hint::empty_view));
    return map_fd(map.fd(), detail::format("map '{}'", map.name()));
  }
  /// The elements of the map open at `fd` (a typed view's fd(), your own); `name` for messages.
  static IterTarget map_fd(int fd, std::string name) {
    IterTarget t(std::move(name), kernel::Feature::iterators, detail::hint::no_iterators);
    t.info_.map.map_fd = t.positive(fd, EBADF);
    return t;
  }
  /// The threads of process `pid` (and, for task_file and task_vma, their files or areas).
  static IterTarget process(pid_t pid) { return task("process", &TaskInfo::pid, pid); }
  /// Thread `tid` alone.
  static IterTarget thread(pid_t tid) { return task("thread", &TaskInfo::tid, tid); }
  /// The process a pidfd (pidfd_open(2)) refers to: no pid reuse can redirect it.
  static IterTarget pidfd(int fd) {
    IterTarget t(detail::format("process of pidfd {}", fd), kernel::Feature::task_iter_pid,
                 detail::hint::no_task_iter_pid);
    t.info_.task.pid_fd = t.positive(fd, EBADF);
    return t;
  }
  /// The cgroup v2 directory `dir` (opened when the Iterator is made) walked in `order`.
  static IterTarget cgroup(std::filesystem::path dir, CgroupOrder order) {
    IterTarget t(detail::format("cgroup '{}' ({})", dir.string(), order_name(order)),
                 kernel::Feature::cgroup_iter, detail::hint::no_cgroup_iter);
    t.info_.cgroup.order = static_cast<bpf_cgroup_iter_order>(order);
    t.cgroup_dir_ = std::move(dir);
    return t;
  }
  /// The cgroup open at `fd` (a cgroup v1 or v2 directory) walked in `order`.
  static IterTarget cgroup_fd(int fd, CgroupOrder order) {
    IterTarget t(detail::format("cgroup fd {} ({})", fd, order_name(order)),
                 kernel::Feature::cgroup_iter, detail::hint::no_cgroup_iter);
    t.info_.cgroup.order = static_cast<bpf_cgroup_iter_order>(order);
    t.info_.cgroup.cgroup_fd = t.positive(fd, EBADF);
    return t;
  }
  /// The cgroup v2 cgroup with this id (its directory's inode number) walked in `order`.
  static IterTarget cgroup_id(std::uint64_t id, CgroupOrder order) {
    IterTarget t(detail::format("cgroup id {} ({})", id, order_name(order)),
                 kernel::Feature::cgroup_iter, detail::hint::no_cgroup_iter);
    t.info_.cgroup.order = static_cast<bpf_cgroup_iter_order>(order);
    t.info_.cgroup.cgroup_id = t.positive(id, EINVAL);
    return t;
  }

  /// "process 42", "cgroup '/sys/fs/cgroup/app' (descendants_pre)": for messages.
  const std::string& description() const noexcept { return description_; }

private:
  friend class Iterator;
  IterTarget(std::string description, kernel::Feature feature, std::string_view missing_hint)
      : description_(std::move(description)), feature_(feature), missing_hint_(missing_hint) {}

  // process() and thread(): the same target but for the field of the kernel's task parameter
  // that takes the number.
  using TaskInfo = decltype(bpf_iter_link_info::task);
  static IterTarget task(const char* kind, __u32 TaskInfo::*field, pid_t id) {
    IterTarget t(detail::format("{} {}", kind, id), kernel::Feature::task_iter_pid,
                 detail::hint::no_task_iter_pid);
    t.info_.task.*field = t.positive(id, EINVAL);
    return t;
  }

  // The kernel reads 0 as "no parameter" and would walk everything: a pid, fd or id given here
  // must be above 0.
  template <class T>
  std::make_unsigned_t<T> positive(T value, int err) const {
    using U = std::make_unsigned_t<T>;
    if (value > 0) return static_cast<U>(value);
    throw Error(err, detail::format("make an iterator target of {}", description_),
                detail::format("the kernel reads {} as no {} at all and would walk every object: "
                               "give one above 0, or use Iterator(prog) to walk them all",
                               value, err == EBADF ? "fd" : "pid or id"));
  }

  static const char* order_name(CgroupOrder order) noexcept {
    switch (order) {
    case CgroupOrder::self_only: return "self_only";
    case CgroupOrder::descendants_pre: return "descendants_pre";
    case CgroupOrder::descendants_post: return "descendants_post";
    case CgroupOrder::ancestors_up: return "ancestors_up";
    }
    return "unknown order";
  }

  bpf_iter_link_info info_{};
  std::string description_;
  kernel::Feature feature_;
  std::string_view missing_hint_; // what to do instead where the kernel lacks feature_
  std::optional<std::filesystem::path> cgroup_dir_;
};

/// An attached bpf_iter program; each read walks the kernel's objects and returns what the
/// program wrote (BPF_SEQ_PRINTF, bpf_seq_write). Throws FeatureError below 5.8, Error when
/// the attach or a read fails.
class Iterator : public Link {
public:
  /// An iterator over the kind of objects its SEC() names ("iter/task", "iter/tcp", ...).
  [[nodiscard]] explicit Iterator(const Program& prog) : Link(make(prog, nullptr)) {}
  /// An iterator over the elements of `map` (SEC("iter/bpf_map_elem"), kernel 5.9+).
  [[nodiscard]] Iterator(const Program& prog, const MapRef& map)
      : Iterator(prog, IterTarget::map(map)) {}
  /// An iterator over what `target` names (see IterTarget): throws FeatureError where the
  /// kernel cannot limit the walk so, Error when the cgroup, map or pidfd cannot be used.
  [[nodiscard]] Iterator(const Program& prog, const IterTarget& target)
      : Link(make(prog, &target)) {}

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
  static Link make(const Program& prog, const IterTarget* target) {
    const std::string description =
        target ? detail::format("iterator '{}' over {}", prog.section(), target->description())
               : detail::format("iterator '{}'", prog.section());
    bpf_iter_attach_opts opts;
    detail::init_opts(opts);
    bpf_iter_link_info info{};
    detail::UniqueFd cgroup_dir;
    if (target) {
      info = target->info_;
      const auto action = [&] {
        return detail::format("attach {} (program '{}')", description, prog.name());
      };
      if (target->cgroup_dir_) {
        // Opened here only when the kernel has cgroup iterators: else attach_link's
        // FeatureError says so rather than a failed open.
        if (kernel::has(kernel::Feature::cgroup_iter)) {
          cgroup_dir = detail::UniqueFd(
              ::open(target->cgroup_dir_->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
          if (!cgroup_dir) detail::fail(errno, action, detail::Op::open_cgroup);
          info.cgroup.cgroup_fd = static_cast<__u32>(cgroup_dir.get());
        }
      }
      opts.link_info = &info;
      opts.link_info_len = sizeof(info);
    }
    return detail::attach_link(
        prog, description, [&] { return bpf_program__attach_iter(prog.get(), &opts); },
        {target ? target->feature_ : kernel::Feature::iterators,
         std::string(target ? target->missing_hint_ : detail::hint::no_iterators),
         detail::Op::attach_tracing});
  }
};

} // namespace ebpfpp
