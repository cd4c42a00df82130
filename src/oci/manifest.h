// Parsing and validating manifests: OCI image manifest and index, Docker schema2 manifest and manifest list.
//
// parse_manifest checks that the body is well-formed JSON of the declared media type and extracts what the
// registry needs to validate references and answer the referrers API. It does not check that referenced
// blobs exist (that needs the metadata store: registry/ does it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "oci/digest.h"

namespace berth::oci {

namespace media_type {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciEmptyJson = "application/vnd.oci.empty.v1+json";
}  // namespace media_type

// The spec bounds manifests at 4 MiB.
inline constexpr size_t kMaxManifestBytes = 4 * 1024 * 1024;

bool is_index_media_type(std::string_view media_type);
bool is_supported_manifest_media_type(std::string_view media_type);

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::optional<std::string> artifact_type;
  std::string annotations_json;  // the "annotations" object as compact JSON, or empty
  // An index child's "platform" (empty strings when absent or not strings).
  std::string os;
  std::string architecture;
  std::string variant;
  // An index child that BuildKit annotates `vnd.docker.reference.type` (its provenance and SBOM
  // attestations): attached to the image, not a platform of it.
  bool attestation = false;
};

struct ParsedManifest {
  std::string media_type;  // the effective media type (Content-Type, else the body's mediaType, else inferred)
  bool is_index = false;
  // For the referrers API: the manifest's artifactType, else (image manifests) its config.mediaType.
  std::optional<std::string> artifact_type;
  // An image manifest's config (first) and layers; an index's children that are not manifests (e.g. the
  // layers and cache config of BuildKit's registry cache).
  std::vector<Descriptor> blobs;
  std::vector<Descriptor> manifests;  // children of an index that are manifests (empty for an image manifest)
  std::optional<Descriptor> subject;
  std::string annotations_json;       // top-level "annotations" as compact JSON, or empty
};

// content_type: the request's Content-Type header (may be empty; then the body's mediaType decides; with
// neither, a "manifests" array means an OCI index and a "config" object an OCI image manifest).
// Errors: manifest_invalid with a message naming what is wrong (bad JSON, missing/ill-typed field, bad
// descriptor digest, media type mismatch between header and body, schemaVersion != 2);
// unsupported for a media type that is not one of the four above (e.g. Docker schema1).
Result<ParsedManifest> parse_manifest(std::string_view content_type, std::string_view body);

}  // namespace berth::oci
