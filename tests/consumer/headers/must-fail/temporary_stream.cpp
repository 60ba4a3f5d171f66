// expect-error: deleted
// Must NOT compile: a stream's loop reads through the stream object, so looping over one made
// from a temporary would read a destroyed object (the loop's range outlives the temporary).
#include <ebpfpp/trace_pipe.hpp>

void loop_over_temporary() {
  for (const ebpfpp::TraceLine& line : ebpfpp::TracePipe().lines()) (void)line;
}
