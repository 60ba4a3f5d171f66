// Iterators over a target with a parameter (IterTarget) on the running kernel: the tasks and
// files of one forked child, a cgroup tree the test makes walked in each order, the elements of
// a map made here. Every walk is compared with what the test knows exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ebpfpp/hash_map.hpp>
#include <ebpfpp/iterator.hpp>
#include <ebpfpp/object.hpp>

#include "cgroup_dir.hpp"
#include "helpers.hpp"
#include "test_iter_targets.bpf.skel.h"

namespace iterator_options_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_iter_targets_bpf>;

// The skeleton with only `program` loaded (the others may need a newer kernel).
Skel load_only(std::string_view program) {
  auto skel = Skel::open();
  for (ebpfpp::Program p : skel.programs()) p.set_autoload(p.name() == program);
  skel.load();
  return skel;
}

constexpr int child_threads = 2;  // besides its main thread
constexpr int child_files = 5;    // opened after it closed every fd above 4

// A forked child with `child_threads` more threads and `child_files` files open; it reports its
// tids and waits until the parent lets it go (destruction), then exits.
struct Child {
  pid_t pid = -1;
  std::vector<std::uint32_t> tids; // the main thread's first
  int release_fd = -1;             // closing it ends the child

  Child() {
    int report[2], release[2];
    REQUIRE(::pipe2(report, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(release, O_CLOEXEC) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) run(report[1], release[0]);
    ::close(report[1]);
    ::close(release[0]);
    release_fd = release[1];
    std::uint32_t tid = 0;
    while (tids.size() < 1 + child_threads && ::read(report[0], &tid, sizeof tid) == sizeof tid)
      tids.push_back(tid);
    ::close(report[0]);
    REQUIRE(tids.size() == 1 + child_threads);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    ::close(release_fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }

  // The child's fds as /proc lists them.
  std::set<std::uint32_t> fds() const {
    std::set<std::uint32_t> out;
    for (const auto& e : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid)))
      out.insert(static_cast<std::uint32_t>(std::stoul(e.path().filename().string())));
    return out;
  }

private:
  static void* wait_released(void*) {
    const auto tid = static_cast<std::uint32_t>(::syscall(SYS_gettid));
    (void)!::write(3, &tid, sizeof tid);
    char c;
    (void)!::read(4, &c, 1); // EOF when the parent closes its end
    return nullptr;
  }
  [[noreturn]] static void run(int report, int release) {
    // fds 3 and 4 for the pipes (moved out of the way first: they may be 3 or 4 already),
    // nothing else above 2, then the files.
    report = ::fcntl(report, F_DUPFD, 100);
    release = ::fcntl(release, F_DUPFD, 100);
    if (report < 0 || release < 0 || ::dup2(report, 3) < 0 || ::dup2(release, 4) < 0) ::_exit(1);
    ::syscall(SYS_close_range, 5u, ~0u, 0u);
    for (int i = 0; i < child_files; ++i)
      if (::open("/dev/null", O_RDONLY) < 0) ::_exit(2);
    const auto tid = static_cast<std::uint32_t>(::syscall(SYS_gettid));
    (void)!::write(3, &tid, sizeof tid);
    pthread_t threads[child_threads];
    for (pthread_t& t : threads)
      if (::pthread_create(&t, nullptr, wait_released, nullptr) != 0) ::_exit(3);
    for (pthread_t& t : threads) ::pthread_join(t, nullptr);
    ::_exit(0);
  }
};

using Pair = std::array<std::uint32_t, 2>;

std::uint64_t cgroup_id(const std::filesystem::path& dir) {
  struct stat st {};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  return st.st_ino;
}

} // namespace

TEST_CASE("Iterator: a task iterator over one process, one thread or a pidfd yields exactly its "
          "threads" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::task_iter_pid)) EBPFPP_SKIP(*r);
  auto skel = load_only("task_ids");
  Child child;
  const auto tgid = static_cast<std::uint32_t>(child.pid);

  ebpfpp::Iterator process(skel.program("task_ids"), ebpfpp::IterTarget::process(child.pid));
  std::vector<Pair> got = process.records<Pair>();
  std::sort(got.begin(), got.end());
  std::vector<Pair> want;
  for (std::uint32_t tid : child.tids) want.push_back({tgid, tid});
  std::sort(want.begin(), want.end());
  CHECK(got == want);
  CHECK(process.info().type_name() == "iter");

  ebpfpp::Iterator thread(skel.program("task_ids"),
                          ebpfpp::IterTarget::thread(static_cast<pid_t>(child.tids[1])));
  CHECK(thread.records<Pair>() == std::vector<Pair>{{tgid, child.tids[1]}});

  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child.pid, 0));
  REQUIRE(pidfd >= 0);
  ebpfpp::Iterator by_pidfd(skel.program("task_ids"), ebpfpp::IterTarget::pidfd(pidfd));
  ::close(pidfd); // the link holds the process, not the fd
  got = by_pidfd.records<Pair>();
  std::sort(got.begin(), got.end());
  CHECK(got == want);

  // Without a target, the walk is every task: the child's threads and more.
  ebpfpp::Iterator all(skel.program("task_ids"));
  CHECK(all.records<Pair>().size() > want.size());
  // A pid or fd of 0 or below is refused before the kernel sees it: it reads 0 as no filter.
  try {
    (void)ebpfpp::IterTarget::process(0);
    FAIL("process 0 was taken");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == EINVAL);
    CHECK(std::string(e.what()).find("target of process 0") != std::string::npos);
    CHECK(e.hint().find("would walk every object") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS((void)ebpfpp::IterTarget::pidfd(-1),
                       doctest::Contains("target of process of pidfd -1"), ebpfpp::Error);
}

TEST_CASE("Iterator: a task_file iterator over one process lists exactly its open fds" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::task_iter_pid)) EBPFPP_SKIP(*r);
  auto skel = load_only("task_fds");
  Child child;
  ebpfpp::Iterator files(skel.program("task_fds"), ebpfpp::IterTarget::process(child.pid));
  // Each fd once, though three threads share the table, where the kernel skips a thread whose
  // table it has just walked; 6.1's walk of one process (bookworm's kernel under qemu) visits the
  // shared table more than once (twice for these three threads). Either way every fd the same
  // number of times, never more than once per thread.
  std::set<std::uint32_t> fds;
  std::map<std::uint32_t, int> seen;
  for (const Pair& r : files.records<Pair>()) {
    CHECK(r[0] == static_cast<std::uint32_t>(child.pid));
    fds.insert(r[1]);
    ++seen[r[1]];
  }
  const int times = seen.empty() ? 0 : seen.begin()->second;
  CAPTURE(times);
  CHECK(times >= 1);
  CHECK(times <= 1 + child_threads);
  for (const auto& fd_count : seen) {
    CAPTURE(fd_count.first);
    CHECK(fd_count.second == times);
  }
  const std::set<std::uint32_t> proc = child.fds();
  CHECK(fds == proc);
  // 3 and 4 are its pipes, 5.. the files it opened, nothing else above 2.
  std::set<std::uint32_t> above2(fds.upper_bound(2), fds.end());
  std::set<std::uint32_t> want;
  for (std::uint32_t fd = 3; fd < 5 + child_files; ++fd) want.insert(fd);
  CHECK(above2 == want);
}

TEST_CASE("Iterator: a cgroup iterator walks a cgroup tree in each order, exactly" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::cgroup_iter)) EBPFPP_SKIP(*r);
  const auto root = test::cgroup2_root();
  if (!root) EBPFPP_SKIP("no cgroup2 mount");
  auto skel = load_only("cgroup_ids");
  // top -> {a -> {a1}, b}, made in that order (a walk visits siblings in creation order).
  test::CgroupDir top(*root);
  test::CgroupDir a(top.path);
  test::CgroupDir a1(a.path);
  test::CgroupDir b(top.path);
  const std::uint64_t t = cgroup_id(top.path), ia = cgroup_id(a.path), ia1 = cgroup_id(a1.path),
                      ib = cgroup_id(b.path);
  using Order = ebpfpp::CgroupOrder;
  const auto walk = [&](const ebpfpp::IterTarget& target) {
    return ebpfpp::Iterator(skel.program("cgroup_ids"), target).records<std::uint64_t>();
  };
  using Ids = std::vector<std::uint64_t>;
  CHECK(walk(ebpfpp::IterTarget::cgroup(top.path, Order::self_only)) == Ids{t});
  CHECK(walk(ebpfpp::IterTarget::cgroup(top.path, Order::descendants_pre)) ==
        Ids{t, ia, ia1, ib});
  CHECK(walk(ebpfpp::IterTarget::cgroup(top.path, Order::descendants_post)) ==
        Ids{ia1, ia, ib, t});
  // Up from a1 to the root of the hierarchy, whose id is that of the cgroup2 mount's root.
  Ids up{ia1, ia, t};
  for (auto p = top.path.parent_path(); p.string().size() >= root->string().size();
       p = p.parent_path()) {
    up.push_back(cgroup_id(p));
    if (p == *root) break;
  }
  CHECK(walk(ebpfpp::IterTarget::cgroup(a1.path, Order::ancestors_up)) == up);
  // By id and by fd, the same cgroup.
  CHECK(walk(ebpfpp::IterTarget::cgroup_id(ia, Order::descendants_pre)) == Ids{ia, ia1});
  {
    ebpfpp::detail::UniqueFd fd(::open(b.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(fd);
    CHECK(walk(ebpfpp::IterTarget::cgroup_fd(fd.get(), Order::self_only)) == Ids{ib});
  }
  // A directory that is not there: the open fails naming it, with the cgroup hint.
  try {
    (void)walk(ebpfpp::IterTarget::cgroup(top.path / "none", Order::self_only));
    FAIL("a missing cgroup was walked");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.errnum() == ENOENT);
    CHECK(std::string(e.what()).find((top.path / "none").string()) != std::string::npos);
    CHECK(e.hint() == ebpfpp::detail::hint::no_cgroup);
  }
}

TEST_CASE("Iterator: a map-element iterator over a map made here reads every element" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::iterators)) EBPFPP_SKIP(*r);
  if (ebpfpp::KernelVersion::running() < ebpfpp::KernelVersion{5, 9, 0})
    EBPFPP_SKIP("the bpf_map_elem iterator needs kernel 5.9+, this is " +
                ebpfpp::KernelVersion::running().str());
  std::optional<Skel> skel;
  try {
    skel.emplace(load_only("map_elems"));
  } catch (const ebpfpp::Error& e) {
    // As in probes_test: a kernel that refuses BPF trampolines to a fully privileged process
    // (EPERM) refuses this iterator's load too.
    if (!ebpfpp::kernel::has(ebpfpp::kernel::Feature::fentry) && e.errnum() == EPERM)
      EBPFPP_SKIP("the bpf_map_elem iterator is refused like BPF trampolines on this kernel: " +
                  std::string(e.what()).substr(0, std::string_view(e.what()).find('\n')));
    throw;
  }
  auto map = ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, 64, "iter_target");
  std::vector<std::array<std::uint64_t, 2>> want;
  for (std::uint32_t k = 1; k <= 40; ++k) {
    map.update(k, std::uint64_t{k} * 7919u);
    want.push_back({k, std::uint64_t{k} * 7919u});
  }
  ebpfpp::Iterator walk(skel->program("map_elems"), ebpfpp::IterTarget::map_fd(map.fd(), "here"));
  auto got = walk.records<std::array<std::uint64_t, 2>>();
  std::sort(got.begin(), got.end());
  CHECK(got == want);
}

} // namespace iterator_options_test
