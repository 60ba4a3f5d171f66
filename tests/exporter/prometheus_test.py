#!/usr/bin/env python3
"""ebpf-exporter scraped by a real Prometheus server, end to end.

Starts build/examples/ebpf-exporter on a free 127.0.0.1 port, then Debian's `prometheus` with a
1-second scrape of it (its own free port, a temporary data directory), execs /bin/true a known
number of times as a uid no account uses, and reads ebpf_execs_total{uid="<that uid>"} back
through Prometheus's HTTP API: the samples Prometheus scraped after the last exec must hold
exactly that count. uid 65534 (nobody) is checked too, at least its count: other tests on the
machine may exec as nobody at the same time.

Usage: prometheus_test.py EXPORTER. Run as root (the exporter loads BPF). Exit 0 on success,
1 on failure. Every process it starts is killed and its temporary directory removed on every
path: success, failure, its own time limits, and SIGTERM (Meson's timeout); if it is killed
outright, the children die with it (PR_SET_PDEATHSIG) and the next run removes the directory.
"""
import ctypes
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

EXECS = 7  # for the unused uid: exact
NOBODY_EXECS = 3  # for uid 65534: at least
PROMETHEUS_READY_S = 15  # measured: ~0.3 s here
SCRAPED_S = 20  # measured: the first scrape comes ~5 s after start (the scrape manager's reload tick)

START = time.monotonic()


class Failure(Exception):
    pass


def log(msg):
    print(f"[{time.monotonic() - START:5.1f}s] {msg}", flush=True)


def die_with_parent():
    # Runs in the child before exec: SIGKILL it when this test process dies, however it dies.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    # The port is free now; prometheus binds it a moment later (a tiny race, on 127.0.0.1 only).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def exec_true_as(uid, times):
    # setpriv execs /bin/true by its absolute path: exactly one execve as `uid` per run (a PATH
    # search would make one failed execve per directory tried, and each is counted).
    for _ in range(times):
        subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "/bin/true"],
            check=True,
        )


def query_samples(prom_port, selector):
    """Raw samples of `selector` from the last minute, as [(timestamp, value)]."""
    q = urllib.parse.urlencode({"query": f"{selector}[1m]"})
    _, _, body = http_get(f"http://127.0.0.1:{prom_port}/api/v1/query?{q}")
    reply = json.loads(body)
    if reply.get("status") != "success":
        raise Failure(f"prometheus query {selector} failed: {body}")
    result = reply["data"]["result"]
    if not result:
        return []
    if len(result) != 1:
        raise Failure(f"expected one series for {selector}, got {body}")
    return [(float(t), float(v)) for t, v in result[0]["values"]]


def check(cond, what):
    if not cond:
        raise Failure(what)


def check_command_line(exporter):
    helped = subprocess.run([exporter, "--help"], capture_output=True, text=True, timeout=10)
    check(helped.returncode == 0, f"--help exited with {helped.returncode}")
    for flag in ("--listen ADDR:PORT", "127.0.0.1:9435", "-d, --duration", "ebpf_execs_total"):
        check(flag in helped.stdout, f"--help does not mention {flag!r}:\n{helped.stdout}")
    for bad in (["--bogus"], ["--listen"], ["--listen", "9435"], ["--listen", "127.0.0.1:65536"]):
        r = subprocess.run([exporter] + bad, capture_output=True, text=True, timeout=10)
        check(r.returncode == 2, f"{bad} exited with {r.returncode}, not 2: {r.stderr!r}")


def run(exporter, tmp, procs):
    check_command_line(exporter)
    prometheus = shutil.which("prometheus")
    check(prometheus, "no prometheus on PATH: run scripts/setup (it installs Debian's prometheus)")
    check(shutil.which("setpriv"), "no setpriv on PATH: run scripts/setup (util-linux)")

    # The exporter on a port it picks itself, said on stderr.
    exporter_err = open(os.path.join(tmp, "exporter.err"), "w+")
    exp = subprocess.Popen(
        [exporter, "--listen", "127.0.0.1:0", "-d", "120"],
        stdout=subprocess.DEVNULL,
        stderr=exporter_err,
        preexec_fn=die_with_parent,
    )
    procs.append(exp)
    exporter_port = None
    deadline = time.monotonic() + 10
    while exporter_port is None and time.monotonic() < deadline:
        check(exp.poll() is None, f"ebpf-exporter exited with {exp.returncode}")
        exporter_err.seek(0)
        m = re.search(r"serving http://127\.0\.0\.1:(\d+)/metrics", exporter_err.read())
        if m:
            exporter_port = int(m.group(1))
        else:
            time.sleep(0.05)
    exporter_err.seek(0)
    note = exporter_err.read()
    check(exporter_port, f"ebpf-exporter did not say where it serves within 10 s: {note!r}")
    check("attached " in note, f"ebpf-exporter did not say what it attached: {note!r}")
    log(f"exporter on 127.0.0.1:{exporter_port}: {note.strip()}")

    # Prometheus, scraping it every second.
    prom_port = free_port()
    config = os.path.join(tmp, "prometheus.yml")
    with open(config, "w") as f:
        f.write(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: ebpf\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{exporter_port}']\n"
        )
    prom_log = open(os.path.join(tmp, "prometheus.log"), "w+")
    t0 = time.monotonic()
    prom = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=prom_log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    procs.append(prom)

    def prom_tail():
        prom_log.seek(0)
        return "".join(prom_log.readlines()[-15:])

    while True:
        check(prom.poll() is None, f"prometheus exited with {prom.returncode}:\n{prom_tail()}")
        try:
            if http_get(f"http://127.0.0.1:{prom_port}/-/ready", timeout=1)[0] == 200:
                break
        except OSError:
            pass
        check(
            time.monotonic() - t0 < PROMETHEUS_READY_S,
            f"prometheus not ready after {PROMETHEUS_READY_S} s:\n{prom_tail()}",
        )
        time.sleep(0.1)
    log(f"prometheus ready on 127.0.0.1:{prom_port} after {time.monotonic() - t0:.1f} s")

    # The exporter itself: the exposition format, before Prometheus reads it.
    uid = 3200000 + os.getpid() % 100000  # no account uses it: its count is ours alone
    exec_true_as(uid, EXECS)
    exec_true_as(65534, NOBODY_EXECS)
    done = time.time()  # Prometheus stamps a sample with the wall-clock start of its scrape
    status, ctype, text = http_get(f"http://127.0.0.1:{exporter_port}/metrics")
    check(status == 200, f"/metrics answered {status}")
    check(ctype.startswith("text/plain; version=0.0.4"), f"/metrics Content-Type {ctype!r}")
    check("# TYPE ebpf_execs_total counter\n" in text, f"no TYPE line in:\n{text}")
    check("# HELP ebpf_execs_total " in text, f"no HELP line in:\n{text}")
    check(f'\nebpf_execs_total{{uid="{uid}"}} {EXECS}\n' in text, f"uid {uid} != {EXECS} in:\n{text}")
    log(f"exporter's /metrics has ebpf_execs_total{{uid=\"{uid}\"}} {EXECS}")

    # A second exporter on the same port fails plainly (the library's default SO_REUSEPORT
    # would have let it bind and share the scrapes).
    second = subprocess.run(
        [exporter, "--listen", f"127.0.0.1:{exporter_port}", "-d", "5"],
        capture_output=True, text=True, timeout=10,
    )
    check(
        second.returncode == 1 and "Address already in use" in second.stderr,
        f"a second exporter on the same port: exit {second.returncode}, {second.stderr!r}",
    )

    # Through Prometheus: wait for a scrape that started after the last exec.
    t1 = time.monotonic()
    selector = f'ebpf_execs_total{{job="ebpf",instance="127.0.0.1:{exporter_port}",uid="{uid}"}}'
    while True:
        samples = [(t, v) for t, v in query_samples(prom_port, selector) if t > done]
        if samples:
            break
        check(prom.poll() is None, f"prometheus exited with {prom.returncode}:\n{prom_tail()}")
        check(exp.poll() is None, f"ebpf-exporter exited with {exp.returncode}")
        check(
            time.monotonic() - t1 < SCRAPED_S,
            f"no scrape of {selector} within {SCRAPED_S} s; targets: "
            + http_get(f"http://127.0.0.1:{prom_port}/api/v1/targets")[2],
        )
        time.sleep(0.2)
    values = {v for _, v in samples}
    log(f"prometheus scraped {selector} = {sorted(values)} {time.monotonic() - t1:.1f} s after the execs")
    check(values == {float(EXECS)}, f"prometheus has {selector} = {sorted(values)}, expected {EXECS}")
    nobody = [v for t, v in query_samples(prom_port, 'ebpf_execs_total{job="ebpf",uid="65534"}') if t > done]
    check(nobody and min(nobody) >= NOBODY_EXECS, f'uid 65534: {nobody}, expected >= {NOBODY_EXECS}')

    # SIGTERM ends the exporter cleanly (exit 0, everything detached).
    exp.send_signal(signal.SIGTERM)
    try:
        rc = exp.wait(5)
    except subprocess.TimeoutExpired:
        raise Failure("ebpf-exporter still running 5 s after SIGTERM")
    check(rc == 0, f"ebpf-exporter exited with {rc} on SIGTERM")


TMP_PREFIX = "ebpfpp-prometheus-test-"


def remove_stale_dirs():
    # Left by a run that was SIGKILLed (its children died with it, its directory did not).
    for d in glob.glob(os.path.join(tempfile.gettempdir(), f"{TMP_PREFIX}*-*")):
        pid = os.path.basename(d)[len(TMP_PREFIX) :].split("-")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            shutil.rmtree(d, ignore_errors=True)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    exporter = os.path.abspath(sys.argv[1])

    def on_sigterm(signum, frame):
        raise SystemExit(f"prometheus_test: signal {signum}: cleaning up")

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, on_sigterm)
    remove_stale_dirs()
    procs = []
    tmp = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-")
    ok = False
    try:
        run(exporter, tmp, procs)
        ok = True
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
    finally:
        # On success the processes are asked to stop; on any other path they are killed at once
        # (Meson allows 0.5 s after its SIGTERM).
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM if ok else signal.SIGKILL)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    log("passed" if ok else "failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
