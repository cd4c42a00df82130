// HTTP byte ranges (oci/range.h): the Range header of a blob GET, against a blob size, and the
// Content-Range header of a chunked upload PATCH.
//
// Input: "<size>\n<header>" tries the header against that blob size (decimal, as parsed by from_chars);
// without a newline (or a number before it) the whole input is the header, tried against blobs of 0, 1,
// 1000 and 2^64-1 bytes.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "fuzz/fuzz_support.h"
#include "oci/range.h"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header = fuzz::as_text(data, size);
  std::vector<uint64_t> sizes = {0, 1, 1000, std::numeric_limits<uint64_t>::max()};
  if (auto newline = header.find('\n'); newline != std::string_view::npos) {
    uint64_t blob_size = 0;
    auto [end, ec] = std::from_chars(header.data(), header.data() + newline, blob_size);
    if (ec == std::errc() && end == header.data() + newline) {
      sizes = {blob_size};
      header.remove_prefix(newline + 1);
    }
  }

  for (uint64_t blob_size : sizes) {
    auto range = oci::parse_range_header(header, blob_size);
    if (!range.ok()) {
      BERTH_FUZZ_CHECK(range.status().code() == Errc::range_invalid);
      continue;
    }
    // A satisfiable range lies inside the blob and is not empty.
    BERTH_FUZZ_CHECK(range->first <= range->last);
    BERTH_FUZZ_CHECK(range->last < blob_size);
    BERTH_FUZZ_CHECK(range->length() >= 1 && range->length() <= blob_size);
  }

  auto content_range = oci::parse_content_range(header);
  if (content_range.ok()) {
    BERTH_FUZZ_CHECK(content_range->first <= content_range->last);
    BERTH_FUZZ_CHECK(content_range->length() >= 1);  // no wrap-around to a 0-byte chunk
  } else {
    BERTH_FUZZ_CHECK(content_range.status().code() == Errc::range_invalid);
  }
  return 0;
}
