// HTTP byte ranges used by the distribution API.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"

namespace berth::oci {

// An inclusive byte range [first, last].
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t length() const { return last - first + 1; }
};

// The Range header of a blob GET: "bytes=first-last", "bytes=first-", "bytes=-suffix" against a blob of
// `size` bytes. One range only. Returns the clamped range; errors: range_invalid when the header is
// malformed, asks for several ranges, or cannot be satisfied (first >= size, or size == 0).
Result<ByteRange> parse_range_header(std::string_view header, uint64_t size);

// The Content-Range header of a chunked PATCH: "first-last" (the spec's form; a leading "bytes " is also
// accepted). Errors: range_invalid when malformed or last < first.
Result<ByteRange> parse_content_range(std::string_view header);

}  // namespace berth::oci
