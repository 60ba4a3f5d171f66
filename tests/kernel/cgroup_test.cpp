// Cgroup: a connect4 program on a fresh cgroup v2 directory refuses a child's connect() to one
// address with EPERM and lets it reach another; a process outside the cgroup is not affected.
// The child runs in a private network namespace with only its loopback.

#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <string>

#include <arpa/inet.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ebpfpp/ebpfpp.hpp>

#include "kernel/cgroup_dir.hpp"
#include "kernel/helpers.hpp"
#include "kernel/netns.hpp"
#include "test_network.bpf.skel.h"

namespace cgroup_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_network_bpf>;
constexpr std::uint16_t port = 4444;

} // namespace

TEST_CASE("Cgroup connect4: a child in the cgroup gets EPERM for the blocked address only") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::cgroup)) EBPFPP_SKIP(*r);
  const auto root = test::cgroup2_root();
  REQUIRE_MESSAGE(root, "no cgroup2 mount in /proc/self/mounts");
  auto skel = Skel::open();
  in_addr blocked{};
  REQUIRE(::inet_pton(AF_INET, "127.0.0.2", &blocked) == 1);
  skel->rodata->blocked_ip4 = blocked.s_addr;
  skel.load();
  ebpfpp::ArrayMap<std::uint32_t> refused(skel->maps.refused_pid);

  test::Netns ns("cg");
  REQUIRE(test::sh(fmt::format("ip -n {} link set lo up", ns.name())) == 0);
  const std::size_t fds = test::open_fd_count();
  {
    test::CgroupDir cg(*root);
    ebpfpp::Cgroup link(skel.program("block_connect4"), cg.path);
    CHECK(link.description().find("cgroup_inet4_connect") != std::string::npos);

    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (::setns(ns.fd(), CLONE_NEWNET) != 0) ::_exit(20);
      const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(port);
      sa.sin_addr.s_addr = htonl(INADDR_ANY);
      if (::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(l, 8) != 0)
        ::_exit(21);
      // Outside the cgroup: the program does not run; nothing listens on .2 but the connect is
      // made (and accepted: the listener is on every loopback address).
      if (test::tcp_connect("127.0.0.2", port) != 0) ::_exit(22);
      std::ofstream(cg.path / "cgroup.procs") << ::getpid() << std::flush;
      if (test::tcp_connect("127.0.0.2", port) != EPERM) ::_exit(23);
      if (test::tcp_connect("127.0.0.1", port) != 0) ::_exit(24);
      ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(refused.get(0) == static_cast<std::uint32_t>(pid));

    // This process is not in the cgroup: not refused.
    refused.set(0, 0);
    {
      test::NetnsScope in(ns);
      CHECK(test::tcp_connect("127.0.0.2", port) == ECONNREFUSED);
    }
    CHECK(refused.get(0) == 0);
  }
  CHECK(test::open_fd_count() == fds);
}

TEST_CASE("Cgroup errors: a missing or non-cgroup directory is named") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::cgroup)) EBPFPP_SKIP(*r);
  auto skel = Skel::open_and_load();
  const std::size_t fds = test::open_fd_count();
  try {
    ebpfpp::Cgroup link(skel.program("block_connect4"), "/sys/fs/cgroup/ebpfpp-nosuch");
    FAIL("attached to a missing cgroup");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ENOENT);
    CHECK(std::string(e.what()).find("'/sys/fs/cgroup/ebpfpp-nosuch'") != std::string::npos);
  }
  try {
    ebpfpp::Cgroup link(skel.program("block_connect4"), "/tmp");
    FAIL("attached to /tmp");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ENOTDIR);
    CHECK(e.hint().find("cgroup v2") != std::string::npos);
  }
  // By fd, with the attach type given: the link says which it is.
  if (const auto root = test::cgroup2_root()) {
    test::CgroupDir cg(*root);
    const int fd = ::open(cg.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    {
      auto link =
          ebpfpp::Cgroup::from_fd(skel.program("block_connect4"), fd, BPF_CGROUP_INET4_CONNECT);
      bpf_link_info info{};
      std::uint32_t len = sizeof info;
      REQUIRE(bpf_obj_get_info_by_fd(link.fd(), &info, &len) == 0);
      CHECK(info.type == BPF_LINK_TYPE_CGROUP);
      CHECK(info.cgroup.attach_type == BPF_CGROUP_INET4_CONNECT);
      // The wrong type for the program: refused, with the type named.
      CHECK_THROWS_WITH_AS(
          ebpfpp::Cgroup::from_fd(skel.program("block_connect4"), fd, BPF_CGROUP_INET_EGRESS),
          doctest::Contains("cgroup_inet_egress"), ebpfpp::Error);
    }
    ::close(fd);
  }
  CHECK(test::open_fd_count() == fds);
}

} // namespace cgroup_test
