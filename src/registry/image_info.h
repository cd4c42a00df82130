// What the packages API shows of an image, read from its manifest's annotations and its config's labels:
// the OCI pre-defined keys org.opencontainers.image.description, .source and .licenses.
#pragma once

#include <string>
#include <string_view>

namespace berth::registry {

struct ImageInfo {
  std::string description;  // at most kMaxDescriptionCharacters (UTF-8 code points)
  std::string source;
  std::string licenses;

  bool complete() const { return !description.empty() && !source.empty() && !licenses.empty(); }
};

inline constexpr size_t kMaxDescriptionCharacters = 512;

// Fills what `info` lacks from a JSON object of string values (a manifest's "annotations", as compact
// JSON; empty or malformed text adds nothing).
void add_annotations(ImageInfo& info, std::string_view annotations_json);
// Fills what `info` lacks from an image config (its "config": {"Labels": {…}}).
void add_config_labels(ImageInfo& info, std::string_view config_json);
// Fills what `info` lacks from a Helm chart's config (Chart.yaml as JSON: "description", "sources",
// "home"), for charts pushed without annotations.
inline constexpr std::string_view kHelmConfigMediaType = "application/vnd.cncf.helm.config.v1+json";
void add_helm_chart(ImageInfo& info, std::string_view config_json);

}  // namespace berth::registry
