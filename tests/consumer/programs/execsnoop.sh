# shellcheck shell=bash
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
