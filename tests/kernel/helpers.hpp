#pragma once
// What the kernel tests share: skipping on a probed kernel limit, counting fds, starting
// processes with a known name, a private bpffs mount.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ebpfpp/kernel.hpp>

#include <fmt/format.h>

// Skips the rest of a test case for a kernel limit that a run-time probe found; says why.
#define EBPFPP_SKIP(reason)                                                                        \
  do {                                                                                             \
    const std::string& ebpfpp_skip_reason_ = (reason);                                             \
    MESSAGE("SKIPPED: " << ebpfpp_skip_reason_);                                                   \
    std::fprintf(stderr, "SKIPPED: %s\n", ebpfpp_skip_reason_.c_str());                            \
    test::coverage::skipped(ebpfpp_skip_reason_);                                                  \
    return;                                                                                        \
  } while (0)

namespace test {

// Which features of the kernel's table the current test case is gated on (skip_reason), and
// whether it skipped. At the end of each test case, coverage.cpp's doctest listener prints one
// line per gated feature to stderr, which scripts/vm-suite collects into its coverage table:
//   feature-coverage <feature> ran | skipped <reason> | failed
namespace coverage {
struct Gate {
  std::string feature;
  std::optional<std::string> skipped; // the probe's reason when the feature is absent
};
struct State {
  std::vector<Gate> gates;
  std::optional<std::string> skipped; // EBPFPP_SKIP's reason: the test stopped early
};
inline State& current() {
  static State s;
  return s;
}
inline void gated(std::string_view feature, std::optional<std::string> absent) {
  for (Gate& g : current().gates)
    if (g.feature == feature) {
      if (absent && !g.skipped) g.skipped = std::move(absent);
      return;
    }
  current().gates.push_back({std::string(feature), std::move(absent)});
}
inline void skipped(const std::string& reason) {
  if (!current().skipped) current().skipped = reason;
}
} // namespace coverage

// Features the kernel under test is known to have (EBPFPP_EXPECT_FEATURES="kprobes,fentry", set
// by scripts/vm-suite for Debian's stock kernel): there a missing feature fails the test
// instead of skipping it, so a broken probe cannot hide behind a skip.
inline bool expected(std::string_view feature) {
  const char* env = std::getenv("EBPFPP_EXPECT_FEATURES");
  if (!env) return false;
  std::string_view list = env;
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (list.substr(0, comma) == feature) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Why a test of `feature` may skip on this kernel, or nullopt when it must run (cilium/ebpf's
// rule): the feature is absent AND either the kernel is older than the feature's minimum or its
// configuration (or a policy that refuses even a fully privileged process) explains the absence.
// An absence on a new enough kernel with no explanation is a failure, never a skip; so is any
// absence of a feature named in EBPFPP_EXPECT_FEATURES.
inline std::optional<std::string> skip_reason(ebpfpp::kernel::Feature feature) {
  namespace kernel = ebpfpp::kernel;
  const kernel::FeatureStatus& s = kernel::probe(feature);
  const kernel::FeatureInfo& info = kernel::info(feature);
  coverage::gated(info.name, std::nullopt); // a failed REQUIRE below reports it as failed
  if (s.available) return std::nullopt;
  const auto running = ebpfpp::KernelVersion::running();
  REQUIRE_FALSE_MESSAGE(expected(info.name),
                        "this kernel was expected to have " << info.name << ": " << s.reason);
  std::string why;
  if (running < info.min_kernel) {
    why = fmt::format("{} needs kernel {}+, this is {}", info.name, info.min_kernel.str(),
                      running.str());
  } else {
    REQUIRE_MESSAGE(!s.explained_by.empty(), info.name
                                                 << " is missing on kernel " << running.str()
                                                 << " (minimum " << info.min_kernel.str()
                                                 << ") and nothing explains it: " << s.reason);
    why = fmt::format("{} is missing on this kernel: {}", info.name, s.explained_by);
  }
  coverage::gated(info.name, why);
  return why;
}

// Whether the kernel has `f`, for tests that take another path without it (hello-map's
// tracepoints without BPF cookies); an absence skip_reason() would not excuse fails the test.
inline bool kernel_has(ebpfpp::kernel::Feature f) {
  return !skip_reason(f).has_value();
}
inline constexpr auto bpf_cookie = ebpfpp::kernel::Feature::bpf_cookie;

inline std::filesystem::path bpf_dir() {
  return EBPFPP_TEST_BPF_DIR;
}
inline std::filesystem::path examples_dir() {
  return EBPFPP_TEST_EXAMPLES_DIR;
}

inline std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// The BPF programs, maps and links on the whole system, by id (bpf_*_get_next_id; needs root).
struct BpfIds {
  std::set<std::uint32_t> progs, maps, links;

  static BpfIds now() {
    BpfIds ids;
    const auto walk = [](auto next, std::set<std::uint32_t>& out) {
      for (std::uint32_t id = 0; next(id, &id) == 0;) out.insert(id);
    };
    walk(bpf_prog_get_next_id, ids.progs);
    walk(bpf_map_get_next_id, ids.maps);
    walk(bpf_link_get_next_id, ids.links);
    return ids;
  }
};

// The ids other processes hold: through their fds (/proc/PID/fdinfo: map_id, prog_id, link_id
// and a link's prog_id), and the maps their programs use. Other test suites run beside this one
// on a shared machine: what they hold is not this process's leak.
inline BpfIds held_by_other_processes() {
  BpfIds held;
  const std::string self = std::to_string(::getpid());
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = proc.path().filename().string();
    if (pid == self || !std::all_of(pid.begin(), pid.end(), ::isdigit)) continue;
    std::error_code ec2;
    for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", ec2)) {
      std::error_code ec3;
      const std::string target = std::filesystem::read_symlink(fd.path(), ec3).string();
      if (ec3 || !target.starts_with("anon_inode:bpf")) continue;
      std::ifstream info(proc.path() / "fdinfo" / fd.path().filename());
      for (std::string line; std::getline(info, line);) {
        const auto field = [&](std::string_view key, std::set<std::uint32_t>& out) {
          if (line.starts_with(key)) out.insert(std::stoul(line.substr(key.size())));
        };
        field("map_id:", held.maps);
        field("prog_id:", held.progs);
        field("link_id:", held.links);
      }
    }
  }
  for (std::uint32_t prog : held.progs) {
    const int fd = bpf_prog_get_fd_by_id(prog);
    if (fd < 0) continue;
    std::uint32_t map_ids[64] = {};
    bpf_prog_info info{};
    info.nr_map_ids = 64;
    info.map_ids = reinterpret_cast<std::uintptr_t>(map_ids);
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
      held.maps.insert(map_ids, map_ids + std::min<std::uint32_t>(info.nr_map_ids, 64));
    ::close(fd);
  }
  return held;
}

// The programs, maps and links that appeared since `before` and are still there, less those
// another process holds: what this process leaked. Waits up to `settle` for them to go (the
// kernel frees programs held by a prog array asynchronously, 1-3 s after the last fd).
inline std::string bpf_leaks_since(const BpfIds& before,
                                   std::chrono::milliseconds settle = std::chrono::seconds(3)) {
  const auto deadline = std::chrono::steady_clock::now() + settle;
  for (;;) {
    const BpfIds now = BpfIds::now();
    std::string leaks;
    const auto diff = [&](std::string_view what, const std::set<std::uint32_t>& was,
                          const std::set<std::uint32_t>& is, const std::set<std::uint32_t>* held) {
      for (std::uint32_t id : is)
        if (!was.contains(id) && (!held || !held->contains(id)))
          leaks += fmt::format("{}{} {}", leaks.empty() ? "" : ", ", what, id);
    };
    diff("program", before.progs, now.progs, nullptr);
    diff("map", before.maps, now.maps, nullptr);
    diff("link", before.links, now.links, nullptr);
    if (leaks.empty()) return {};
    const BpfIds held = held_by_other_processes();
    leaks.clear();
    diff("program", before.progs, now.progs, &held.progs);
    diff("map", before.maps, now.maps, &held.maps);
    diff("link", before.links, now.links, &held.links);
    if (leaks.empty() || std::chrono::steady_clock::now() > deadline) return leaks;
    ::usleep(50 * 1000);
  }
}

// This process's fd count and the system's BPF objects, to check that a failure left nothing
// behind: `test::Baseline before; ...; before.check();`.
struct Baseline {
  std::size_t fds = open_fd_count();
  BpfIds ids = BpfIds::now();

  void check(std::chrono::milliseconds settle = std::chrono::seconds(3)) const {
    CHECK(open_fd_count() == fds);
    const std::string leaks = bpf_leaks_since(ids, settle);
    CHECK_MESSAGE(leaks.empty(), "left behind: " << leaks);
  }
};

inline std::filesystem::path self_exe() {
  return std::filesystem::read_symlink("/proc/self/exe");
}

// getppid through syscall(2): the libc wrapper may not enter the kernel every time.
inline void call_getppid(int times) {
  for (int i = 0; i < times; ++i) ::syscall(SYS_getppid);
}

// A child process whose comm is `name` while it runs execv(argv): the name sys_enter_execve sees.
struct Child {
  pid_t pid = -1;
  int out = -1; // its stdout, when captured
  int err = -1; // its stderr, when captured

  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  Child(Child&& o) noexcept : pid(o.pid), out(o.out), err(o.err) { o.pid = o.out = o.err = -1; }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
    if (err >= 0) ::close(err);
  }

  // Exit status (WEXITSTATUS, or 128+signal), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      ::usleep(5000);
    }
  }
};

// Starts argv as a child named `name`; with `capture`, its stdout and stderr are pipes; with a
// `netns_fd`, it runs in that network namespace (setns before exec; exit 126 when that fails).
inline Child spawn(const std::string& name, const std::vector<std::string>& argv,
                   bool capture = false, int netns_fd = -1) {
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (capture) {
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
  }
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_NAME, name.c_str());
    if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) ::_exit(126);
    if (capture) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
    }
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  Child c;
  c.pid = pid;
  if (capture) {
    ::close(out[1]);
    ::close(err[1]);
    c.out = out[0];
    c.err = err[0];
  }
  return c;
}

// Runs `attempt` in a child process that dropped to uid/gid 65534 with no capabilities (the
// parent's BPF objects and fds are still open in it) and checks that it throws an ebpfpp::Error
// with EPERM or EACCES whose hint names `capability`, and that the child's open fds are back to
// their count before the attempt. Returns "" when all holds, else what went wrong.
template <class Attempt>
std::string refused_unprivileged(Attempt&& attempt, std::string_view capability = "CAP_NET_ADMIN") {
  int pipefd[2];
  REQUIRE(::pipe2(pipefd, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(pipefd[0]);
    std::string verdict;
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
        ::setresuid(65534, 65534, 65534) != 0) {
      verdict = "could not drop to uid 65534";
    } else {
      const std::size_t fds = open_fd_count();
      try {
        attempt();
        verdict = "no Error: the kernel allowed it without privileges";
      } catch (const ebpfpp::Error& e) {
        if (e.errnum() != EPERM && e.errnum() != EACCES)
          verdict = fmt::format("errno {} instead of EPERM: {}", e.errnum(), e.what());
        else if (e.hint().find(capability) == std::string::npos)
          verdict = fmt::format("the hint does not name {}: {}", capability, e.hint());
      } catch (const std::exception& e) {
        verdict = fmt::format("not an ebpfpp::Error: {}", e.what());
      }
      if (verdict.empty() && open_fd_count() != fds)
        verdict = fmt::format("fds leaked: {} before, {} after", fds, open_fd_count());
    }
    [[maybe_unused]] auto w = ::write(pipefd[1], verdict.data(), verdict.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string verdict;
  char buf[512];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;)
    verdict.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "the child did not exit normally";
  return verdict;
}

// Reads from `fd` until `done(text)` or the timeout; returns what was read.
template <class Done>
std::string read_until(int fd, Done&& done, std::chrono::milliseconds timeout) {
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (!done(text)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

// What the ebpfpp::Error `fn` throws says, or "(no Error thrown)".
inline std::string what_of(auto&& fn) {
  try {
    fn();
  } catch (const ebpfpp::Error& e) {
    return e.what();
  }
  return "(no Error thrown)";
}

// Runs argv to its end (at most `timeout`); its exit status and what it wrote to stdout.
struct RunResult {
  int status = -1;
  std::string out;
};
inline RunResult run_capture(const std::vector<std::string>& argv,
                             std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  Child c = spawn(std::filesystem::path(argv.at(0)).filename().string(), argv, true);
  RunResult r;
  r.out = read_until(
      c.out, [](const std::string&) { return false; }, timeout);
  r.status = c.wait(timeout).value_or(-1);
  return r;
}

// An eventfd the test owns (a stand-in for a signalfd or any other stop fd).
struct UniqueEventFd {
  int fd = ::eventfd(0, EFD_CLOEXEC);
  UniqueEventFd() { REQUIRE(fd >= 0); }
  UniqueEventFd(const UniqueEventFd&) = delete;
  UniqueEventFd& operator=(const UniqueEventFd&) = delete;
  ~UniqueEventFd() { ::close(fd); }
};

// A bpffs of the test's own in a fresh directory: pin tests do not depend on /sys/fs/bpf.
struct BpffsMount {
  std::filesystem::path dir;
  BpffsMount() {
    char tmpl[] = "/tmp/ebpfpp-bpffs-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    REQUIRE_MESSAGE(::mount("bpf", tmpl, "bpf", 0, nullptr) == 0,
                    "mount bpffs: " << std::strerror(errno));
  }
  // What is pinned in it, by name, less the iterators a new bpffs shows (maps.debug and
  // progs.debug, from the kernel's bpf_preload).
  std::string pins() const {
    std::string out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name != "maps.debug" && name != "progs.debug") out += (out.empty() ? "" : " ") + name;
    }
    return out;
  }
  ~BpffsMount() {
    ::umount2(dir.c_str(), MNT_DETACH);
    std::filesystem::remove(dir);
  }
};

} // namespace test
