// local_storage_map.hpp on the running kernel: task storage created by a BPF program and read
// and written here by pidfd; socket storage created here by socket fd and updated by a BPF
// program on the socket's TCP state changes.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ebpfpp/link.hpp>
#include <ebpfpp/map.hpp>
#include <ebpfpp/object.hpp>

#include "helpers.hpp"
#include "test_local_storage.bpf.skel.h"

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
