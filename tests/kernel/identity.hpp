#pragma once
// Running test cases as another identity: a forked child becomes a uid with exactly the
// capabilities asked for (raw capset/setresuid, no libcap), runs the cases and reports one line
// per case through a pipe: "case|ok|detail" or "case|err|<errno>|<type>|<hint>|<what>"; the
// parent asserts what works and the exact hint for what does not.
//
// The child cannot count on reading the build tree: a clone in a 0700 directory (a Debian home,
// mktemp -d) is closed to uid 65534. What a case needs from it (a .bpf.o) the parent reads
// before the fork; see read_object().
#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "helpers.hpp"

namespace test {

inline constexpr std::uint64_t cap_bit(int cap) {
  return std::uint64_t{1} << cap;
}
inline constexpr int cap_perfmon = 38, cap_bpf = 39;

// Makes the calling (child) process `uid` with exactly `caps` effective and permitted, nothing
// inheritable or ambient. Keeps the permitted set across setresuid (PR_SET_KEEPCAPS), then sets
// the sets with capset(2) directly (no libcap).
inline bool become(uid_t uid, std::uint64_t caps) {
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
inline std::map<std::string, Outcome> run_as(uid_t uid, std::uint64_t caps,
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
inline std::string worked(std::map<std::string, Outcome>& r, const std::string& name) {
  INFO("case: " << name);
  REQUIRE(r.contains(name));
  const Outcome& o = r[name];
  CHECK_MESSAGE(o.ok, "failed: " << o.what);
  return o.detail;
}

// Checks that `name` failed with an ebpfpp::Error of `errnum` whose hint is exactly `hint`.
inline void failed(std::map<std::string, Outcome>& r, const std::string& name, int errnum,
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

// A BPF object file of the build, read by the parent (root) so that a child that dropped to
// another uid can open it with Object::open_memory whatever the build tree's mode.
struct ObjectImage {
  std::string name; // the object's name, as open_file would give it ("xdp_count")
  std::vector<std::byte> bytes;

  ebpfpp::Object open() const { return ebpfpp::Object::open_memory(bytes, name); }
};

// Reads bpf_dir()/<name>.bpf.o.
inline ObjectImage read_object(const std::string& name) {
  const std::filesystem::path path = bpf_dir() / (name + ".bpf.o");
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, "cannot read " << path);
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  ObjectImage image{name, std::vector<std::byte>(text.size())};
  std::memcpy(image.bytes.data(), text.data(), text.size());
  return image;
}

} // namespace test
