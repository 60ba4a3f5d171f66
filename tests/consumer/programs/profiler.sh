# shellcheck shell=bash disable=SC2154  # work, build, src: set by tests/consumer/run
# docs/13's profiler (docs/programs/profiler/), sourced by tests/consumer/run once it is built in
# $build. It profiles a process of known shape, main -> ebpfpp_spin_outer -> ebpfpp_spin_inner
# (which spins), with -p; the spinner is killed before the profiler reports, so its user frames
# are named only because the profiler tracked it while it lived. The folded output must be
# well-formed, name that chain in that order, and give it at least 80% of the samples.
cat >"$work/spin.c" <<'C'
volatile int stop; /* never set: the loop must look as if it could end, or the compiler makes
                      inner noreturn and outer's return address falls past outer's end */
__attribute__((noinline)) void ebpfpp_spin_inner(volatile unsigned long *n)
{
	while (!stop)
		++*n;
}
__attribute__((noinline)) void ebpfpp_spin_outer(volatile unsigned long *n)
{
	ebpfpp_spin_inner(n);
	++*n; /* not a tail call: outer stays on the stack */
}
int main(void)
{
	volatile unsigned long n = 0;
	ebpfpp_spin_outer(&n);
	return (int)n;
}
C
# Frame pointers: bpf_get_stackid walks the user stack by them. -O0: no inlining, no tail calls.
cc -O0 -fno-omit-frame-pointer -o "$work/ebpfpp-spin" "$work/spin.c"
"$work/ebpfpp-spin" &
spinner=$!
on_exit "kill -KILL $spinner 2>/dev/null"
out="$work/profiler.out" err="$work/profiler.err"
"$build/profiler" -F 199 -p "$spinner" -d 3 >"$out" 2>"$err" &
profiler=$!
for _ in $(seq 100); do grep -q '^profiler: sampling' "$err" && break; sleep 0.1; done
sleep 1.5
kill -KILL "$spinner"
wait "$spinner" 2>/dev/null || true
status=0
wait "$profiler" || status=$?
cat "$err"
head -n 5 "$out"
[ "$status" = 0 ] || { echo "profiler: exit status $status" >&2; exit 1; }
grep -q "^profiler: sampling pid $spinner at 199 Hz on [0-9]* CPUs\$" "$err" ||
  { echo "profiler: no 'sampling pid $spinner' line" >&2; exit 1; }
python3 - "$out" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
total = spun = 0
for line in lines:
    m = re.fullmatch(r"(\S.*) (\d+)", line)
    if not m:
        sys.exit(f"profiler: not a folded line: {line!r}")
    frames, n = m[1].split(";"), int(m[2])
    if frames[0] != "ebpfpp-spin":
        sys.exit(f"profiler -p: a sample of another process: {line!r}")
    total += n
    if re.search(r";main;ebpfpp_spin_outer;ebpfpp_spin_inner$", m[1]):
        spun += n
# 199 Hz for about 1.5 s of spinning: up to 300 samples (fewer on a busy machine), nearly all
# in the inner loop (a few in the exit path of the kill).
if spun < 20 or spun * 10 < total * 8:
    sys.exit(f"profiler: {spun} of {total} samples in main;ebpfpp_spin_outer;ebpfpp_spin_inner")
print(f"profiler: {spun} of {total} samples in main;ebpfpp_spin_outer;ebpfpp_spin_inner")
PY
