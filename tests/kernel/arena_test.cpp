// arena.hpp on the running kernel: a linked list a BPF program builds in an arena, walked here
// through the pointers it stored, changed here and walked again by the BPF side; the arena's
// placement (map_extra, the first mmap) and its errors. Arenas need kernel 6.9: the list runs in
// qemu on Debian trixie's 6.12 (scripts/vm-suite), and this host refuses arena maps (EPERM: see
// kernel::Feature::arena's probe).
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

#include <ebpfpp/arena.hpp>
#include <ebpfpp/array_map.hpp>
#include <ebpfpp/object.hpp>
#include <ebpfpp/open_options.hpp>
#include <ebpfpp/test_run.hpp>

#include "helpers.hpp"
#include "test_arena.bpf.skel.hpp"
#include "test_arena.h"

namespace arena_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

// The declaration's size in bpf/test_arena.bpf.c: a reused map must match it.
constexpr std::uint32_t arena_pages = 4;

// An arena created and placed here, and the object loaded over it (libbpf 1.1 cannot place the
// object's own: arena.hpp).
struct Loaded {
  ebpfpp::Arena arena = ebpfpp::Arena::create(arena_pages, "arena");
  test_arena::Skeleton skel =
      test_arena::Skeleton::open({.reuse = {ebpfpp::MapReuse::from_fd("arena", arena.fd())}});
  Loaded() { skel.load(); }
};

} // namespace

TEST_CASE("Arena: a list the BPF side builds is walked here through the pointers it stored" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::arena)) EBPFPP_SKIP(*r);
  Loaded l;
  const ebpfpp::Arena& arena = l.arena;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  REQUIRE(arena.bytes().size() == arena_pages * page);
  CHECK(arena.address() % page == 0);
  // The kernel keeps an arena's user range within one 4 GiB block.
  CHECK((arena.address() >> 32) == ((arena.address() + arena.bytes().size() - 1) >> 32));

  constexpr std::uint32_t count = 50, seed = 7;
  const arena_list_args args{count, seed};
  REQUIRE(l.skel.progs.build_list.test_run(ebpfpp::TestRun().ctx_in(args)).return_value == 0);
  const std::uint64_t head = l.skel->bss->head;
  arena_node* first = arena.pointer<arena_node>(head);
  REQUIRE(first != nullptr);
  // The low 32 bits (what the BPF side dereferences) name the same node.
  CHECK(arena.pointer<arena_node>(head & 0xffffffff) == first);

  // Every node, in order, through the BPF side's `next` pointers, which are valid here as they
  // are: the list runs backwards through one page the BPF side allocated.
  std::uint32_t k = 0;
  const auto* page_start =
      reinterpret_cast<const std::byte*>(first) - (count - 1) * sizeof(arena_node);
  CHECK(reinterpret_cast<std::uintptr_t>(page_start) % page == 0);
  for (const arena_node* n = first; n != nullptr && k <= count; n = n->next, ++k) {
    REQUIRE(arena.contains(n, sizeof *n));
    CHECK(n->index == k);
    CHECK(n->slot == count - 1 - k);
    CHECK(n->value == std::uint64_t{seed} * 1000 + std::uint64_t{k} * k);
    CHECK(reinterpret_cast<const std::byte*>(n) == page_start + n->slot * sizeof(arena_node));
  }
  CHECK(k == count);

  // User space relinks the list (drops every odd node) and changes values in place; the BPF
  // side follows the new pointers.
  std::uint64_t expected = 0;
  std::uint32_t kept = 0;
  for (arena_node* n = first; n != nullptr; n = n->next) {
    n->value += 1;
    expected += n->value;
    ++kept;
    if (n->next != nullptr) n->next = n->next->next;
  }
  CHECK(kept == count / 2);
  CHECK(l.skel.progs.walk_list.test_run().return_value == kept);
  CHECK(l.skel->bss->walked_sum == expected);

  // An address outside the arena is no pointer into it.
  try {
    (void)arena.pointer<arena_node>(arena.address() + arena.bytes().size());
    FAIL("no Error");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.code().value() == ERANGE);
    CHECK(std::string(e.what()).find("in arena 'arena'") != std::string::npos);
  }
}

TEST_CASE("Arena: placed at map_extra, or by its first mapping; a second placement is an Error" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::arena)) EBPFPP_SKIP(*r);
  const std::size_t fds = test::open_fd_count();
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  {
    // At a given address: a free page found here (one page never crosses a 4 GiB boundary).
    void* probe = ::mmap(nullptr, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(probe != MAP_FAILED);
    ::munmap(probe, page);
    const auto at = reinterpret_cast<std::uintptr_t>(probe);
    const auto placed = ebpfpp::Arena::create(1, "placed", at);
    CHECK(placed.address() == at);
    CHECK(placed.bytes().size() == page);
    placed.bytes()[page - 1] = std::byte{42}; // user space may fault pages in
    CHECK(*placed.pointer<std::byte>(at + page - 1) == std::byte{42});
    // Another arena at the same address, which this process uses: refused, nothing replaced.
    try {
      (void)ebpfpp::Arena::create(1, "again", at);
      FAIL("no Error");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.code().value() == EEXIST);
      CHECK(e.hint().find("mapped at the arena's address") != std::string::npos);
    }
    CHECK(*placed.pointer<std::byte>(at + page - 1) == std::byte{42});

    // Placed by its first mapping (map_extra 0): a second view cannot know where.
    const auto first = ebpfpp::Arena::create(2, "first");
    try {
      const ebpfpp::Arena second(ebpfpp::MapSource::fd(first.fd(), "first"));
      FAIL("no Error");
    } catch (const ebpfpp::Error& e) {
      CHECK(e.code().value() == EINVAL);
      CHECK(std::string(e.what()).find("map arena 'first' into memory") != std::string::npos);
      CHECK(e.hint().find("Arena::create's address") != std::string::npos);
    }
  }
  CHECK(test::open_fd_count() == fds); // the views' fds went with them
}

TEST_CASE("Arena of a map that is no arena is a clear Error") {
  auto array = ebpfpp::ArrayMap<std::uint64_t>::create(1, "not_arena");
  const std::size_t fds = test::open_fd_count();
  try {
    const ebpfpp::Arena wrong(ebpfpp::MapSource::fd(array.fd(), "not_arena"));
    FAIL("no Error");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.code().value() == EINVAL);
    CHECK(std::string(e.what()).find("view map 'not_arena' (array) as ebpfpp::Arena") !=
          std::string::npos);
    CHECK(e.hint().find("use ebpfpp::ArrayMap<V>") != std::string::npos);
  }
  CHECK(test::open_fd_count() == fds);
}

} // namespace arena_test
