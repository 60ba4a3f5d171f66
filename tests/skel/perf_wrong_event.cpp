// Must NOT compile: hello_buffer's output carries hello_event records (its EBPFPP_EVENT mark says
// so), not another struct. The first error line must name the perf buffer, its view and the view
// it was given for (tests/skel/must-fail checks it).
#include <cstdint>

#include "hello_buffer.bpf.skel.hpp"

struct wrong_event {
  std::uint32_t pid;
};

std::uint64_t lost(const ebpfpp::PerfBuffer<wrong_event>& events);

std::uint64_t perf_wrong_event(hello_buffer::Skeleton& skel) {
  return lost(skel.maps.output);
}
