// BPF tokens (6.9+): a bpffs mounted with delegation options for a user namespace lets that
// namespace's root create a token, and the token lets it create a map and load a program that
// it could not without one. ebpfpp only probes for tokens (kernel.hpp); this proves the probe's
// "yes" on a kernel that says so, with raw syscalls (libbpf 1.1 knows no tokens).

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <linux/bpf.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "helpers.hpp"

namespace token_test {  // one per file: the test binaries are unity builds (tests/meson.build)

namespace {

// uapi newer than Debian 12's 6.1 headers (include/uapi/linux/bpf.h of 6.9).
constexpr int cmd_token_create = 36;
constexpr std::uint32_t f_token_fd = 1U << 16; // BPF_F_TOKEN_FD, in map_flags and prog_flags
// BPF_MAP_CREATE: value_type_btf_obj_fd (s32), then map_token_fd, after map_extra.
constexpr std::size_t map_token_fd_off = offsetof(bpf_attr, map_extra) + 8 + 4;
// BPF_PROG_LOAD: log_true_size (u32), then prog_token_fd, after core_relo_rec_size.
constexpr std::size_t prog_token_fd_off = offsetof(bpf_attr, core_relo_rec_size) + 4 + 4;

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

// The child's part, in a new user and mount namespace: a bpffs context for the parent to
// configure, a token from the mount it gets back, then a map, a program and runs. "" when all
// held, else what went wrong.
std::string in_user_namespace(int sock, std::uint32_t runs) {
  if (::unshare(CLONE_NEWUSER) != 0) return fmt::format("unshare(user): {}", std::strerror(errno));
  char go = 0;
  if (::write(sock, &go, 1) != 1 || ::read(sock, &go, 1) != 1) return "sync with the parent";
  if (::unshare(CLONE_NEWNS) != 0) return fmt::format("unshare(mount): {}", std::strerror(errno));
  const int fs = ::fsopen("bpf", 0);
  if (fs < 0) return fmt::format("fsopen(bpf) in the user namespace: {}", std::strerror(errno));
  send_fd(sock, fs);
  const int mnt = recv_fd(sock);
  if (mnt < 0) return "no bpffs mount from the parent";

  // Without the token, this namespace's root has no CAP_BPF that counts.
  const bool unprivileged_off = [] {
    char c = '0';
    const int fd = ::open("/proc/sys/kernel/unprivileged_bpf_disabled", O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && ::read(fd, &c, 1) != 1) c = '0';
    if (fd >= 0) ::close(fd);
    return c != '0';
  }();
  if (unprivileged_off) {
    const int m = create_counter_map(-1);
    if (m >= 0) return "created a map in the user namespace without a token";
    if (errno != EPERM) return fmt::format("map without a token: {}", std::strerror(errno));
  }

  // fsmount gives an O_PATH fd, which BPF_TOKEN_CREATE does not take: open the mount's root.
  const int bpffs = ::openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (bpffs < 0) return fmt::format("open the bpffs mount: {}", std::strerror(errno));
  struct {
    std::uint32_t flags, bpffs_fd;
  } create{0, static_cast<std::uint32_t>(bpffs)};
  const int token = static_cast<int>(sys_bpf(cmd_token_create, &create, sizeof create));
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

} // namespace

TEST_CASE("bpf_token: a token from a delegating bpffs loads a map and a program in a user "
          "namespace, which count each run" *
          doctest::test_suite("vm")) {
  if (auto r = test::skip_reason(ebpfpp::kernel::Feature::bpf_token)) EBPFPP_SKIP(*r);
  int socks[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, socks) == 0);
  int verdict_pipe[2];
  REQUIRE(::pipe2(verdict_pipe, O_CLOEXEC) == 0);
  constexpr std::uint32_t runs = 5;
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(socks[0]);
    ::close(verdict_pipe[0]);
    const std::string verdict = in_user_namespace(socks[1], runs);
    [[maybe_unused]] auto w = ::write(verdict_pipe[1], verdict.data(), verdict.size());
    ::_exit(0);
  }
  ::close(socks[1]);
  ::close(verdict_pipe[1]);
  const int sock = socks[0];

  // Parent: map the child's root to ours, then give its bpffs context the delegation options
  // (only root of the initial namespace may) and create the mount.
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
  if (problem.empty()) {
    for (const char* option :
         {"delegate_cmds", "delegate_maps", "delegate_progs", "delegate_attachs"})
      if (problem.empty() && ::fsconfig(fs, FSCONFIG_SET_STRING, option, "any", 0) != 0)
        problem = fmt::format("fsconfig {}=any: {}", option, std::strerror(errno));
  }
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
  CHECK_MESSAGE(problem.empty(), problem);
  CHECK_MESSAGE(verdict.empty(), verdict);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

} // namespace token_test
