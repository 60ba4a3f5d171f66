// Lookups report absence only when the kernel says ENOENT: a closed fd, an empty view or an fd
// that may not read is an Error naming the map and the key, never "not there".
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include <bpf/bpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "helpers.hpp"
#include "identity.hpp"

namespace map_errors_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using u32 = std::uint32_t;
using u64 = std::uint64_t;

const std::string no_map_fd =
    "the view has no open map fd: it is empty (default-constructed or moved-from), or its fd was "
    "closed by code that does not own it; assign a real view, and close a view's fd only by "
    "destroying the view";
const std::string map_fd_mode =
    "the kernel refuses this access through this fd, whatever the process's capabilities: the fd "
    "or the map is read-only or write-only for user space (BPF_F_RDONLY / BPF_F_WRONLY at "
    "creation, at BPF_OBJ_GET or when the fd was handed over), or the map is frozen "
    "(bpf_map_freeze) against writes; open the map with the access you need";

// Runs `fn`, which must throw an ebpfpp::Error, and checks its errno and its whole text.
template <class Fn>
void throws(Fn&& fn, int errnum, const std::string& what) {
  try {
    fn();
    FAIL("no Error: " << what);
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == errnum);
    CHECK(std::string(e.what()) == what);
  }
}

// An fd of `view`'s map through which user space may only write (BPF_F_WRONLY), as a
// privileged process might hand one to a helper.
template <class View>
int write_only_fd(const View& view) {
  bpf_get_fd_by_id_opts opts;
  ebpfpp::detail::init_opts(opts); // tail padding: libbpf refuses it unless zero
  opts.open_flags = BPF_F_WRONLY;
  const int fd = bpf_map_get_fd_by_id_opts(view.info().id, &opts);
  REQUIRE(fd >= 0);
  return fd;
}

// Closes `fd` behind its owner's back for the duration of `fn`, then puts an fd of /dev/null at
// its number, which the owner closes in its turn (so nothing else's fd is closed).
template <class Fn>
void with_fd_closed(int fd, Fn&& fn) {
  const int placeholder = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(placeholder >= 0);
  REQUIRE(::close(fd) == 0);
  fn();
  REQUIRE(::dup2(placeholder, fd) == fd);
  ::close(placeholder);
}

} // namespace

TEST_CASE("lookups on a closed fd or an empty view throw EBADF, never 'absent'") {
  const test::Baseline before;
  {
    auto m = ebpfpp::Map<u32, u64>::create(BPF_MAP_TYPE_HASH, 4, "closed_hash");
    m.update(1, 10);
    auto q = ebpfpp::QueueMap<u64>::create(4, "closed_queue");
    q.push(5);
    auto bloom = ebpfpp::BloomFilterMap<u64>::create(16, "closed_bloom");
    bloom.push(3);
    const std::string bad_fd = "Bad file descriptor (errno 9)\n  hint: " + no_map_fd;

    with_fd_closed(m.fd(), [&] {
      throws([&] { (void)m.lookup(1); }, EBADF, "look up key 1 in map 'closed_hash': " + bad_fd);
      throws([&] { (void)m.contains(2); }, EBADF, "look up key 2 in map 'closed_hash': " + bad_fd);
    });
    with_fd_closed(q.fd(), [&] {
      throws([&] { (void)q.pop(); }, EBADF, "pop from queue 'closed_queue': " + bad_fd);
      throws([&] { (void)q.peek(); }, EBADF, "peek at queue 'closed_queue': " + bad_fd);
    });
    with_fd_closed(bloom.fd(), [&] {
      throws([&] { (void)bloom.contains(3); }, EBADF,
             "look up a value in bloom filter 'closed_bloom': " + bad_fd);
    });

    // The same views with their fds back: absence is still absence.
    auto m2 = ebpfpp::Map<u32, u64>::create(BPF_MAP_TYPE_HASH, 4, "open_hash");
    m2.update(1, 10);
    CHECK(m2.lookup(1) == 10u);
    CHECK_FALSE(m2.lookup(2).has_value());
    CHECK_FALSE(m2.contains(2));
    auto q2 = ebpfpp::StackMap<u64>::create(4, "open_stack");
    CHECK_FALSE(q2.peek().has_value());
    CHECK_FALSE(q2.pop().has_value());
    q2.push(8);
    CHECK(q2.peek() == 8u);
    CHECK(q2.pop() == 8u);

    ebpfpp::Map<u32, u64> empty;
    throws([&] { (void)empty.lookup(1); }, EBADF, "look up key 1 in map '': " + bad_fd);
    ebpfpp::StackMap<u64> empty_stack;
    throws([&] { (void)empty_stack.pop(); }, EBADF, "pop from stack '': " + bad_fd);
  }
  before.check();
}

TEST_CASE("as uid 65534 with no capabilities: lookups through an inherited fd answer, through a "
          "write-only fd they throw EPERM naming the fd's mode, not capabilities") {
  const test::Baseline before;
  {
    // Made by the (root) parent: the child inherits the fds, as a helper handed them would.
    auto readable = ebpfpp::Map<u32, u64>::create(BPF_MAP_TYPE_HASH, 4, "readable");
    readable.update(7, 70);
    const int wo = write_only_fd(readable);
    auto write_only = ebpfpp::Map<u32, u64>::from_fd(wo, "write_only");
    ::close(wo);
    auto queue = ebpfpp::QueueMap<u64>::create(4, "queue");
    queue.push(5);
    queue.push(6);
    const int qwo = write_only_fd(queue);
    auto queue_wo = ebpfpp::QueueMap<u64>::from_fd(qwo, "queue_wo");
    ::close(qwo);

    auto r = test::run_as(65534, 0, [&](test::Reporter& rep) {
      rep.run("lookup present", [&] { return std::to_string(readable.lookup(7).value()); });
      rep.run("lookup absent", [&] {
        return std::string(readable.lookup(8) ? "present" : "absent") +
               (readable.contains(8) ? ",present" : ",absent");
      });
      rep.run("pop", [&] { return std::to_string(queue.pop().value()); });
      rep.run("lookup write-only", [&] { return std::to_string(write_only.lookup(7).value()); });
      rep.run("contains write-only", [&] { return std::to_string(write_only.contains(7)); });
      rep.run("peek write-only", [&] { return std::to_string(queue_wo.peek().value()); });
      rep.run("pop write-only", [&] { return std::to_string(queue_wo.pop().value()); });
      rep.run("open by id", [&] {
        auto again = ebpfpp::Map<u32, u64>::from_id(readable.info().id);
        return std::string();
      });
      rep.run("list map ids", [&] { return std::to_string(ebpfpp::map_ids().size()); });
      // The write-only fd still writes.
      rep.run("update write-only", [&] {
        write_only.update(9, 90);
        return std::string();
      });
    });
    CHECK(test::worked(r, "lookup present") == "70");
    CHECK(test::worked(r, "lookup absent") == "absent,absent");
    CHECK(test::worked(r, "pop") == "5");
    test::worked(r, "update write-only");
    CHECK(readable.lookup(9) == 90u);
    // The reporter flattens the newline before the hint into a space.
    const std::string eperm = ": Operation not permitted (errno 1)   hint: " + map_fd_mode;
    test::failed(r, "lookup write-only", EPERM, map_fd_mode);
    CHECK(r["lookup write-only"].what == "look up key 7 in map 'write_only'" + eperm);
    test::failed(r, "contains write-only", EPERM, map_fd_mode);
    CHECK(r["contains write-only"].what == "look up key 7 in map 'write_only'" + eperm);
    test::failed(r, "peek write-only", EPERM, map_fd_mode);
    CHECK(r["peek write-only"].what == "peek at queue 'queue_wo'" + eperm);
    test::failed(r, "pop write-only", EPERM, map_fd_mode);
    CHECK(r["pop write-only"].what == "pop from queue 'queue_wo'" + eperm);
    // Ids are CAP_SYS_ADMIN's, whatever else the process holds.
    const std::string by_id =
        "listing BPF objects and opening them by id need CAP_SYS_ADMIN (CAP_BPF is not enough): "
        "run as root, or get the object another way (a pin, an fd passed over a unix socket)";
    test::failed(r, "open by id", EPERM, by_id);
    CHECK(r["open by id"].what.starts_with("make ebpfpp::Map<"));
    CHECK(r["open by id"].what.find(fmt::format("> of map id {}: Operation not permitted (errno 1)",
                                                readable.info().id)) != std::string::npos);
    test::failed(r, "list map ids", EPERM, by_id);
    CHECK(r["list map ids"].what.starts_with(
        "list the loaded maps (next id after 0): Operation not permitted (errno 1)"));
    // The queue lost nothing to the refused pop: 6 is still there.
    CHECK(queue.pop() == 6u);
  }
  before.check();
}

} // namespace map_errors_test
