// Must NOT compile: hello_exec is one of hello_tail's programs, not its prog array (that is
// skel.maps.syscall). The first error line must name the program, its type and the map view it
// was given for (tests/skel/must-fail checks it).
#include "hello_tail.bpf.skel.hpp"

void program_as_map(hello_tail::Skeleton& skel) {
  ebpfpp::ProgArray table(skel.progs.hello_exec);
  table.set(0, skel.progs.hello_exec);
}
