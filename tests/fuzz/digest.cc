// oci::Digest::parse: every digest a client sends (blob and manifest URLs, ?digest=, descriptors, mount
// sources) goes through it before anything builds a storage path from it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.h"
#include "oci/digest.h"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  auto digest = oci::Digest::parse(text);
  if (!digest.ok()) {
    BERTH_FUZZ_CHECK(digest.status().code() == Errc::digest_invalid);
    return 0;
  }
  // Accepted means canonical: the text itself, "<algorithm>:<lowercase hex of the algorithm's length>".
  BERTH_FUZZ_CHECK(digest->str() == text);
  BERTH_FUZZ_CHECK(std::string(digest->algorithm_name()) + ":" + std::string(digest->hex()) == text);
  BERTH_FUZZ_CHECK(digest->hex().size() == (digest->algorithm() == HashAlgorithm::sha256 ? 64u : 128u));
  BERTH_FUZZ_CHECK(digest->hex().find_first_not_of("0123456789abcdef") == std::string_view::npos);
  return 0;
}
