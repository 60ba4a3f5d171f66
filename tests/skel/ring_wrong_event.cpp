// Must NOT compile: hello_ringbuf's output carries hello_file_event records (its EBPFPP_EVENT
// mark says so), not another struct. The first error line must name the ring buffer, its view
// and the view it was given for (tests/skel/must-fail checks it).
#include <cstdint>
#include <utility>

#include "hello_ringbuf.bpf.skel.hpp"

struct wrong_event {
  std::uint32_t pid;
};

void ring_wrong_event(hello_ringbuf::Skeleton& skel) {
  ebpfpp::RingBuffer<wrong_event> events(std::move(skel.maps.output));
}
