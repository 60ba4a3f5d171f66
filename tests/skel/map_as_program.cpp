// Must NOT compile: test_skel's points is a hash map, not a program to attach. The first error
// line must name the map, its view type and the Program it was given for (tests/skel/must-fail
// checks it).
#include <ebpfpp/link.hpp>

#include "test_skel.bpf.skel.hpp"

void map_as_program(test_skel::Skeleton& skel) {
  ebpfpp::RawTracepoint link(skel.maps.points, "sys_enter");
}
