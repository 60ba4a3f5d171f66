#pragma once
// Cgroup tests' harness: the cgroup2 mount, a fresh cgroup directory removed on every path (and
// directories of dead test processes removed first), and a TCP connect that returns its errno.

#include "netns.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace test {

// The cgroup2 mount: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems.
inline std::optional<std::filesystem::path> cgroup2_root() {
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, dir, type;
  std::string rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest))
    if (type == "cgroup2") return dir;
  return std::nullopt;
}

// A fresh cgroup directory, removed (after its processes are gone) on destruction; directories
// left by dead test processes are removed first.
struct CgroupDir {
  std::filesystem::path path;
  explicit CgroupDir(const std::filesystem::path& root) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
      const std::string name = e.path().filename();
      if (!name.starts_with(netns_prefix)) continue;
      const long pid = std::strtol(name.c_str() + std::strlen(netns_prefix), nullptr, 10);
      if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
        ::rmdir(e.path().c_str());
    }
    static std::atomic<int> seq{0};
    path = root / fmt::format("{}{}-{}", netns_prefix, ::getpid(), seq++);
    REQUIRE_MESSAGE(::mkdir(path.c_str(), 0755) == 0,
                    "mkdir " << path << ": " << std::strerror(errno));
  }
  CgroupDir(const CgroupDir&) = delete;
  CgroupDir& operator=(const CgroupDir&) = delete;
  ~CgroupDir() {
    // An exited child leaves the cgroup a moment after waitpid returns.
    for (int i = 0; i < 200 && ::rmdir(path.c_str()) != 0 && errno == EBUSY; ++i) ::usleep(10000);
  }
};

// connect() to addr:port over TCP; 0 or the errno.
inline int tcp_connect(const char* addr, std::uint16_t p) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(p);
  ::inet_pton(AF_INET, addr, &sa.sin_addr);
  const int r = ::connect(s, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  const int err = r == 0 ? 0 : errno;
  ::close(s);
  return err;
}

} // namespace test
