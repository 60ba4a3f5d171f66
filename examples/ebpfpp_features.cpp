// ebpfpp-features: what this kernel can do for BPF, as ebpfpp's feature table probes it, with the
// first upstream kernel of each feature (like `bpftool feature probe`, in one screen).
//
//   $ sudo ebpfpp-features
//   kernel 6.18.44 (x86_64)
//   feature            min     here  why not
//   ring_buffer        5.8     yes
//   kprobes            4.1     no    CONFIG_KPROBES is not set
//
// --json prints the same as one JSON object per line, for scripts. Probing loads tiny programs
// and creates tiny maps, so it needs the privileges BPF needs (root, or CAP_BPF + CAP_PERFMON).

#include <cstdio>
#include <string_view>

#include <ebpfpp/ebpfpp.hpp>
#include <fmt/format.h>

namespace {

constexpr std::string_view usage = R"(usage: ebpfpp-features [--json]
Probes which BPF features the running kernel has and prints them with their minimum kernels.
  --json   one JSON object per feature
  -h       this help
)";

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

} // namespace

int main(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "-h" || arg == "--help") {
      fmt::print("{}", usage);
      return 0;
    } else {
      fmt::print(stderr, "ebpfpp-features: unknown argument '{}'\n{}", arg, usage);
      return 2;
    }
  }
  namespace kernel = ebpfpp::kernel;
  if (!json)
    fmt::print("kernel {}\n{:<18} {:<6} {:<4}  {}\n", kernel::release(), "feature", "min", "here",
               "why not");
  for (const kernel::FeatureInfo& f : kernel::features()) {
    const kernel::FeatureStatus& s = kernel::probe(f.id);
    if (json) {
      fmt::print("{{\"feature\":{},\"min_kernel\":{},\"available\":{},\"reason\":{},"
                 "\"explained_by\":{}}}\n",
                 json_string(f.name), json_string(f.min_kernel.str()), s.available,
                 json_string(s.reason), json_string(s.explained_by));
    } else {
      fmt::print("{:<18} {:<6} {:<4}  {}\n", f.name, f.min_kernel.str(), s.available ? "yes" : "no",
                 s.available ? "" : (s.explained_by.empty() ? s.reason : s.explained_by));
    }
  }
  return 0;
}
