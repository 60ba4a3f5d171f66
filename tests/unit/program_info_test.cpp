// Decoding xlated instructions: what the kernel's dump of a program looks like, made by hand.
#include <doctest/doctest.h>

#include <vector>

#include <ebpfpp/program_info.hpp>

namespace program_info_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

bpf_insn insn(std::uint8_t code, std::uint8_t src_reg, std::int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.src_reg = src_reg & 0xf;
  i.imm = imm;
  return i;
}

const bpf_insn exit_insn = insn(BPF_JMP | BPF_EXIT, 0, 0);
const bpf_insn mov_r0 = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0);

} // namespace

TEST_CASE("a subprogram call (src_reg BPF_PSEUDO_CALL) counts as a BPF-to-BPF call") {
  const std::vector<bpf_insn> prog = {insn(BPF_JMP | BPF_CALL, BPF_PSEUDO_CALL, 3), exit_insn,
                                      mov_r0, exit_insn};
  const auto c = ebpfpp::detail::count_calls(prog.data(), prog.size());
  CHECK(c.bpf_to_bpf == 1);
  CHECK(c.tail_calls == 0);
  CHECK(c.hidden_helpers == 0);
}

TEST_CASE("the kernel's dump of a tail call is a call of helper BPF_FUNC_tail_call") {
  const std::vector<bpf_insn> prog = {insn(BPF_JMP | BPF_CALL, 0, BPF_FUNC_tail_call),
                                      insn(BPF_JMP | BPF_CALL, 0, BPF_FUNC_trace_printk),
                                      insn(BPF_JMP | BPF_CALL, 0, BPF_FUNC_tail_call), mov_r0,
                                      exit_insn};
  const auto c = ebpfpp::detail::count_calls(prog.data(), prog.size());
  CHECK(c.tail_calls == 2);
  CHECK(c.bpf_to_bpf == 0);
}

TEST_CASE("kfunc calls are neither subprogram calls nor tail calls") {
  const std::vector<bpf_insn> prog = {
      insn(BPF_JMP | BPF_CALL, BPF_PSEUDO_KFUNC_CALL, BPF_FUNC_tail_call), exit_insn};
  const auto c = ebpfpp::detail::count_calls(prog.data(), prog.size());
  CHECK(c.bpf_to_bpf == 0);
  CHECK(c.tail_calls == 0);
}

TEST_CASE("the second half of a 16-byte load is not read as an instruction") {
  // A ld_imm64 whose second half happens to look like a subprogram call.
  const std::vector<bpf_insn> prog = {insn(BPF_LD | BPF_IMM | BPF_DW, 0, 1),
                                      insn(BPF_JMP | BPF_CALL, BPF_PSEUDO_CALL, 0), exit_insn};
  CHECK(ebpfpp::detail::count_calls(prog.data(), prog.size()).bpf_to_bpf == 0);
}

TEST_CASE("helper ids zeroed by the kernel (kptr_restrict) are counted as hidden") {
  const std::vector<bpf_insn> prog = {insn(BPF_JMP | BPF_CALL, 0, 0), exit_insn};
  CHECK(ebpfpp::detail::count_calls(prog.data(), prog.size()).hidden_helpers == 1);
}

TEST_CASE("the tag prints as 16 hex digits, as bpftool does") {
  ebpfpp::ProgramInfo info;
  info.tag = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  CHECK(info.tag_string() == "0123456789abcdef");
  info.type = BPF_PROG_TYPE_RAW_TRACEPOINT;
  CHECK(info.type_name() == "raw_tracepoint");
}

} // namespace program_info_test
