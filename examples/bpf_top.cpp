// bpf-top: a live table of the machine's BPF programs sorted by CPU time, like Netflix's bpftop.
//
// It turns on the kernel's run-time statistics (BPF_ENABLE_STATS, kernel 5.8+) for as long as it
// runs, and every second reads every program's run_cnt and run_time_ns by id (what
// `bpftool prog show` prints), showing per program: events per second, the average time per run,
// and the share of one CPU it took over the last second, then the totals bpftool reports.
//
//   sudo ./bpf-top              # refresh every second until Ctrl-C
//   sudo ./bpf-top -n 5         # five refreshes, then exit (for scripts and tests)
//
// On a terminal the table redraws in place; otherwise each refresh is printed after the last.
// What it shows: system.hpp (all_programs, StatsGuard) and an EventLoop task that
// `co_await loop.sleep(1s)`.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

#include "example_cli.hpp"

namespace {

constexpr std::string_view usage = R"(usage: bpf-top [-n ITERATIONS] [-d SECONDS] [-h]
Shows the loaded BPF programs sorted by CPU time, refreshed every second.
  -n ITERATIONS   refresh this many times, then exit (default: until Ctrl-C)
  -d SECONDS      run this long, then exit
  -h, --help      this help
Columns: ID TYPE NAME EVENTS/S AVG_NS %CPU (over the last second), RUNS RUN_TIME_NS (totals
while statistics were on, as bpftool prog show reports them).
)";

struct Sample {
  std::uint64_t runs = 0, ns = 0;
};

struct Row {
  ebpfpp::ProgramInfo info;
  double events_per_s = 0, avg_ns = 0, cpu_percent = 0;
  std::uint64_t interval_ns = 0;
};

std::vector<Row> rows_since(const std::map<std::uint32_t, Sample>& before, double seconds,
                            std::map<std::uint32_t, Sample>& now) {
  std::vector<Row> rows;
  now.clear();
  for (auto& info : ebpfpp::all_programs()) {
    now[info.id] = {info.run_count, info.run_time_ns};
    Row row{std::move(info)};
    const auto it = before.find(row.info.id);
    const Sample prev = it == before.end() ? Sample{} : it->second;
    const std::uint64_t runs = row.info.run_count - std::min(prev.runs, row.info.run_count);
    row.interval_ns = row.info.run_time_ns - std::min(prev.ns, row.info.run_time_ns);
    row.events_per_s = static_cast<double>(runs) / seconds;
    row.avg_ns = runs ? static_cast<double>(row.interval_ns) / static_cast<double>(runs) : 0;
    row.cpu_percent = static_cast<double>(row.interval_ns) / (seconds * 1e9) * 100;
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.interval_ns != b.interval_ns) return a.interval_ns > b.interval_ns;
    return a.info.run_time_ns > b.info.run_time_ns;
  });
  return rows;
}

void print(const std::vector<Row>& rows, bool tty) {
  std::string out = tty ? "\x1b[H\x1b[2J" : "";
  out += fmt::format("{:>6} {:<16} {:<16} {:>10} {:>9} {:>6} {:>12} {:>14}\n", "ID", "TYPE", "NAME",
                     "EVENTS/S", "AVG_NS", "%CPU", "RUNS", "RUN_TIME_NS");
  for (const Row& r : rows)
    out += fmt::format("{:>6} {:<16} {:<16} {:>10.0f} {:>9.0f} {:>6.2f} {:>12} {:>14}\n", r.info.id,
                       r.info.type_name(), r.info.name.empty() ? "-" : r.info.name, r.events_per_s,
                       r.avg_ns, r.cpu_percent, r.info.run_count, r.info.run_time_ns);
  if (!tty) out += "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

ebpfpp::Task<> refresh(ebpfpp::EventLoop& loop, std::optional<long> iterations) {
  using clock = std::chrono::steady_clock;
  const bool tty = ::isatty(STDOUT_FILENO);
  std::map<std::uint32_t, Sample> before, now;
  rows_since({}, 1, before); // the starting point of every program
  auto t0 = clock::now();
  for (long i = 0; !iterations || i < *iterations; ++i) {
    co_await loop.sleep(std::chrono::seconds(1));
    const auto t1 = clock::now();
    print(rows_since(before, std::chrono::duration<double>(t1 - t0).count(), now), tty);
    std::swap(before, now);
    t0 = t1;
  }
}

} // namespace

int main(int argc, char** argv) try {
  std::optional<long> iterations;
  const auto duration = example::parse_command_line(
      argc, argv, "bpf-top", usage, [&](std::string_view arg, const char* value) {
        if (arg != "-n" || !value) return 0;
        char* end = nullptr;
        iterations = std::strtol(value, &end, 10);
        if (*end != '\0' || *iterations < 1)
          example::usage_error("bpf-top", fmt::format("bad iteration count '{}'", value), usage);
        return 2;
      });
  if (duration) {
    const long seconds = static_cast<long>((duration->count() + 999) / 1000);
    iterations = std::min(iterations.value_or(seconds), std::max(seconds, 1L));
  }
  ebpfpp::StatsGuard stats; // statistics on while bpf-top runs
  ebpfpp::EventLoop loop;   // Ctrl-C and SIGTERM end run()
  loop.spawn(refresh(loop, iterations));
  loop.run();
  return 0;
} catch (const ebpfpp::Error& e) {
  fmt::print(stderr, "bpf-top: {}\n", e.what());
  return 1;
}
