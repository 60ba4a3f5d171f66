#pragma once
// The CPUs that are online, from sysfs: one perf ring (PerfBuffer) or perf event (PerfEvent)
// per CPU. (Templates over a parameter nobody gives, as their callers' bodies are: a file that
// opens no perf ring or event compiles neither the file read nor the vector's pushes.)

#include "config.hpp"

#include <cerrno>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "../error.hpp"

namespace ebpfpp::detail {

/// CPUs listed in a sysfs cpu list such as "0-3,5".
template <class = void>
std::vector<int> parse_cpu_list(std::string_view s) {
  std::vector<int> cpus;
  while (!s.empty()) {
    const auto comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
    while (!part.empty() && (part.back() == '\n' || part.back() == ' ')) part.remove_suffix(1);
    if (part.empty()) continue;
    const auto dash = part.find('-');
    auto num = [](std::string_view t) {
      int v = 0;
      for (char c : t)
        if (c >= '0' && c <= '9') v = v * 10 + (c - '0');
      return v;
    };
    const int first = num(part.substr(0, dash));
    const int last = dash == std::string_view::npos ? first : num(part.substr(dash + 1));
    for (int c = first; c <= last; ++c) cpus.push_back(c);
  }
  return cpus;
}

// The CPUs online now (/sys/devices/system/cpu/online).
template <class = void>
std::vector<int> online_cpus() {
  errno = 0;
  std::ifstream f("/sys/devices/system/cpu/online");
  std::string line;
  if (!std::getline(f, line))
    fail(errno != 0 ? errno : ENOENT,
         [] { return std::string("read /sys/devices/system/cpu/online"); });
  return parse_cpu_list(line);
}

} // namespace ebpfpp::detail
