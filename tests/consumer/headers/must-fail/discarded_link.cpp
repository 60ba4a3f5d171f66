// expect-error: nodiscard
// Must NOT compile with -Werror: a Link that is not kept detaches at once, so discarding one is
// diagnosed ([[nodiscard]] on Link, the attach types' constructors and attach()).
#include <ebpfpp/link.hpp>

void discard(ebpfpp::Program prog) {
  ebpfpp::Tracepoint(prog, "syscalls", "sys_enter_execve");
}
