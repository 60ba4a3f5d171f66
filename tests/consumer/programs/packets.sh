# shellcheck shell=bash disable=SC2154  # work, build, src: set by tests/consumer/run
# docs/12's packets (docs/programs/packets/), sourced by tests/consumer/run once it is built in
# $build. Two network namespaces joined by a veth pair; packets runs on veth-a, the check sends
# exact traffic from the other side, and the last line must count exactly that:
#   30 UDP datagrams to the drop port   in, counted, dropped by XDP (the receiver never sees them)
#   20 UDP datagrams to a bound port    in, counted, passed (the receiver gets all 20)
#    3 TCP connects to a closed port    3 SYNs in, 3 RSTs out (TC on egress sees those)
# once with tcx (where the kernel has it) and once with --tc-classic. Nothing may be left on the
# interface after. The namespaces are named like the kernel tests' (ebpfpp-test-<pid>-...), whose
# harness removes those of a dead run.
ns_a="ebpfpp-test-$$-packets-a" ns_b="ebpfpp-test-$$-packets-b"
addr_a=10.203.0.1 addr_b=10.203.0.2 drop_port=4545 pass_port=4546 closed_port=4547
ip netns add "$ns_a"
on_exit ip netns del "$ns_a"
ip netns add "$ns_b"
on_exit ip netns del "$ns_b"
for ns in "$ns_a" "$ns_b"; do # no IPv6: no router solicitations to count besides ours
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$ns_a" link add veth-a type veth peer name veth-b netns "$ns_b"
ip -n "$ns_a" addr add "$addr_a/24" dev veth-a
ip -n "$ns_b" addr add "$addr_b/24" dev veth-b
ip -n "$ns_a" link set veth-a up
ip -n "$ns_b" link set veth-b up

expected="in: udp 50 tcp 3 icmp 0 other 0 dropped 30  out: udp 0 tcp 3 icmp 0 other 0"
run_packets() { # extra packets flags...
  local out="$work/packets.out" err="$work/packets.err" pid status=0 received
  ip netns exec "$ns_a" "$build/packets" --drop-udp-port "$drop_port" -d 20 "$@" veth-a \
    >"$out" 2>"$err" &
  pid=$!
  for _ in $(seq 100); do grep -q '^packets: attached' "$err" && break; sleep 0.1; done
  grep -q '^packets: attached' "$err" || { cat "$err"; echo "packets: never attached" >&2; exit 1; }
  # The receiver, bound before anything is sent: it prints how many datagrams it got.
  ip netns exec "$ns_a" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(5)
open(sys.argv[3], "w").close()
n = 0
try:
    while n < 20:
        s.recv(2048)
        n += 1
except socket.timeout:
    pass
print(n)' "$addr_a" "$pass_port" "$work/bound" >"$work/received" &
  local receiver=$!
  for _ in $(seq 100); do [ -f "$work/bound" ] && break; sleep 0.05; done
  ip netns exec "$ns_b" python3 -c '
import socket, sys
a, drop, keep, closed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for _ in range(3):  # first, so ARP is resolved before the datagrams go
    t = socket.socket()
    t.settimeout(5)
    try:
        t.connect((a, closed))
        sys.exit("a connect to the closed port succeeded")
    except ConnectionRefusedError:
        pass
    t.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port, n in ((drop, 30), (keep, 20)):
    for _ in range(n):
        u.sendto(b"x" * 32, (a, port))' "$addr_a" "$drop_port" "$pass_port" "$closed_port"
  wait "$receiver"
  received=$(cat "$work/received")
  rm -f "$work/bound"
  kill -TERM "$pid"
  wait "$pid" || status=$?
  cat "$err"
  tail -n 1 "$out"
  [ "$status" = 0 ] || { echo "packets $*: exit status $status after SIGTERM" >&2; exit 1; }
  [ "$received" = 20 ] ||
    { echo "packets $*: the receiver got $received of the 20 datagrams passed" >&2; exit 1; }
  [ "$(tail -n 1 "$out")" = "$expected" ] ||
    { echo "packets $*: the last line is not '$expected'" >&2; exit 1; }
  if ip -n "$ns_a" link show veth-a | grep -q xdp; then
    echo "packets $*: an XDP program is left on veth-a" >&2; exit 1
  fi
  if [ -n "$(tc -n "$ns_a" filter show dev veth-a egress)" ]; then
    echo "packets $*: a TC filter is left on veth-a" >&2; exit 1
  fi
}
run_packets
run_packets --tc-classic
grep -q 'clsact' "$work/packets.err" ||
  { echo "packets --tc-classic: not attached through the clsact qdisc" >&2; exit 1; }
if tc -n "$ns_a" qdisc show dev veth-a | grep -q clsact; then
  echo "packets --tc-classic: the clsact qdisc it made is left on veth-a" >&2; exit 1
fi
# A name that is not an interface: exit status 1 and an Error that names it.
status=0
ip netns exec "$ns_a" "$build/packets" -d 1 ebpfpp-nosuch 2>"$work/nosuch.err" || status=$?
if [ "$status" != 1 ] || ! grep -q "^packets: .*'ebpfpp-nosuch'" "$work/nosuch.err"; then
  cat "$work/nosuch.err"
  echo "packets: a missing interface gave status $status, or an Error without its name" >&2
  exit 1
fi
