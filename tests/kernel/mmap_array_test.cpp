// mmap_array.hpp on the running kernel: BPF_F_MMAPABLE arrays read and written in place by user
// space while a BPF program on getppid reads and writes the same values.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <string>

#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "helpers.hpp"
#include "test_mmap_array.bpf.skel.hpp"

namespace mmap_array_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

test_mmap_array::Skeleton loaded() {
  auto skel = test_mmap_array::Skeleton::open();
  skel->rodata->target_tgid = ::getpid();
  skel.load();
  return skel;
}

} // namespace

TEST_CASE("MmapArray: values shared in place with the BPF side, both ways") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::mmapable_maps)) EBPFPP_SKIP(*r);
  auto skel = loaded();
  // The typed skeleton maps a BPF_F_MMAPABLE array as MmapArray, from the map's flags.
  ebpfpp::MmapArray<test_mmap_array::slot>& slots = skel.maps.slots;
  REQUIRE(slots.values().size() == 3);
  CHECK(slots.bytes().size() == static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
  slots.values()[2].limit = 21; // no system call: the BPF side reads it at its next run
  ebpfpp::Tracepoint tp(skel.progs.touch_slots, "syscalls", "sys_enter_getppid");
  test::call_getppid(5);
  CHECK(std::atomic_ref(slots.values()[0].hits).load() == 5);
  CHECK(slots.values()[1].limit == 42);
  // The same values through the bpf() system call.
  CHECK(slots.get(0).hits == 5);
  CHECK(slots.get(1).limit == 42);
  slots.set(2, {0, 50}); // and the other way: a write by syscall is seen in place
  CHECK(slots[2].limit == 50);
  test::call_getppid(1);
  CHECK(slots[1].limit == 100);

  // 4-byte values lie 8 bytes apart: operator[] steps over the padding.
  ebpfpp::MmapArray<std::uint32_t>& words = skel.maps.words;
  static_assert(ebpfpp::MmapArray<std::uint32_t>::stride == 8);
  for (std::uint32_t i = 0; i < 5; ++i) CHECK(words[i] == i * 10 + 6);
  for (std::uint32_t i = 0; i < 5; ++i) CHECK(words.get(i) == i * 10 + 6);
}

TEST_CASE("MmapArray of an array without BPF_F_MMAPABLE is a clear Error") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::mmapable_maps)) EBPFPP_SKIP(*r);
  auto skel = loaded();
  const std::size_t fds = test::open_fd_count();
  try {
    const ebpfpp::MmapArray<test_mmap_array::slot> wrong(
        ebpfpp::MapSource::fd(skel.maps.plain.fd(), "plain"));
    FAIL("an array without BPF_F_MMAPABLE was mapped");
  } catch (const ebpfpp::Error& e) {
    CHECK(e.code().value() == EINVAL);
    CHECK(std::string(e.what()).find("map array 'plain' into memory") != std::string::npos);
    CHECK(e.hint().find("BPF_F_MMAPABLE") != std::string::npos);
  }
  CHECK(test::open_fd_count() == fds); // the view's duplicate fd went with it

  // create(): a new mapped array, zeroed.
  auto made = ebpfpp::MmapArray<std::uint64_t>::create(4, "made");
  for (std::uint64_t v : made.values()) CHECK(v == 0);
  made.values()[3] = 7;
  CHECK(made.get(3) == 7);
}

} // namespace mmap_array_test
