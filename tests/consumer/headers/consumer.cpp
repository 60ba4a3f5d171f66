// A project that copied include/ebpfpp into its tree and builds with plain compiler flags (or
// pkg-config). Exercises every header through the umbrella and runs a kernel probe.
#include <cstdio>

#include <ebpfpp/ebpfpp.hpp>

int main() {
  std::printf("btf: %d, ring buffer: %d, kprobes: %d\n", ebpfpp::kernel::has_btf(),
              ebpfpp::kernel::has_ring_buffer(), ebpfpp::kernel::has_kprobes());
  try {
    auto obj = ebpfpp::Object::open_file("/nonexistent.bpf.o");
  } catch (const ebpfpp::Error& e) {
    return e.errnum() == ENOENT ? 0 : 1;
  }
  return 1;
}
