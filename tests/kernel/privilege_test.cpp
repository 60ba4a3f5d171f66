// The suite without root's privileges: three identities, each in a forked child, as users run
// tools. (1) uid 65534 with no capabilities; (2) uid 65534 with exactly CAP_BPF + CAP_PERFMON
// (the setcap'ed tool); (3) uid 0 with every capability dropped (a container's root). Each child
// tries what users try and reports one line per case through a pipe: "case|ok|detail" or
// "case|err|<errno>|<type>|<hint>"; the parent asserts what works and the exact hint for what
// does not.
#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "hello.skel.h"
#include "helpers.hpp"
#include "profile.skel.h"
#include "test_fixtures.skel.h"
#include "test_maps.skel.h"

namespace {

constexpr std::uint64_t cap_bit(int cap) {
  return std::uint64_t{1} << cap;
}
constexpr int cap_perfmon = 38, cap_bpf = 39;

// Makes the calling (child) process `uid` with exactly `caps` effective and permitted, nothing
// inheritable or ambient. Keeps the permitted set across setresuid (PR_SET_KEEPCAPS), then sets
// the sets with capset(2) directly (no libcap).
bool become(uid_t uid, std::uint64_t caps) {
  if (uid != 0) {
    if (::prctl(PR_SET_KEEPCAPS, 1) != 0 || ::setgroups(0, nullptr) != 0 ||
        ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0)
      return false;
    ::prctl(PR_SET_KEEPCAPS, 0);
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  data[0].effective = data[0].permitted = static_cast<std::uint32_t>(caps);
  data[1].effective = data[1].permitted = static_cast<std::uint32_t>(caps >> 32);
  if (::syscall(SYS_capset, &header, data) != 0) return false;
  // Check what the kernel now says.
  __user_cap_data_struct now[2]{};
  if (::syscall(SYS_capget, &header, now) != 0) return false;
  const std::uint64_t effective = now[0].effective | std::uint64_t{now[1].effective} << 32;
  return effective == caps && ::geteuid() == uid;
}

// One case's outcome as the child reported it.
struct Outcome {
  bool ok = false;
  std::string detail; // ok: what the case measured
  int errnum = 0;
  std::string type; // "Error", "FeatureError", or the other exception's what()
  std::string hint;
  std::string what;
};

// What a child writes: one line per case. Newlines inside texts become spaces.
class Reporter {
public:
  explicit Reporter(int fd) : fd_(fd) {}

  // Runs `fn` (returning a detail string) and reports its outcome.
  void run(const std::string& name, const std::function<std::string()>& fn) {
    try {
      write(name + "|ok|" + flat(fn()));
    } catch (const ebpfpp::FeatureError& e) {
      write(fmt::format("{}|err|{}|FeatureError|{}|{}", name, e.errnum(), flat(e.hint()),
                        flat(e.what())));
    } catch (const ebpfpp::Error& e) {
      write(fmt::format("{}|err|{}|Error|{}|{}", name, e.errnum(), flat(e.hint()), flat(e.what())));
    } catch (const std::exception& e) {
      write(fmt::format("{}|err|0|{}||", name, flat(e.what())));
    }
  }

private:
  static std::string flat(std::string s) {
    for (char& c : s)
      if (c == '\n' || c == '|') c = ' ';
    return s;
  }
  void write(std::string line) const {
    line += '\n';
    (void)!::write(fd_, line.data(), line.size());
  }
  int fd_;
};

// Runs `body` in a child that became `uid` with `caps`; returns the outcomes by case name.
std::map<std::string, Outcome> run_as(uid_t uid, std::uint64_t caps,
                                      const std::function<void(Reporter&)>& body) {
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    Reporter r(pipe_fds[1]);
    r.run("become", [&] {
      if (!become(uid, caps)) throw std::runtime_error("could not change identity");
      return std::string();
    });
    body(r);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  const std::string text = test::read_until(
      pipe_fds[0], [](const std::string&) { return false; }, std::chrono::seconds(20));
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  std::map<std::string, Outcome> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = text.find('\n', pos);
    const std::string line = text.substr(pos, end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    std::vector<std::string> f;
    for (std::size_t p = 0;;) {
      const auto bar = line.find('|', p);
      f.push_back(line.substr(p, bar - p));
      if (bar == std::string::npos) break;
      p = bar + 1;
    }
    Outcome o;
    o.ok = f.size() >= 2 && f[1] == "ok";
    if (o.ok) o.detail = f.size() > 2 ? f[2] : "";
    if (!o.ok && f.size() >= 6) {
      o.errnum = std::stoi(f[2]);
      o.type = f[3];
      o.hint = f[4];
      o.what = f[5];
    }
    out[f[0]] = o;
  }
  REQUIRE_MESSAGE(out.contains("become"), "the child reported nothing:\n" << text);
  REQUIRE_MESSAGE(out["become"].ok,
                  "the child could not become uid " << uid << ": " << out["become"].type);
  return out;
}

// Checks that `name` worked (and returns its detail).
std::string worked(std::map<std::string, Outcome>& r, const std::string& name) {
  INFO("case: " << name);
  REQUIRE(r.contains(name));
  const Outcome& o = r[name];
  CHECK_MESSAGE(o.ok, "failed: " << o.what);
  return o.detail;
}

// Checks that `name` failed with an ebpfpp::Error of `errnum` whose hint is exactly `hint`.
void failed(std::map<std::string, Outcome>& r, const std::string& name, int errnum,
            const std::string& hint) {
  INFO("case: " << name);
  REQUIRE(r.contains(name));
  const Outcome& o = r[name];
  REQUIRE_MESSAGE(!o.ok, "it worked");
  INFO("what(): " << o.what);
  CHECK(o.type == "Error"); // not a FeatureError: the kernel has it, the process may not use it
  CHECK(o.errnum == errnum);
  CHECK(o.hint == hint);
  CHECK(o.hint.find("no capability is missing") == std::string::npos);
}

int unprivileged_bpf_disabled() {
  std::ifstream in("/proc/sys/kernel/unprivileged_bpf_disabled");
  int v = -1;
  in >> v;
  return v;
}

const std::string lacks_bpf_perfmon =
    "this process lacks CAP_BPF + CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8): run it as "
    "root, or grant them, e.g. setcap cap_bpf,cap_perfmon+ep <binary>";
const std::string tracefs_hint =
    "tracefs (/sys/kernel/tracing) is not readable by this process (it is usually mode 0700, "
    "owned by root), and this attach reads it: run as root, add CAP_DAC_READ_SEARCH or "
    "CAP_DAC_OVERRIDE (setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep <binary>), or make "
    "tracefs readable (mount -o remount,mode=755 /sys/kernel/tracing)";

// Whether tracefs is closed to other users here (mode 0700, the default): the tracefs cases
// depend on it.
bool tracefs_private() {
  struct stat st {};
  return ::stat("/sys/kernel/tracing", &st) == 0 && (st.st_mode & 0005) == 0;
}

// A map and a loaded tracepoint program made by the (root) parent before the fork: the child
// inherits their fds, as a tool that dropped privileges after loading does.
struct Inherited {
  ebpfpp::Map<std::uint32_t, std::uint64_t> map =
      ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 4, "inherited");
  ebpfpp::Skeleton<test_fixtures_bpf> fixtures =
      ebpfpp::Skeleton<test_fixtures_bpf>::open_and_load();
  Inherited() { map.update(1, 11); }
};

} // namespace

TEST_CASE("as uid 65534 with no capabilities: loads fail naming CAP_BPF + CAP_PERFMON") {
  const test::Baseline before;
  {
    Inherited parent;
    test::BpffsMount fs;
    auto r = run_as(65534, 0, [&](Reporter& rep) {
      rep.run("open object", [] {
        auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_fixtures.bpf.o");
        return std::string(obj.name());
      });
      rep.run("load hello", [] {
        auto skel = ebpfpp::Skeleton<hello_bpf>::open_and_load();
        return std::string();
      });
      rep.run("create map", [] {
        auto m = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 4, "mine");
        return std::string();
      });
      rep.run("read inherited map", [&] { return std::to_string(parent.map.lookup(1).value()); });
      rep.run("pin and unpin inherited map", [&] {
        parent.map.pin(fs.dir / "pinned");
        const bool there = std::filesystem::exists(fs.dir / "pinned");
        parent.map.unpin();
        return std::string(there ? "pinned" : "not there");
      });
      rep.run("attach tracepoint", [&] {
        ebpfpp::Tracepoint tp(parent.fixtures.program("count_tracepoint"), "syscalls",
                              "sys_enter_getppid");
        return std::string();
      });
    });
    CHECK(worked(r, "open object") == "test_fixtures"); // parsing needs no privilege
    failed(r, "load hello", EPERM, lacks_bpf_perfmon);
    if (unprivileged_bpf_disabled() != 0)
      failed(r, "create map", EPERM,
             "this process lacks CAP_BPF (CAP_SYS_ADMIN on kernels before 5.8): run it as root, "
             "or grant them, e.g. setcap cap_bpf,cap_perfmon+ep <binary>");
    // An fd is a capability of its own: a map handed over (or kept after dropping privileges)
    // stays readable, and can be pinned on a bpffs the process may write to.
    CHECK(worked(r, "read inherited map") == "11");
    CHECK(worked(r, "pin and unpin inherited map") == "pinned");
    if (tracefs_private())
      failed(r, "attach tracepoint", EACCES,
             tracefs_hint + "; this process also lacks CAP_BPF + CAP_PERFMON");
    CHECK(fs.pins() == "");
  }
  before.check();
}

TEST_CASE("as uid 65534 with CAP_BPF + CAP_PERFMON: loads, maps, raw tracepoints and perf "
          "events work; tracefs, uprobes and networking say what is missing") {
  const test::Baseline before;
  {
    test::BpffsMount fs;
    const std::filesystem::path exe = test::self_exe();
    auto r = run_as(65534, cap_bit(cap_bpf) | cap_bit(cap_perfmon), [&](Reporter& rep) {
      rep.run("load hello", [] {
        auto skel = ebpfpp::Skeleton<hello_bpf>::open_and_load();
        return std::string();
      });
      rep.run("create, write and read a map", [] {
        auto m = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 4, "mine");
        m.update(7, 70);
        return std::to_string(m.lookup(7).value()) + "," + std::to_string(m.items().size());
      });
      auto fixtures = ebpfpp::Skeleton<test_fixtures_bpf>::open();
      fixtures->rodata->target_tgid = ::getpid();
      fixtures->rodata->getppid_nr = SYS_getppid;
      rep.run("load fixtures", [&] {
        fixtures.load();
        return std::string();
      });
      rep.run("raw tracepoint fires", [&] {
        ebpfpp::RawTracepoint raw(fixtures.program("count_raw_tracepoint"), "sys_enter");
        test::call_getppid(5);
        return std::to_string(fixtures->bss->raw_tracepoint_hits);
      });
      rep.run("perf event", [] {
        auto skel = ebpfpp::Skeleton<profile_bpf>::open_and_load();
        ebpfpp::PerfEvent ev(skel.program("profile_sample"), ebpfpp::PerfEventConfig::cpu_clock(),
                             ebpfpp::Sampling::frequency(99));
        return std::string();
      });
      rep.run("pin and unpin", [&] {
        auto m = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 1, "pinme");
        m.pin(fs.dir / "pinned");
        auto again = ebpfpp::Map<std::uint32_t, std::uint64_t>::open_pinned(fs.dir / "pinned");
        m.unpin();
        return std::to_string(again.max_entries());
      });
      rep.run("pin outside bpffs", [&] {
        auto m = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 1, "pinme");
        m.pin("/tmp/ebpfpp-privilege-pin");
        return std::string();
      });
      rep.run("attach tracepoint", [&] {
        ebpfpp::Tracepoint tp(fixtures.program("count_tracepoint"), "syscalls",
                              "sys_enter_getppid");
        return std::string();
      });
      rep.run("attach uprobe", [&] {
        ebpfpp::Uprobe up(fixtures.program("count_uprobe"), exe, "main", 0);
        return std::string();
      });
      rep.run("load XDP program", [] {
        auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "xdp_count.bpf.o");
        obj.load();
        return std::string();
      });
      rep.run("load devmap", [] {
        auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "test_network.bpf.o");
        obj.load();
        return std::string();
      });
      // The BTF type check without CAP_SYS_ADMIN: the Skeleton's own BTF (the fd libbpf keeps)
      // still catches a signed key on an unsigned map.
      auto maps = ebpfpp::Skeleton<test_maps_bpf>::open_and_load();
      rep.run("typed map of the wrong signedness", [&] {
        ebpfpp::Map<std::int32_t, std::uint64_t> m(maps, "hash_u32_u64");
        return std::string();
      });
      rep.run("typed map of the right types", [&] {
        ebpfpp::Map<std::uint32_t, std::uint64_t> m(maps->maps.hash_u32_u64);
        return std::string();
      });
      // A map whose BTF this process does not hold (its object is gone): sizes only, and one
      // message through the log handler saying so, however many views are made.
      rep.run("BTF out of reach is said once", [&] {
        const int fd = ::fcntl(maps.map("hash_u32_u64").fd(), F_DUPFD_CLOEXEC, 3);
        maps.reset();
        std::vector<std::string> said;
        ebpfpp::set_log_handler([&](ebpfpp::LogLevel, std::string_view text) {
          if (text.find("BTF type check") != std::string_view::npos) said.emplace_back(text);
        });
        for (int i = 0; i < 3; ++i)
          (void)ebpfpp::Map<std::int32_t, std::uint64_t>::from_fd(fd, "orphan");
        ebpfpp::set_log_handler({});
        ::close(fd);
        return fmt::format("{}: {}", said.size(), said.empty() ? "" : said.front());
      });
    });
    CHECK(worked(r, "load hello").empty());
    CHECK(worked(r, "create, write and read a map") == "70,1");
    worked(r, "load fixtures");
    CHECK(worked(r, "raw tracepoint fires") == "5");
    worked(r, "perf event");
    CHECK(worked(r, "pin and unpin") == "1");
    failed(r, "pin outside bpffs", EPERM,
           "'/tmp/ebpfpp-privilege-pin' is not on a bpffs mount: pins live on one (mount -t bpf "
           "bpf /sys/fs/bpf), and its directory must exist");
    if (tracefs_private()) failed(r, "attach tracepoint", EACCES, tracefs_hint);
    failed(r, "attach uprobe", EACCES,
           "CAP_BPF + CAP_PERFMON are not enough for a uprobe here: the kernel refused its perf "
           "event to a process without CAP_SYS_ADMIN; add CAP_SYS_ADMIN or run as root");
    const std::string net_admin =
        "this process lacks CAP_NET_ADMIN (CAP_SYS_ADMIN on kernels before 5.8): run it as root, "
        "or grant them, e.g. setcap cap_bpf,cap_net_admin+ep <binary>";
    failed(r, "load XDP program", EPERM, net_admin);
    CHECK(r["load XDP program"].what.find("load program 'xdp_count' of BPF object 'xdp_count'") !=
          std::string::npos);
    failed(r, "load devmap", EPERM, net_admin);
    CHECK(r["load devmap"].what.find("create map 'tx_ports' of BPF object 'test_network'") !=
          std::string::npos);
    failed(r, "typed map of the wrong signedness", EINVAL,
           "use a C++ type that matches the BPF declaration, or pass TypeCheck::size_only if the "
           "reinterpretation is intended");
    CHECK(r["typed map of the wrong signedness"].what.find(
              "key: BTF says '__u32 = unsigned int', an unsigned 32-bit integer, but the C++ type "
              "'int' is a signed integer") != std::string::npos);
    worked(r, "typed map of the right types");
    const std::string said = worked(r, "BTF out of reach is said once");
    CHECK(said.starts_with("1: the BTF type check of map 'orphan'"));
    CHECK(said.find("needs CAP_SYS_ADMIN") != std::string::npos);
    CHECK(fs.pins() == "");
  }
  before.check();
}

TEST_CASE("as root with every capability dropped: hints name the capabilities, never 'no "
          "capability is missing'") {
  const test::Baseline before;
  {
    Inherited parent;
    test::BpffsMount fs;
    auto r = run_as(0, 0, [&](Reporter& rep) {
      rep.run("load hello", [] {
        auto skel = ebpfpp::Skeleton<hello_bpf>::open_and_load();
        return std::string();
      });
      rep.run("load XDP program", [] {
        auto obj = ebpfpp::Object::open_file(test::bpf_dir() / "xdp_count.bpf.o");
        obj.load();
        return std::string();
      });
      rep.run("attach inherited tracepoint program", [&] {
        ebpfpp::Tracepoint tp(parent.fixtures.program("count_tracepoint"), "syscalls",
                              "sys_enter_getppid");
        return std::string();
      });
      rep.run("pin and unpin inherited map", [&] {
        parent.map.pin(fs.dir / "pinned");
        const bool there = std::filesystem::exists(fs.dir / "pinned");
        parent.map.unpin();
        return std::string(there ? "pinned" : "not there");
      });
      rep.run("read inherited map", [&] { return std::to_string(parent.map.lookup(1).value()); });
    });
    failed(r, "load hello", EPERM, lacks_bpf_perfmon);
    // libbpf creates the object's maps first: CAP_BPF is what is missing first.
    CHECK(r["load XDP program"].hint.find("this process lacks CAP_BPF") != std::string::npos);
    CHECK(r["load XDP program"].hint.find("no capability is missing") == std::string::npos);
    // Root owns tracefs, so the perf event is what is refused, for want of CAP_PERFMON.
    failed(r, "attach inherited tracepoint program", EACCES,
           "this process lacks CAP_BPF + CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8): run "
           "it as root, or grant them, e.g. setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep "
           "<binary>");
    CHECK(worked(r, "read inherited map") == "11");
    CHECK(worked(r, "pin and unpin inherited map") == "pinned");
    CHECK(fs.pins() == "");
  }
  before.check();
}
