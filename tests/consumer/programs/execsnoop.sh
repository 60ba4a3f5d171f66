# shellcheck shell=bash disable=SC2154  # work, build, src: set by tests/consumer/run
# docs/09's execsnoop and docs/10's procsnoop (docs/programs/execsnoop/), sourced by
# tests/consumer/run once they are built in $build: a program this check execs must come out as
# one line with its pid, its parent (us) and its file name, and procsnoop must also see it end.
marker="$work/snoop-marker" # a program name no one else runs; it exits with status 1
ln -s /bin/false "$marker"
# Starts TOOL (with a 20 s limit), waits for READY in its output, runs the marker, ends TOOL
# with SIGTERM (SIGINT would be ignored: bash starts background jobs with SIGINT ignored) and
# checks it exited 0. Sets $child to the marker's pid.
snoop() {
  local tool=$1 ready=$2 pid status=0
  "$build/$tool" 20 >"$work/$tool.out" 2>"$work/$tool.err" &
  pid=$!
  for _ in $(seq 100); do grep -q "$ready" "$work/$tool.out" "$work/$tool.err" && break; sleep 0.1; done
  "$marker" &
  child=$!
  wait "$child" || true
  sleep 1.5
  kill -TERM "$pid"
  wait "$pid" || status=$?
  grep -e "$ready" -e "$marker" -e " $child " -e '^--' -e "$tool:" \
    "$work/$tool.out" "$work/$tool.err" | head -n 20 || true
  [ "$status" = 0 ] || { echo "$tool: exit status $status after SIGTERM" >&2; exit 1; }
}
snoop execsnoop FILENAME
grep -Eq "^ *$child +$$ +[^ ]+ +$marker\$" "$work/execsnoop.out" ||
  { echo "execsnoop: no line '$child $$ <comm> $marker'" >&2; exit 1; }
# docs/10's procsnoop: two ring buffers and a timer on one EventLoop.
snoop procsnoop 'procsnoop: attached'
grep -Eq "^exec +$child +[^ ]+ +$marker\$" "$work/procsnoop.out" ||
  { echo "procsnoop: no line 'exec $child <comm> $marker'" >&2; exit 1; }
grep -Eq "^exit +$child +[^ ]+ +1\$" "$work/procsnoop.out" ||
  { echo "procsnoop: no line 'exit $child <comm> 1'" >&2; exit 1; }
grep -Eq '^-- [0-9]+ execs, [0-9]+ exits in the last second$' "$work/procsnoop.out" ||
  { echo "procsnoop: no summary line from its timer" >&2; exit 1; }
grep -q '^procsnoop: stopped by a signal$' "$work/procsnoop.err" ||
  { echo "procsnoop: SIGTERM did not end loop.run()" >&2; exit 1; }
# docs/09's object sizes, and the README's ratio between them: execsnoop.bpf.o with its DWARF and
# without (what the recipe embeds), made with the recipe's own command, read from the build.
read -ra words <<<"$(ninja -C "$build" -t commands execsnoop | grep -m1 'bpf-skeleton .*execsnoop\.bpf\.c')"
# bpf-skeleton CLANG BPFTOOL INPUT SKEL DEPFILE OBJ CFLAGS...
(cd "$build" && "${words[1]}" "${words[@]:7}" -c "${words[3]}" -o "$work/dwarf.o" &&
  "${words[2]}" gen object "$work/btf.o" "$work/dwarf.o")
python3 - "$src/docs/09-your-own-tool.md" "$src/README.md" \
  "$(stat -c %s "$work/dwarf.o")" "$(stat -c %s "$work/btf.o")" <<'PY'
import re, sys
page = " ".join(open(sys.argv[1]).read().split())
readme = " ".join(open(sys.argv[2]).read().split())
dwarf, btf = (int(b) / 1024 for b in sys.argv[3:5])
m = re.search(r"With DWARF, `execsnoop.bpf.o` would be (\d+) KB.*?keeps only the BTF: a (\d+) KB "
              r"object", page)
r = re.search(r"makes an object some (\d+) times larger than the BTF-only one", readme)
if not m or not r:
    sys.exit("docs/09 or README: the execsnoop object sizes' sentences changed: update this check")
for what, said, measured in (("docs/09: the object with DWARF", int(m[1]), dwarf),
                             ("docs/09: the BTF-only object", int(m[2]), btf),
                             ("README: the ratio", int(r[1]), dwarf / btf)):
    if abs(said - measured) > 0.15 * measured:
        sys.exit(f"{what} is {said} there, {measured:.1f} here: update it")
print(f"execsnoop objects: {dwarf:.0f} KB with DWARF, {btf:.0f} KB without ({dwarf / btf:.1f}x); "
      f"docs/09 says {m[1]} and {m[2]} KB, the README {r[1]}x")
PY
