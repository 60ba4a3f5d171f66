// local_storage_map.hpp on the running kernel: task storage created by a BPF program and read
// and written here by pidfd; socket storage created here by socket fd and updated by a BPF
// program on the socket's TCP state changes; cgroup storage created by a BPF program in this
// process's cgroup and read here by the cgroup directory's fd; inode storage by file fd.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ebpfpp/link.hpp>
#include <ebpfpp/map.hpp>
#include <ebpfpp/object.hpp>

#include "cgroup_dir.hpp"
#include "helpers.hpp"
#include "test_cgroup_storage.bpf.skel.hpp"
#include "test_inode_storage.bpf.skel.hpp"
#include "test_local_storage.bpf.skel.h"

namespace local_storage_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_local_storage_bpf>;

Skel loaded() {
  auto skel = Skel::open();
  skel->rodata->target_tgid = ::getpid();
  skel.load();
  return skel;
}

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) { REQUIRE(fd >= 0); }
  ~Fd() { ::close(fd); }
};

} // namespace

TEST_CASE("TaskStorageMap: the BPF side's per-task count, read and reset by pidfd") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::task_storage)) EBPFPP_SKIP(*r);
  auto skel = loaded();
  ebpfpp::TaskStorageMap<std::uint64_t> calls(skel->maps.task_calls);
  ebpfpp::Tracepoint tp(skel.program("count_task"), "syscalls", "sys_enter_getppid");
  const Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
  CHECK_FALSE(calls.get(pidfd.fd));
  test::call_getppid(7);
  CHECK(calls.get(pidfd.fd) == 7u);
  calls.set(pidfd.fd, 100); // the BPF side goes on from what user space wrote
  test::call_getppid(3);
  CHECK(calls.get(pidfd.fd) == 103u);
  CHECK(calls.erase(pidfd.fd));
  CHECK_FALSE(calls.erase(pidfd.fd));
  CHECK_FALSE(calls.get(pidfd.fd));
  // An fd that is not a pidfd is refused with what it must be.
  const Fd sock(::socket(AF_INET, SOCK_DGRAM, 0));
  try {
    calls.set(sock.fd, 1);
    FAIL("no Error");
  } catch (const ebpfpp::Error& e) {
    CHECK(std::string(e.what()).find("a pidfd") != std::string::npos);
  }
  // The wrong view names the right one.
  try {
    ebpfpp::SocketStorageMap<std::uint64_t> wrong(skel->maps.task_calls);
    FAIL("no Error");
  } catch (const ebpfpp::Error& e) {
    CHECK(std::string(e.what()).find("use ebpfpp::TaskStorageMap<V>") != std::string::npos);
  }
}

TEST_CASE("SocketStorageMap: a value set by socket fd, bumped by the BPF side on listen()") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::tp_btf)) EBPFPP_SKIP(*r);
  auto skel = loaded();
  ebpfpp::SocketStorageMap<std::uint64_t> marks(skel->maps.sk_marks);
  std::unique_ptr<bpf_link, decltype(&bpf_link__destroy)> link(
      bpf_program__attach(skel.program("mark_socket").get()), &bpf_link__destroy);
  REQUIRE_MESSAGE(link, "attach tp_btf/inet_sock_set_state: " << std::strerror(errno));
  const Fd s(::socket(AF_INET, SOCK_STREAM, 0));
  CHECK_FALSE(marks.get(s.fd));
  marks.set(s.fd, 40);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(s.fd, 1) == 0); // CLOSE -> LISTEN
  CHECK(marks.get(s.fd) == 41u);
  CHECK_THROWS_WITH_AS(marks.set(s.fd, 1, ebpfpp::UpdateFlag::no_exist),
                       doctest::Contains("store a value for fd"), ebpfpp::Error);
  CHECK(marks.erase(s.fd));
  CHECK_FALSE(marks.get(s.fd));
}

TEST_CASE("CgroupStorageMap: the BPF side's count in this process's cgroup, read by cgroup fd") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::cgrp_storage)) EBPFPP_SKIP(*r);
  const auto root = test::cgroup2_root();
  REQUIRE_MESSAGE(root, "no cgroup2 mount");
  auto skel = test_cgroup_storage::Skeleton::open();
  skel->rodata->target_tgid = ::getpid();
  skel.load();
  // The typed skeleton made the view from the map's type and BTF.
  ebpfpp::CgroupStorageMap<std::uint64_t>& calls = skel.maps.cgroup_calls;
  // This process's cgroup v2: the "0::/path" line of /proc/self/cgroup (v1 lines come first on
  // hybrid systems).
  std::ifstream self("/proc/self/cgroup");
  std::string line;
  while (std::getline(self, line) && !line.starts_with("0::")) {
  }
  REQUIRE_MESSAGE(line.starts_with("0::"), "no cgroup v2 line in /proc/self/cgroup");
  const Fd mine(::open((*root / line.substr(4)).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  const test::CgroupDir fresh(*root);
  const Fd other(::open(fresh.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));

  CHECK_FALSE(calls.get(mine.fd));
  ebpfpp::Tracepoint tp(skel.progs.count_cgroup, "syscalls", "sys_enter_getppid");
  test::call_getppid(9);
  CHECK(calls.get(mine.fd) == 9u);
  CHECK_FALSE(calls.get(other.fd)); // no process of that cgroup called
  calls.set(other.fd, 40);          // user space creates storage for a cgroup
  CHECK(calls.get(other.fd) == 40u);
  test::call_getppid(2);
  CHECK(calls.get(mine.fd) == 11u);
  CHECK(calls.get(other.fd) == 40u);
  CHECK(calls.erase(other.fd));
  CHECK_FALSE(calls.erase(other.fd));
  CHECK(calls.erase(mine.fd));
  // A file that is not a cgroup directory is refused with what the fd must be.
  const Fd file(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  try {
    calls.set(file.fd, 1);
    FAIL("no Error");
  } catch (const ebpfpp::Error& e) {
    CHECK(std::string(e.what()).find("a cgroup v2 directory") != std::string::npos);
  }
}

TEST_CASE("InodeStorageMap: one value per inode, reached through any fd of the file") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::inode_storage)) EBPFPP_SKIP(*r);
  auto skel = test_inode_storage::Skeleton::open();
  // The BPF side is an LSM program, loaded only where BPF LSM runs (the next test case): the
  // map alone is what user space reads and writes.
  skel.progs.count_open.set_autoload(false);
  skel.load();
  ebpfpp::InodeStorageMap<std::uint64_t>& opens = skel.maps.inode_opens;
  char path[] = "/tmp/ebpfpp-inode-XXXXXX";
  const Fd file(::mkstemp(path));
  ::unlink(path); // the inode stays while the fd is open
  const Fd same(::open(fmt::format("/proc/self/fd/{}", file.fd).c_str(), O_RDONLY | O_CLOEXEC));
  const Fd other(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  CHECK_FALSE(opens.get(file.fd));
  opens.set(file.fd, 5);
  CHECK(opens.get(same.fd) == 5u); // another open file, the same inode
  CHECK_FALSE(opens.get(other.fd));
  CHECK(opens.erase(same.fd));
  CHECK_FALSE(opens.erase(file.fd));
  try {
    opens.set(-1, 1);
    FAIL("no Error");
  } catch (const ebpfpp::Error& e) {
    CHECK(std::string(e.what()).find("an fd of an open file") != std::string::npos);
  }
}

// The BPF side of inode storage: bpf_inode_storage_get is offered to LSM programs, so this runs
// where BPF LSM is active (the qemu suite boots with bpf in lsm=; this host refuses LSM loads).
TEST_CASE("InodeStorageMap: an LSM program on file_open counts one file's opens in its inode" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::inode_storage)) EBPFPP_SKIP(*r);
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::lsm)) EBPFPP_SKIP(*r);
  auto skel = test_inode_storage::Skeleton::open_and_load();
  ebpfpp::InodeStorageMap<std::uint64_t>& opens = skel.maps.inode_opens;
  char path[] = "/tmp/ebpfpp-inode-XXXXXX";
  const Fd file(::mkstemp(path));
  ::unlink(path); // reachable only through /proc/self/fd: no other process opens it
  const std::string again = fmt::format("/proc/self/fd/{}", file.fd);
  // The BPF side counts only inodes that have storage (it does not create any): give this one.
  opens.set(file.fd, 0);
  ebpfpp::Link link = ebpfpp::attach(skel.progs.count_open);
  constexpr int n = 13;
  for (int i = 0; i < n; ++i) Fd(::open(again.c_str(), O_RDONLY | O_CLOEXEC));
  CHECK(opens.get(file.fd) == std::uint64_t{n});
  // Other files' opens (this one) have no storage, so they count nowhere.
  const Fd other(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  CHECK_FALSE(opens.get(other.fd));
  // After the link is gone, opens are no longer counted.
  link = ebpfpp::Link();
  { const Fd unseen(::open(again.c_str(), O_RDONLY | O_CLOEXEC)); }
  CHECK(opens.get(file.fd) == std::uint64_t{n});
  CHECK(opens.erase(file.fd));
}

} // namespace local_storage_test
