// Handles whose interface was deleted under them (Xdp link and netlink, Tcx, TcClassic): their
// destruction writes nothing to stderr, and what it has to say reaches the log handler at debug
// level, the level a tool silences by default.

#include <doctest/doctest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ebpfpp/ebpfpp.hpp>

#include "kernel/helpers.hpp"
#include "kernel/netns.hpp"
#include "test_network.bpf.skel.h"

namespace vanished_interface_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

using Skel = ebpfpp::Skeleton<test_network_bpf>;
using ebpfpp::LogLevel;
using ebpfpp::TcDirection;

// Everything written to fd 2 while it lives: a memfd in its place (a pipe could fill and block).
class StderrCapture {
public:
  StderrCapture() {
    std::fflush(stderr);
    file_ = ::memfd_create("stderr", MFD_CLOEXEC);
    REQUIRE(file_ >= 0);
    saved_ = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
    REQUIRE(saved_ >= 0);
    REQUIRE(::dup2(file_, 2) == 2);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  ~StderrCapture() {
    restore();
    ::close(file_);
  }

  // Puts stderr back; what was written meanwhile.
  std::string take() {
    restore();
    std::string out;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::pread(file_, buf, sizeof buf, static_cast<off_t>(out.size()))) > 0)
      out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

  int file_ = -1;
  int saved_ = -1;
};

} // namespace

TEST_CASE("handles whose interface vanished detach quietly: nothing on stderr, debug to the log") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::tc)) EBPFPP_SKIP(*r);
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::xdp)) EBPFPP_SKIP(*r);
  const bool tcx = test::kernel_has(ebpfpp::kernel::Feature::tcx);
  auto skel = Skel::open_and_load();
  // The thread's own namespace, where the indexes of the vanished interfaces name others: one
  // with another tool's clsact filter, one with nothing.
  test::Netns home("home");
  test::NetnsScope in_home(home);
  const auto in = [&](const test::Netns& ns, const std::string& command) {
    REQUIRE_MESSAGE(test::sh(fmt::format("ip netns exec {} {}", ns.name(), command)) == 0, command);
  };
  in(home, "ip link add home0 index 40 type veth peer name home1 index 41");
  in(home, "tc qdisc add dev home0 clsact");
  in(home, "tc filter add dev home0 ingress protocol ip pref 10 u32 match ip dst 192.0.2.1/32");
  const auto home_filters = [&] {
    return test::output_of(
        fmt::format("ip netns exec {} tc filter show dev home0 ingress", home.name()));
  };
  const std::string home_before = home_filters();
  REQUIRE(home_before.find("u32") != std::string::npos);

  for (const bool namespace_gone : {false, true}) {
    for (const bool with_handler : {false, true}) {
      CAPTURE(namespace_gone);
      CAPTURE(with_handler);
      std::vector<std::pair<LogLevel, std::string>> logged;
      const std::size_t fds = test::open_fd_count();
      {
        std::optional<test::Netns> away(std::in_place, "away");
        in(*away, "ip link add vanish0 index 40 type veth peer name vanish1 index 41");
        in(*away, "ip link set vanish0 up");
        in(*away, "ip link set vanish1 up");
        std::optional<test::NetnsScope> in_away(std::in_place, *away);
        std::vector<ebpfpp::Link> handles;
        handles.push_back(
            ebpfpp::Xdp(skel.program("xdp_count"), "vanish0", ebpfpp::XdpMode::generic));
        handles.push_back(ebpfpp::Xdp::replace(skel.program("xdp_count"), "vanish1",
                                               ebpfpp::Program{}, ebpfpp::XdpMode::generic));
        if (tcx)
          handles.push_back(ebpfpp::Tcx(skel.program("tc_first"), "vanish0", TcDirection::ingress));
        handles.push_back(
            ebpfpp::TcClassic(skel.program("tc_second"), "vanish0", TcDirection::ingress));
        handles.push_back(
            ebpfpp::TcClassic(skel.program("tc_third"), "vanish0", TcDirection::egress));
        handles.push_back(
            ebpfpp::TcClassic(skel.program("tc_second"), "vanish1", TcDirection::ingress));
        // Gone: the pair (deleting one end deletes both), and with `namespace_gone` its
        // namespace too, the handles then being destroyed back in `home`.
        in(*away, "ip link del vanish0");
        if (namespace_gone) {
          in_away.reset();
          away.reset();
        }

        StderrCapture err;
        if (with_handler)
          ebpfpp::set_log_handler(
              [&](LogLevel level, std::string_view text) { logged.emplace_back(level, text); },
              LogLevel::debug);
        handles.clear();
        ebpfpp::set_log_handler({});
        const std::string written = err.take();
        CHECK_MESSAGE(written.empty(), written);
      }
      if (with_handler) {
        // Said, at debug level only: a vanished interface is nothing a tool must act on.
        bool vanish0 = false, vanish1 = false;
        for (const auto& message : logged) { // (clang 14 cannot capture a structured binding)
          const std::string& text = message.second;
          CHECK_MESSAGE(message.first == LogLevel::debug, text);
          vanish0 = vanish0 || text.find("'vanish0'") != std::string::npos;
          vanish1 = vanish1 || text.find("'vanish1'") != std::string::npos;
        }
        CHECK(vanish0);
        CHECK(vanish1);
      }
      // The interfaces that have the same indexes in `home` kept what they had.
      CHECK(home_filters() == home_before);
      CHECK(test::open_fd_count() == fds);
    }
  }
}

} // namespace vanished_interface_test
