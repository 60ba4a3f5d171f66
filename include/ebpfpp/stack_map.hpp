#pragma once
/// @file
/// StackMap<V> is in queue_map.hpp, beside QueueMap<V> (one view, two orders). This header stays
/// for the code that includes it.

#include "queue_map.hpp"
