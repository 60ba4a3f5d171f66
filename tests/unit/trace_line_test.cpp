#include <doctest/doctest.h>

#include <ebpfpp/trace_pipe.hpp>

namespace trace_line_test {  // one per file: the test binaries are unity builds (tests/meson.build)

using ebpfpp::parse_trace_line;
using namespace std::chrono_literals;

TEST_CASE("a 5.9+ trace line parses into task, pid, cpu, flags, timestamp and message") {
  auto l = parse_trace_line(
      "            bash-1234    [001] d..31  5678.123456: bpf_trace_printk: Hello World!");
  REQUIRE(l);
  CHECK(l->task == "bash");
  CHECK(l->pid == 1234);
  CHECK(l->cpu == 1);
  CHECK(l->flags == "d..31");
  CHECK(l->timestamp == 5678s + 123456us);
  CHECK(l->message == "Hello World!");
  CHECK_FALSE(l->tgid);
}

TEST_CASE("a pre-5.9 trace line drops the address before the message") {
  auto l = parse_trace_line("           <...>-30412 [003] .... 63712.530651: 0: Hello World!");
  REQUIRE(l);
  CHECK(l->task == "<...>");
  CHECK(l->pid == 30412);
  CHECK(l->cpu == 3);
  CHECK(l->flags == "....");
  CHECK(l->message == "Hello World!");

  auto hex = parse_trace_line("            node-77    [000] ...1   100.000001: 0x00000001: ping");
  REQUIRE(hex);
  CHECK(hex->message == "ping");
  CHECK(hex->timestamp == 100s + 1us);
}

TEST_CASE("task names keep their spaces and dashes") {
  auto spaced =
      parse_trace_line(" Web Content-4242    [000] d..2.    12.500000: bpf_trace_printk: hi");
  REQUIRE(spaced);
  CHECK(spaced->task == "Web Content");
  CHECK(spaced->pid == 4242);

  auto dashed =
      parse_trace_line("  my-tool-v2-x-9-77    [001] ....     1.000000: bpf_trace_printk: a-b");
  REQUIRE(dashed);
  CHECK(dashed->task == "my-tool-v2-x-9");
  CHECK(dashed->pid == 77);
  CHECK(dashed->message == "a-b");

  // A 15-character comm fills the 16 columns but for one space.
  auto full =
      parse_trace_line(" kworker/u8:2-ev-123     [001] .N...    3.141592: bpf_trace_printk: x");
  REQUIRE(full);
  CHECK(full->task == "kworker/u8:2-ev");
  CHECK(full->pid == 123);
}

TEST_CASE("messages keep colons and brackets") {
  auto l =
      parse_trace_line("            bash-1 [000] d..31 1.000000: bpf_trace_printk: a: [1] b: c");
  REQUIRE(l);
  CHECK(l->message == "a: [1] b: c");
}

TEST_CASE("the tgid column is read when the kernel prints it") {
  auto l = parse_trace_line(
      "            bash-1234    (   1200) [002] d..31  5.000000: bpf_trace_printk: x");
  REQUIRE(l);
  CHECK(l->pid == 1234);
  REQUIRE(l->tgid);
  CHECK(*l->tgid == 1200);
  CHECK(l->cpu == 2);
}

TEST_CASE("a line without flags still parses") {
  auto l = parse_trace_line("            bash-5    [000]  7.250000: bpf_trace_printk: no flags");
  REQUIRE(l);
  CHECK(l->flags.empty());
  CHECK(l->timestamp == 7250ms);
  CHECK(l->message == "no flags");
}

TEST_CASE("lines that are not records are rejected") {
  CHECK_FALSE(parse_trace_line("CPU:1 [LOST 3 EVENTS]"));
  CHECK_FALSE(parse_trace_line(""));
  CHECK_FALSE(parse_trace_line("garbage without fields"));
  CHECK_FALSE(parse_trace_line("            bash-x    [001] d..31  1.0: bpf_trace_printk: m"));
}

TEST_CASE("TracePipe's instance names: ebpfpp-<pid>-<n>, anything else is not ours") {
  using ebpfpp::detail::trace_instance_owner;
  CHECK(trace_instance_owner("ebpfpp-1234-0") == 1234);
  CHECK(trace_instance_owner("ebpfpp-7-42") == 7);
  CHECK_FALSE(trace_instance_owner("ebpfpp-1234"));
  CHECK_FALSE(trace_instance_owner("ebpfpp-1234-"));
  CHECK_FALSE(trace_instance_owner("ebpfpp-0-1"));
  CHECK_FALSE(trace_instance_owner("ebpfpp--1-1"));
  CHECK_FALSE(trace_instance_owner("ebpfpp-12a-1"));
  CHECK_FALSE(trace_instance_owner("ebpfpp-12-1x"));
  CHECK_FALSE(trace_instance_owner("other-12-1"));
  CHECK_FALSE(trace_instance_owner("ebpfpp-bpffs"));
}

} // namespace trace_line_test
