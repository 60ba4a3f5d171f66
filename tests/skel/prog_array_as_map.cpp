// Must NOT compile: hello_tail's syscall is a prog array (programs by syscall number), not a hash
// map of numbers. The first error line must name the map, its view and the view it was given for
// (tests/skel/must-fail checks it).
#include <cstdint>
#include <utility>

#include <ebpfpp/hash_map.hpp>

#include "hello_tail.bpf.skel.hpp"

void prog_array_as_map(hello_tail::Skeleton& skel) {
  ebpfpp::Map<std::uint32_t, std::uint32_t> table(std::move(skel.maps.syscall));
}
