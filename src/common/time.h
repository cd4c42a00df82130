// Timestamps as the APIs and the CLI print them.
#pragma once

#include <cstdint>
#include <string>

namespace berth {

// "2026-12-03T08:00:00Z": RFC 3339 / ISO 8601 in UTC, whole seconds.
std::string utc_timestamp(int64_t unix_seconds);

}  // namespace berth
