#pragma once
/// @file
/// LruPerCpuHashMap<K,V> is PerCpuHashMap over LRU maps only: see per_cpu_hash_map.hpp. This
/// header stays for the code that includes it.

#include "per_cpu_hash_map.hpp"
