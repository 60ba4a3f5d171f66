// The network examples end to end, as processes, against datagrams the test sent over a veth
// pair between two private network namespaces.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <sched.h>
#include <sys/prctl.h>

#include "kernel/helpers.hpp"
#include "kernel/netns.hpp"

namespace {

// Runs `argv` inside `ns`, its stdout and stderr captured.
test::Child spawn_in(const test::Netns& ns, const std::vector<std::string>& argv) {
  int out[2], err[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::setns(ns.fd(), CLONE_NEWNET) != 0) ::_exit(126);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  test::Child c;
  c.pid = pid;
  c.out = out[0];
  c.err = err[0];
  return c;
}

std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of('\n');
  if (end == std::string::npos) return {};
  const auto start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
}

} // namespace

TEST_CASE("xdp-count counts and drops exactly the datagrams sent to it") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::xdp)) EBPFPP_SKIP(*r);
  constexpr int dropped = 30, passed = 20;
  constexpr std::uint16_t port = 4545;
  test::VethPair pair;
  auto child =
      spawn_in(pair.a, {(test::examples_dir() / "xdp-count").string(), "--generic",
                        "--drop-udp-port", std::to_string(port), "-d", "30", pair.ifname_a});
  const std::string err = test::read_until(
      child.err, [](const std::string& t) { return t.find('\n') != std::string::npos; },
      std::chrono::seconds(10));
  REQUIRE_MESSAGE(err.find("attached XDP (generic) on 'veth-a'") != std::string::npos, err);

  REQUIRE(test::send_udp(pair.b, pair.addr_a, port, dropped) == dropped);
  REQUIRE(test::send_udp(pair.b, pair.addr_a, port + 1, passed) == passed);
  ::usleep(1200 * 1000); // at least one periodic line after the datagrams
  ::kill(child.pid, SIGINT);
  const auto status = child.wait(std::chrono::seconds(10));
  REQUIRE(status);
  CHECK(*status == 0); // Ctrl-C is a normal end
  const std::string out = test::read_until(
      child.out, [](const std::string&) { return false; }, std::chrono::seconds(1));
  const std::string line = last_line(out);
  CAPTURE(out);
  CHECK(line.starts_with(fmt::format("udp: {}  tcp: 0  icmp: 0", dropped + passed)));
  CHECK(line.find(fmt::format("dropped: {}", dropped)) != std::string::npos);
  CHECK(line.find(fmt::format("top: {} ({})", pair.addr_b, dropped + passed)) != std::string::npos);
}

TEST_CASE("xdp-count names a missing interface and exits 1") {
  test::Netns ns("x");
  auto child = spawn_in(ns, {(test::examples_dir() / "xdp-count").string(), "ebpfpp-nosuch2"});
  const auto status = child.wait(std::chrono::seconds(10));
  REQUIRE(status);
  CHECK(*status == 1);
  const std::string err = test::read_until(
      child.err, [](const std::string&) { return false; }, std::chrono::seconds(1));
  CHECK(err.find("'ebpfpp-nosuch2'") != std::string::npos);
}
