// Must NOT compile: profile's counts is keyed by its profile_key struct; a stack id is not one.
// The first error line must name the map and both key types (tests/skel/must-fail checks it).
#include <cstdint>

#include "profile.bpf.skel.hpp"

void wrong_key(profile::Skeleton& skel) {
  skel.maps.counts.update(std::int32_t{3}, std::uint64_t{1});
}
