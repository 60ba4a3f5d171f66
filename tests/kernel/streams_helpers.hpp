#pragma once
// What the stream tests share: running a raw_tp producer of test_streams.bpf.c with
// bpf_prog_test_run_opts, and checking a record for tearing.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <initializer_list>

#include <bpf/bpf.h>
#include <ebpfpp/ebpfpp.hpp>

#include "test_streams.h"
#include "test_streams.bpf.skel.h"

namespace test {

// Runs a raw_tp program once with up to three u64 arguments (its ctx->args[]).
inline void run_raw_tp(ebpfpp::Program prog, std::initializer_list<std::uint64_t> args) {
  std::array<std::uint64_t, 3> a{};
  std::size_t i = 0;
  for (auto v : args) a[i++] = v;
  bpf_test_run_opts opts;
  ebpfpp::detail::init_opts(opts);
  opts.ctx_in = a.data();
  opts.ctx_size_in = sizeof a;
  const int err = bpf_prog_test_run_opts(prog.fd(), &opts);
  REQUIRE_MESSAGE(err == 0, "test_run " << prog.name() << ": " << std::strerror(errno));
}

// Every field derives from seq: a record mixing two writes fails this.
inline bool intact(const stream_event& e) {
  return e.a == e.seq * TEST_STREAMS_MIX_A && e.b == ~e.seq && e.c == (e.seq ^ TEST_STREAMS_MIX_C);
}

inline ebpfpp::Skeleton<test_streams_bpf> load_streams() {
  return ebpfpp::Skeleton<test_streams_bpf>::open_and_load();
}

} // namespace test
