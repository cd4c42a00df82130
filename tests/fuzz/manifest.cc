// oci::parse_manifest: image manifests and indexes (OCI and Docker schema2), as a PUT of a manifest
// hands them to the registry.
//
// Input: one selector byte, then the body. The selector picks the request's Content-Type (its value
// modulo 6): 0 none (the body's mediaType or its shape decides), 1 OCI manifest, 2 OCI index, 3 Docker
// manifest, 4 Docker manifest list, 5 the text up to the first newline (the body follows it).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_support.h"
#include "oci/manifest.h"

using namespace berth;

namespace {

void check_descriptor(const oci::Descriptor& d) {
  BERTH_FUZZ_CHECK(d.size >= 0);
  auto again = oci::Digest::parse(d.digest.str());
  BERTH_FUZZ_CHECK(again.ok() && *again == d.digest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body = fuzz::as_text(data + 1, size - 1);
  std::string_view content_type;
  switch (data[0] % 6) {
    case 0: break;
    case 1: content_type = oci::media_type::kOciManifest; break;
    case 2: content_type = oci::media_type::kOciIndex; break;
    case 3: content_type = oci::media_type::kDockerManifest; break;
    case 4: content_type = oci::media_type::kDockerManifestList; break;
    case 5: {
      auto newline = body.find('\n');
      if (newline == std::string_view::npos) return 0;
      content_type = body.substr(0, newline);
      body.remove_prefix(newline + 1);
      break;
    }
  }
  auto parsed = oci::parse_manifest(content_type, body);
  if (!parsed.ok()) {
    BERTH_FUZZ_CHECK(parsed.status().code() == Errc::manifest_invalid ||
                     parsed.status().code() == Errc::unsupported);
    return 0;
  }
  BERTH_FUZZ_CHECK(oci::is_supported_manifest_media_type(parsed->media_type));
  BERTH_FUZZ_CHECK(parsed->is_index == oci::is_index_media_type(parsed->media_type));
  if (!parsed->is_index) {
    BERTH_FUZZ_CHECK(!parsed->blobs.empty());  // the config comes first
    BERTH_FUZZ_CHECK(parsed->manifests.empty());
  }
  for (const auto& d : parsed->blobs) check_descriptor(d);
  for (const auto& d : parsed->manifests) {
    check_descriptor(d);
    BERTH_FUZZ_CHECK(oci::is_supported_manifest_media_type(d.media_type));
  }
  if (parsed->subject) check_descriptor(*parsed->subject);
  return 0;
}
