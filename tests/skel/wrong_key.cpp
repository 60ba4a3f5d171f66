// Must NOT compile: hello_map's counter_table is keyed by a u32 uid (its BTF says so), and a u64
// key would be cut to 32 bits. The first error line must name the map and both key types
// (tests/skel/must-fail checks it).
#include <cstdint>

#include "hello_map.bpf.skel.hpp"

void wrong_key(hello_map::Skeleton& skel) {
  (void)skel.maps.counter_table.lookup(std::uint64_t{1});
}
