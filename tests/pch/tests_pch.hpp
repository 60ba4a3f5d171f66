// Precompiled for every test source (tests/meson.build): each test file still includes what it
// uses, but the umbrella, doctest and fmt are parsed once per test binary instead of once per
// file, which took most of the suite's build time (three builds: plain, ASan, TSan).
#include <ebpfpp/ebpfpp.hpp>
#include <ebpfpp/format.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
