// bench-maps: what the typed map views cost over calling libbpf by hand.
//
// On one 100k-entry BPF_MAP_TYPE_HASH <u32, u64> map, in the same process and run:
//   lookup     Map::lookup            vs bpf_map_lookup_elem          (target ratio >= 0.98)
//   update     Map::update            vs bpf_map_update_elem          (target ratio >= 0.98)
//   full-read  Map::items() (batched) vs a get_next_key + lookup walk (target ratio >= 5)
// Each side runs several rounds, alternating which goes first; the table shows median
// throughputs, and one line per comparison, `ratio <metric> <value>` (ebpfpp / baseline), is
// there for scripts. A benchmark, not a test: it asserts nothing. Needs root.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <ebpfpp/map.hpp>
#include <fmt/format.h>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::uint32_t entries = 100'000;
// EBPFPP_BENCH_ROUNDS=N sets the rounds: scripts/bench-gate runs a short pass with few.
int rounds_from_env(int fallback) {
  const char* env = std::getenv("EBPFPP_BENCH_ROUNDS");
  const int n = env ? std::atoi(env) : 0;
  return n > 0 ? n : fallback;
}
const int rounds = rounds_from_env(9);

// Keeps the compiler from dropping reads whose results are otherwise unused.
volatile std::uint64_t sink = 0;

template <class Fn>
double throughput(std::size_t ops, Fn&& fn) {
  const auto start = clock_type::now();
  fn();
  const std::chrono::duration<double> took = clock_type::now() - start;
  return static_cast<double>(ops) / took.count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Result {
  std::string metric;
  double baseline;
  double ebpfpp;
  double target;
};

template <class Base, class Ours>
Result compare(std::string metric, std::size_t ops, double target, Base&& base, Ours&& ours) {
  std::vector<double> b, o;
  for (int r = 0; r < rounds; ++r) {
    // Alternate the order so that drift (caches, frequency, the VM's neighbours) hits both.
    if (r % 2 == 0) {
      b.push_back(throughput(ops, base));
      o.push_back(throughput(ops, ours));
    } else {
      o.push_back(throughput(ops, ours));
      b.push_back(throughput(ops, base));
    }
  }
  return {std::move(metric), median(b), median(o), target};
}

} // namespace

int main() try {
  auto map =
      ebpfpp::Map<std::uint32_t, std::uint64_t>::create(BPF_MAP_TYPE_HASH, entries, "bench_maps");
  const int fd = map.fd();
  std::vector<std::uint32_t> keys(entries);
  std::vector<std::uint64_t> values(entries);
  for (std::uint32_t i = 0; i < entries; ++i) {
    keys[i] = i * 2654435761u; // spread over the buckets
    values[i] = i;
  }
  map.update_batch(keys, values);
  // Look keys up in an order unrelated to insertion.
  std::vector<std::uint32_t> order = keys;
  std::shuffle(order.begin(), order.end(), std::mt19937(42));

  std::vector<Result> results;
  results.push_back(compare(
      "lookup", entries, 0.98,
      [&] {
        std::uint64_t sum = 0;
        for (std::uint32_t k : order) {
          std::uint64_t v;
          if (bpf_map_lookup_elem(fd, &k, &v) == 0) sum += v;
        }
        sink = sum;
      },
      [&] {
        std::uint64_t sum = 0;
        for (std::uint32_t k : order)
          if (auto v = map.lookup(k)) sum += *v;
        sink = sum;
      }));

  results.push_back(compare(
      "update", entries, 0.98,
      [&] {
        std::uint64_t v = 1;
        for (std::uint32_t k : order) bpf_map_update_elem(fd, &k, &v, BPF_ANY);
      },
      [&] {
        for (std::uint32_t k : order) map.update(k, 2);
      }));

  results.push_back(compare(
      "full-read", entries, 5.0,
      [&] {
        std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
        out.reserve(entries);
        std::uint32_t key = 0;
        std::uint32_t next = 0;
        const void* prev = nullptr;
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
          std::uint64_t v;
          if (bpf_map_lookup_elem(fd, &next, &v) == 0) out.emplace_back(next, v);
          key = next;
          prev = &key;
        }
        sink = out.size();
      },
      [&] { sink = map.items().size(); }));

  fmt::print("bench-maps: BPF_MAP_TYPE_HASH <u32, u64>, {} entries, median of {} rounds\n\n",
             entries, rounds);
  fmt::print("{:<10} {:>16} {:>16} {:>8} {:>8}\n", "metric", "libbpf (M/s)", "ebpfpp (M/s)",
             "ratio", "target");
  for (const auto& r : results)
    fmt::print("{:<10} {:>16.3f} {:>16.3f} {:>8.3f} {:>7.2f}x\n", r.metric, r.baseline / 1e6,
               r.ebpfpp / 1e6, r.ebpfpp / r.baseline, r.target);
  fmt::print("\n");
  for (const auto& r : results) fmt::print("ratio {} {:.3f}\n", r.metric, r.ebpfpp / r.baseline);
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "bench-maps: {}\n", e.what());
  return 1;
}
