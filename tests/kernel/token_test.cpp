// BPF tokens (6.9+): a bpffs mounted with delegation options for a user namespace lets that
// namespace's root create a token, and the token lets it create maps, load BTF and load programs
// of the delegated kinds that it could not without one. First with raw syscalls (the kernel's
// side alone), then through ebpfpp's Object and Skeleton with OpenOptions::bpf_token_path: a
// socket filter loaded, attached and counting exactly in the user namespace, BTF loaded only
// where btf_load is delegated, and each refusal (a program type, a map type, an attach type not
// delegated) an Error whose hint names the delegation option. Each case forks a child that makes
// its own user and mount namespace: the mounts are the child's, nothing is left behind.
//
// libbpf 1.1 takes no token: its bpf() calls reach the kernel with one through ebpfpp's token
// shim, which this file defines for the whole test binary (token_shim.hpp; it passes every
// other call through, and every call outside a token load).

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <ebpfpp/ebpfpp.hpp>
#include <ebpfpp/token_shim.hpp>

#include "helpers.hpp"
#include "sock_filter.bpf.skel.hpp"

namespace token_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

namespace uapi = ebpfpp::detail::uapi;
constexpr std::uint32_t f_token_fd = uapi::f_token_fd;
constexpr std::size_t map_token_fd_off = uapi::map_token_fd_off;
constexpr std::size_t prog_token_fd_off = uapi::prog_token_fd_off;

long sys_bpf(int cmd, void* attr, unsigned size) {
  return ::syscall(__NR_bpf, cmd, attr, size);
}

// An attr buffer as large as 6.9's union bpf_attr parts we use.
struct Attr {
  alignas(8) unsigned char bytes[sizeof(bpf_attr) + 16] = {};
  bpf_attr& attr() { return *reinterpret_cast<bpf_attr*>(bytes); }
  void set_s32(std::size_t off, int v) { std::memcpy(bytes + off, &v, sizeof v); }
};

int create_counter_map(int token) {
  Attr a;
  a.attr().map_type = BPF_MAP_TYPE_ARRAY;
  a.attr().key_size = 4;
  a.attr().value_size = 8;
  a.attr().max_entries = 1;
  if (token >= 0) {
    a.attr().map_flags = f_token_fd;
    a.set_s32(map_token_fd_off, token);
  }
  return static_cast<int>(sys_bpf(BPF_MAP_CREATE, a.bytes, sizeof a.bytes));
}

// A socket filter that adds 1 to the counter map's only element at each run.
int load_counting_filter(int map_fd, int token) {
  const auto insn = [](int code, int dst, int src, int off, int imm) {
    return bpf_insn{static_cast<std::uint8_t>(code), static_cast<std::uint8_t>(dst & 0xf),
                    static_cast<std::uint8_t>(src & 0xf), static_cast<std::int16_t>(off), imm};
  };
  const bpf_insn insns[] = {
      insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0), // key = 0
      insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
      insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4),
      insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd),
      insn(0, 0, 0, 0, 0),
      insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
      insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 0), // no element: done
      insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1),
      insn(BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_0, BPF_REG_1, 0, BPF_ADD), // count += 1
      insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0),
      insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  static const char license[] = "GPL";
  Attr a;
  a.attr().prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.attr().insn_cnt = std::size(insns);
  a.attr().insns = reinterpret_cast<std::uintptr_t>(insns);
  a.attr().license = reinterpret_cast<std::uintptr_t>(license);
  if (token >= 0) {
    a.attr().prog_flags = f_token_fd;
    a.set_s32(prog_token_fd_off, token);
  }
  return static_cast<int>(sys_bpf(BPF_PROG_LOAD, a.bytes, sizeof a.bytes));
}

void send_fd(int sock, int fd) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  (void)::sendmsg(sock, &msg, 0);
}

int recv_fd(int sock) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  if (::recvmsg(sock, &msg, 0) != 1) return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

bool write_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

bool unprivileged_bpf_off() {
  char c = '0';
  const int fd = ::open("/proc/sys/kernel/unprivileged_bpf_disabled", O_RDONLY | O_CLOEXEC);
  if (fd >= 0 && ::read(fd, &c, 1) != 1) c = '0';
  if (fd >= 0) ::close(fd);
  return c != '0';
}

// Brings the calling thread's network namespace's loopback up: "" when done, else why not.
std::string loopback_up() {
  const ebpfpp::detail::UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (!s || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0)
    return fmt::format("read lo's flags: {}", std::strerror(errno));
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0)
    return fmt::format("bring lo up: {}", std::strerror(errno));
  return {};
}

// What a child does with the bpffs mount (an fsmount fd) it got: "" when all held, else what
// went wrong.
using Body = std::function<std::string(int mnt)>;

// The child's part, in a new user and mount namespace: a bpffs context for the parent to
// configure, then `body` with the mount it gets back.
std::string in_user_namespace(int sock, const Body& body) {
  if (::unshare(CLONE_NEWUSER) != 0) return fmt::format("unshare(user): {}", std::strerror(errno));
  char go = 0;
  if (::write(sock, &go, 1) != 1 || ::read(sock, &go, 1) != 1) return "sync with the parent";
  if (::unshare(CLONE_NEWNS) != 0) return fmt::format("unshare(mount): {}", std::strerror(errno));
  // A network namespace of its own with its loopback up, for the filter cases' UDP sockets: the
  // caller's may have lo down (a qemu guest's first namespace does), and the user namespace's
  // root may bring up only a namespace it owns.
  if (::unshare(CLONE_NEWNET) != 0) return fmt::format("unshare(net): {}", std::strerror(errno));
  if (const std::string err = loopback_up(); !err.empty()) return err;
  const int fs = ::fsopen("bpf", 0);
  if (fs < 0) return fmt::format("fsopen(bpf) in the user namespace: {}", std::strerror(errno));
  send_fd(sock, fs);
  const int mnt = recv_fd(sock);
  if (mnt < 0) return "no bpffs mount from the parent";
  try {
    return body(mnt);
  } catch (const std::exception& e) {
    return fmt::format("unexpected exception: {}", e.what());
  }
}

using Delegation = std::vector<std::pair<const char*, const char*>>;

// Forks a child into a user and mount namespace of its own, mounts a bpffs for it with
// `delegation` (only root of the initial namespace may set the options) and runs `body` there.
// "" when all held, else what went wrong, on either side.
std::string with_delegated_bpffs(const Delegation& delegation, const Body& body) {
  int socks[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, socks) == 0);
  int verdict_pipe[2];
  REQUIRE(::pipe2(verdict_pipe, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(socks[0]);
    ::close(verdict_pipe[0]);
    const std::string verdict = in_user_namespace(socks[1], body);
    [[maybe_unused]] auto w = ::write(verdict_pipe[1], verdict.data(), verdict.size());
    ::_exit(0);
  }
  ::close(socks[1]);
  ::close(verdict_pipe[1]);
  const int sock = socks[0];

  // Parent: map the child's root to ours, then give its bpffs context the delegation options
  // and create the mount.
  std::string problem;
  char go = 0;
  if (::read(sock, &go, 1) != 1) problem = "the child did not get to its user namespace";
  if (problem.empty() && !(write_file(fmt::format("/proc/{}/uid_map", pid), "0 0 1") &&
                           write_file(fmt::format("/proc/{}/setgroups", pid), "deny") &&
                           write_file(fmt::format("/proc/{}/gid_map", pid), "0 0 1")))
    problem = fmt::format("id maps: {}", std::strerror(errno));
  if (problem.empty() && ::write(sock, &go, 1) != 1) problem = "sync with the child";
  int fs = -1, mnt = -1;
  if (problem.empty() && (fs = recv_fd(sock)) < 0) problem = "no bpffs context from the child";
  for (const auto& [option, value] : delegation)
    if (problem.empty() && ::fsconfig(fs, FSCONFIG_SET_STRING, option, value, 0) != 0)
      problem = fmt::format("fsconfig {}={}: {}", option, value, std::strerror(errno));
  if (problem.empty() && ::fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    problem = fmt::format("fsconfig create: {}", std::strerror(errno));
  if (problem.empty() && (mnt = ::fsmount(fs, 0, 0)) < 0)
    problem = fmt::format("fsmount: {}", std::strerror(errno));
  if (problem.empty()) send_fd(sock, mnt);
  if (fs >= 0) ::close(fs);
  if (mnt >= 0) ::close(mnt);
  ::close(sock); // the child's recv_fd ends if the parent gave up

  std::string verdict;
  char buf[512];
  for (ssize_t n; (n = ::read(verdict_pipe[0], buf, sizeof buf)) > 0;)
    verdict.append(buf, static_cast<std::size_t>(n));
  ::close(verdict_pipe[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    verdict += fmt::format(" (the child ended with status {:#x})", status);
  return problem.empty() ? verdict : problem + "; " + verdict;
}

// The raw syscalls' test: a token, then a map, a program and `runs` runs of it.
std::string raw_token_loads(int mnt, std::uint32_t runs) {
  // Without the token, this namespace's root has no CAP_BPF that counts.
  if (unprivileged_bpf_off()) {
    const int m = create_counter_map(-1);
    if (m >= 0) return "created a map in the user namespace without a token";
    if (errno != EPERM) return fmt::format("map without a token: {}", std::strerror(errno));
  }

  // fsmount gives an O_PATH fd, which BPF_TOKEN_CREATE does not take: open the mount's root.
  const int bpffs = ::openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (bpffs < 0) return fmt::format("open the bpffs mount: {}", std::strerror(errno));
  const int token = uapi::token_create(bpffs);
  if (token < 0) return fmt::format("BPF_TOKEN_CREATE: {}", std::strerror(errno));
  const int map = create_counter_map(token);
  if (map < 0) return fmt::format("map with the token: {}", std::strerror(errno));
  const int prog = load_counting_filter(map, token);
  if (prog < 0) return fmt::format("program with the token: {}", std::strerror(errno));
  unsigned char packet[64] = {};
  LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet, .data_size_in = sizeof packet,
              .repeat = static_cast<int>(runs));
  if (bpf_prog_test_run_opts(prog, &run) != 0)
    return fmt::format("test run: {}", std::strerror(errno));
  std::uint32_t key = 0;
  std::uint64_t count = 0;
  if (bpf_map_lookup_elem(map, &key, &count) != 0)
    return fmt::format("lookup: {}", std::strerror(errno));
  if (count != runs) return fmt::format("counted {} runs of {}", count, runs);
  return "";
}

// --- through ebpfpp ---------------------------------------------------------------------------

// What went wrong, in the child: each failed expectation adds a line.
struct Problems {
  std::string text;
  void expect(bool ok, const std::string& what) {
    if (!ok) text += what + "\n";
  }
};

// The path of the mount an fsmount fd holds (its root, as BPF_TOKEN_CREATE wants).
std::string mount_path(int mnt) { return fmt::format("/proc/self/fd/{}", mnt); }

// The BTF object id of a loaded program (0: loaded without BTF).
std::uint32_t prog_btf_id(int prog_fd) {
  bpf_prog_info info{};
  __u32 len = sizeof info;
  return bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0 ? info.btf_id : ~0U;
}

int udp_loopback(std::uint16_t& port) {
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (s < 0 || ::bind(s, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return -1;
  port = ntohs(sa.sin_port);
  return s;
}

// Attaches the skeleton's filter to a UDP socket, sends it three datagrams (one starting with
// 'X', which it drops) and checks what arrived and what the map counted.
void filter_counts(sock_filter::Skeleton& skel, Problems& p) {
  std::uint16_t port = 0, unused = 0;
  const ebpfpp::detail::UniqueFd rx(udp_loopback(port)), tx(udp_loopback(unused));
  p.expect(rx && tx, "UDP sockets on the loopback");
  if (!rx || !tx) return;
  const ebpfpp::SocketFilter filter(skel.progs.drop_x, rx.get());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (const std::string payload : {"a1", "X1", "b2"})
    p.expect(::sendto(tx.get(), payload.data(), payload.size(), 0,
                      reinterpret_cast<const sockaddr*>(&to), sizeof to) == 2,
             "send " + payload);
  std::vector<std::string> got;
  for (pollfd pfd{rx.get(), POLLIN, 0}; ::poll(&pfd, 1, 200) == 1;) {
    char buf[64];
    const ssize_t n = ::recv(rx.get(), buf, sizeof buf, 0);
    if (n < 0) break;
    got.emplace_back(buf, static_cast<std::size_t>(n));
  }
  p.expect(got == std::vector<std::string>{"a1", "b2"},
           fmt::format("received {} datagrams, not a1 and b2", got.size()));
  const auto kept = skel.maps.counts.get(0), dropped = skel.maps.counts.get(1);
  p.expect(kept == 2 && dropped == 1,
           fmt::format("counted {} kept, {} dropped (2, 1)", kept, dropped));
}

// Runs `load` and checks that it throws an Error with `errnum` whose action and hint contain
// the given texts.
template <class Load>
void expect_refused(Problems& p, const std::string& what, Load&& load, int errnum,
                    const std::vector<std::string>& in_action,
                    const std::vector<std::string>& in_hint) {
  try {
    load();
    p.expect(false, what + ": no Error");
  } catch (const ebpfpp::Error& e) {
    p.expect(e.errnum() == errnum, fmt::format("{}: errno {} ({}), not {}", what, e.errnum(),
                                               e.what(), errnum));
    for (const auto& t : in_action)
      p.expect(e.action().find(t) != std::string::npos,
               fmt::format("{}: action '{}' lacks '{}'", what, e.action(), t));
    for (const auto& t : in_hint)
      p.expect(e.hint().find(t) != std::string::npos,
               fmt::format("{}: hint '{}' lacks '{}'", what, e.hint(), t));
  }
}

// The bytes of a built object, read by the parent: the child's root, in a user namespace, may
// not read a build tree that another user owns (a 0700 home directory).
std::vector<std::byte> object_bytes(const char* name) {
  std::ifstream in(test::bpf_dir() / name, std::ios::binary);
  REQUIRE(in);
  std::vector<char> chars{std::istreambuf_iterator<char>(in), {}};
  std::vector<std::byte> out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

const Delegation socket_filters = {{"delegate_cmds", "map_create:prog_load:btf_load"},
                                   {"delegate_maps", "array"},
                                   {"delegate_progs", "socket_filter"},
                                   {"delegate_attachs", "cgroup_inet_ingress"}};

} // namespace

TEST_CASE("bpf_token: a token from a delegating bpffs loads a map and a program in a user "
          "namespace, which count each run" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_token)) EBPFPP_SKIP(*r);
  const Delegation any = {{"delegate_cmds", "any"},
                          {"delegate_maps", "any"},
                          {"delegate_progs", "any"},
                          {"delegate_attachs", "any"}};
  const std::string verdict = with_delegated_bpffs(any, [](int mnt) { return raw_token_loads(mnt, 5); });
  CHECK_MESSAGE(verdict.empty(), verdict);
}

TEST_CASE("bpf_token: a Skeleton opened with a token in a user namespace loads with BTF, "
          "attaches a socket filter and counts exactly" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_token)) EBPFPP_SKIP(*r);
  const std::string verdict = with_delegated_bpffs(socket_filters, [](int mnt) {
    Problems p;
    if (unprivileged_bpf_off())
      expect_refused(p, "the load without a token", [] { sock_filter::Skeleton::open_and_load(); },
                     EPERM, {}, {});
    auto skel = sock_filter::Skeleton::open_and_load({.bpf_token_path = mount_path(mnt)});
    // BTF needs CAP_BPF even where unprivileged BPF is allowed: only the token loaded it.
    p.expect(prog_btf_id(skel.progs.drop_x.fd()) != 0, "the program was loaded without BTF");
    filter_counts(skel, p);
    return p.text;
  });
  CHECK_MESSAGE(verdict.empty(), verdict);
}

TEST_CASE("bpf_token: a program type or map type the token does not delegate is an Error "
          "naming the delegation option" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_token)) EBPFPP_SKIP(*r);
  const std::vector<std::byte> hello = object_bytes("hello.bpf.o"),
                               hash_map = object_bytes("test_no_programs.bpf.o");
  const std::string verdict = with_delegated_bpffs(socket_filters, [&](int mnt) {
    Problems p;
    const ebpfpp::OpenOptions with_token{.bpf_token_path = mount_path(mnt)};
    const std::size_t fds = test::open_fd_count();
    expect_refused(
        p, "a kprobe program",
        [&] { ebpfpp::Object::open_memory(hello, "hello", with_token).load(); },
        EPERM, {"program 'hello_kprobe'"},
        {"does not delegate program type 'kprobe'", "delegate_progs including kprobe",
         "delegate_progs=socket_filter"});
    expect_refused(
        p, "a hash map",
        [&] { ebpfpp::Object::open_memory(hash_map, "test_no_programs", with_token).load(); },
        EPERM, {"create map 'only_map'"},
        {"does not delegate map type 'hash'", "delegate_maps including hash",
         "delegate_maps=array"});
    p.expect(test::open_fd_count() == fds, "the refused loads left fds open");
    return p.text;
  });
  CHECK_MESSAGE(verdict.empty(), verdict);
}

TEST_CASE("bpf_token: without btf_load delegated an Object loads without BTF, and without "
          "attach type 0 libbpf's first check is refused naming delegate_attachs" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_token)) EBPFPP_SKIP(*r);
  const Delegation no_btf = {{"delegate_cmds", "map_create:prog_load"},
                             {"delegate_maps", "array"},
                             {"delegate_progs", "socket_filter"},
                             {"delegate_attachs", "any"}};
  std::string verdict = with_delegated_bpffs(no_btf, [](int mnt) {
    Problems p;
    auto skel = sock_filter::Skeleton::open_and_load({.bpf_token_path = mount_path(mnt)});
    p.expect(prog_btf_id(skel.progs.drop_x.fd()) == 0, "BTF loaded without btf_load delegated");
    filter_counts(skel, p);
    return p.text;
  });
  CHECK_MESSAGE(verdict.empty(), verdict);
  const Delegation no_attach_zero = {{"delegate_cmds", "any"},
                                     {"delegate_maps", "any"},
                                     {"delegate_progs", "any"},
                                     {"delegate_attachs", "xdp"}};
  verdict = with_delegated_bpffs(no_attach_zero, [](int mnt) {
    Problems p;
    expect_refused(
        p, "any load",
        [&] { sock_filter::Skeleton::open_and_load({.bpf_token_path = mount_path(mnt)}); }, EPERM,
        {"load BPF object 'sock_filter_bpf'"}, {"delegate_attachs=cgroup_inet_ingress"});
    return p.text;
  });
  CHECK_MESSAGE(verdict.empty(), verdict);
}

TEST_CASE("bpf_token: a token path that is no delegating bpffs of this namespace is an Error at "
          "open") {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_token)) EBPFPP_SKIP(*r);
  const auto object = test::bpf_dir() / "sock_filter.bpf.o";
  const std::size_t fds = test::open_fd_count();
  const auto refused = [&](const std::filesystem::path& path, int errnum, const char* hint) {
    CAPTURE(path);
    try {
      (void)ebpfpp::Object::open_file(object, {.bpf_token_path = path});
      FAIL("opened with a token from " << path);
    } catch (const ebpfpp::Error& e) {
      CHECK(e.errnum() == errnum);
      CHECK_MESSAGE(std::string(e.action()).find("OpenOptions::bpf_token_path") !=
                        std::string::npos,
                    e.what());
      CHECK_MESSAGE(e.hint().find(hint) != std::string::npos, e.what());
    }
  };
  refused(test::bpf_dir(), EINVAL, "is not the root of a bpffs mount");
  refused(test::bpf_dir() / "no such dir", ENOENT, "");
  // The initial namespace's bpffs (root of the initial user namespace needs no token).
  if (ebpfpp::detail::on_bpffs("/sys/fs/bpf"))
    refused("/sys/fs/bpf", EOPNOTSUPP, "leave OpenOptions::bpf_token_path empty");
  CHECK(test::open_fd_count() == fds);
}

} // namespace token_test
