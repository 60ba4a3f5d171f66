// The consumer's program: load its skeleton through ebpfpp, attach, cause events, check them.
#include <cstdio>

#include <sys/syscall.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "minimal.bpf.skel.h"

int main() try {
  auto skel = ebpfpp::Skeleton<minimal_bpf>::open();
  skel->rodata->ebpfpp_target_tgid = ::getpid();
  skel.load();
  ebpfpp::Tracepoint tp(skel.program("count_getppid"), "syscalls", "sys_enter_getppid");
  for (int i = 0; i < 42; ++i) ::syscall(SYS_getppid);
  std::printf("calls seen: %llu\n", static_cast<unsigned long long>(skel->bss->calls));
  return skel->bss->calls == 42 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "minimal: %s\n", e.what());
  return 1;
}
