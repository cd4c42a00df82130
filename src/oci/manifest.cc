#include "oci/manifest.h"

#include <limits>
#include <nlohmann/json.hpp>

namespace berth::oci {

namespace {

using json = nlohmann::json;

constexpr std::string_view kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
constexpr std::string_view kDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";

Status invalid(std::string message) { return Status(Errc::manifest_invalid, std::move(message)); }

// Client-supplied text echoed in an error message is bounded, so a huge field cannot make a huge response.
std::string bounded_quote(std::string_view s) {
  constexpr size_t kMax = 160;
  if (s.size() > kMax) return "\"" + std::string(s.substr(0, kMax)) + "...\"";
  return "\"" + std::string(s) + "\"";
}

// "application/vnd.oci.image.manifest.v1+json; charset=utf-8" -> the bare type, lowercased: media types
// are case-insensitive (RFC 6838), and the rest of the registry compares them as plain strings.
std::string bare_media_type(std::string_view content_type) {
  std::string_view s = content_type.substr(0, content_type.find(';'));
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Status unsupported_media_type(std::string_view media_type) {
  if (media_type == kDockerSchema1 || media_type == kDockerSchema1Signed) {
    return Status(Errc::unsupported,
                  "Docker schema1 manifests are not supported; push the image as Docker schema2 or OCI");
  }
  return Status(Errc::unsupported, "manifest media type " + bounded_quote(media_type) + " is not supported");
}

// An optional "annotations" member: absent -> "", else a string-to-string object as compact JSON.
// String values are required by the image-spec, and they also keep dump() shallow whatever the input.
Result<std::string> annotations_of(const json& object, const std::string& where) {
  auto it = object.find("annotations");
  if (it == object.end()) return std::string();
  std::string field = where.empty() ? "annotations" : where + ".annotations";
  if (!it->is_object()) return invalid(field + " must be an object");
  for (const auto& [key, value] : it->items()) {
    if (!value.is_string()) return invalid(field + "[" + bounded_quote(key) + "] must be a string");
  }
  return it->dump();
}

Result<std::optional<std::string>> optional_string(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) return std::optional<std::string>();
  if (!it->is_string()) return invalid((where.empty() ? "" : where + ".") + key + " must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

// `where` names the descriptor in messages, e.g. "layers[2]", so a client can find the offending entry.
Result<Descriptor> parse_descriptor(const json& j, const std::string& where) {
  if (!j.is_object()) return invalid(where + " must be a descriptor object");

  auto media_type = j.find("mediaType");
  if (media_type == j.end()) return invalid(where + ".mediaType is missing");
  if (!media_type->is_string()) return invalid(where + ".mediaType must be a string");

  auto digest_field = j.find("digest");
  if (digest_field == j.end()) return invalid(where + ".digest is missing");
  if (!digest_field->is_string()) return invalid(where + ".digest must be a string");
  const std::string& digest_text = digest_field->get_ref<const std::string&>();
  auto digest = Digest::parse(digest_text);
  if (!digest.ok()) {
    return invalid(where + ".digest " + bounded_quote(digest_text) + " is invalid: " + digest.status().message());
  }

  auto size_field = j.find("size");
  if (size_field == j.end()) return invalid(where + ".size is missing");
  // JSON numbers like 1.0 or 1e3 are floats to the parser: the spec's size is an int64, so refuse them.
  if (!size_field->is_number_integer()) return invalid(where + ".size must be an integer");
  int64_t size = 0;
  if (size_field->is_number_unsigned()) {
    uint64_t u = size_field->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return invalid(where + ".size is too large");
    size = static_cast<int64_t>(u);
  } else {
    size = size_field->get<int64_t>();
  }
  if (size < 0) return invalid(where + ".size must not be negative");

  auto artifact_type = optional_string(j, "artifactType", where);
  if (!artifact_type.ok()) return artifact_type.status();
  auto annotations = annotations_of(j, where);
  if (!annotations.ok()) return annotations.status();

  Descriptor d{media_type->get<std::string>(), std::move(digest).value(), size, std::move(artifact_type).value(),
               std::move(annotations).value(), {}, {}, {}, false};
  if (auto platform = j.find("platform"); platform != j.end() && platform->is_object()) {
    auto text = [&](const char* key) {
      auto it = platform->find(key);
      return it != platform->end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    d.os = text("os");
    d.architecture = text("architecture");
    d.variant = text("variant");
  }
  if (auto a = j.find("annotations"); a != j.end()) d.attestation = a->contains("vnd.docker.reference.type");
  return d;
}

Result<std::vector<Descriptor>> parse_descriptor_array(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end()) return invalid(std::string(key) + " is missing");
  if (!it->is_array()) return invalid(std::string(key) + " must be an array of descriptors");
  std::vector<Descriptor> out;
  out.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    auto d = parse_descriptor((*it)[i], std::string(key) + "[" + std::to_string(i) + "]");
    if (!d.ok()) return d.status();
    out.push_back(std::move(d).value());
  }
  return out;
}

// With neither a Content-Type nor a body mediaType, guess from the shape, as Distribution does: the OCI
// specs make mediaType optional in the body, and some clients send no usable header.
Result<std::string> infer_media_type(const json& doc) {
  auto manifests = doc.find("manifests");
  if (manifests != doc.end() && manifests->is_array()) return std::string(media_type::kOciIndex);
  auto config = doc.find("config");
  if (config != doc.end() && config->is_object()) return std::string(media_type::kOciManifest);
  return invalid("cannot determine the manifest media type: no Content-Type, no mediaType, and neither a "
                 "\"manifests\" array nor a \"config\" object");
}

Status parse_image_manifest(const json& doc, ParsedManifest& out) {
  auto config_field = doc.find("config");
  if (config_field == doc.end()) return invalid("config is missing");
  auto config = parse_descriptor(*config_field, "config");
  if (!config.ok()) return config.status();
  // Layers may be empty: OCI artifacts often have none, and an image built FROM scratch may have none.
  auto layers = parse_descriptor_array(doc, "layers");
  if (!layers.ok()) return layers.status();

  // The referrers API reports config.mediaType when the manifest sets no artifactType (image-spec 1.1).
  if (!out.artifact_type) out.artifact_type = config->media_type;
  out.blobs.reserve(1 + layers->size());
  out.blobs.push_back(std::move(config).value());
  for (auto& layer : *layers) out.blobs.push_back(std::move(layer));
  return Status::Ok();
}

Result<ParsedManifest> parse_document(const std::string& header_media_type, const json& doc) {
  std::optional<std::string> body_media_type;
  if (auto it = doc.find("mediaType"); it != doc.end()) {
    if (!it->is_string()) return invalid("mediaType must be a string");
    body_media_type = it->get<std::string>();
  }
  if (!header_media_type.empty() && body_media_type && *body_media_type != header_media_type) {
    return invalid("Content-Type " + bounded_quote(header_media_type) + " does not match the manifest's mediaType " +
                   bounded_quote(*body_media_type));
  }
  if (header_media_type.empty() && body_media_type && !is_supported_manifest_media_type(*body_media_type)) {
    return unsupported_media_type(*body_media_type);
  }

  auto version = doc.find("schemaVersion");
  if (version == doc.end()) return invalid("schemaVersion is missing");
  // Only a number is echoed back: dump() of an arbitrary value recurses as deep as the input nests.
  if (!version->is_number()) return invalid("schemaVersion must be the integer 2");
  if (!version->is_number_integer() || version->get<int64_t>() != 2) {
    return invalid("schemaVersion must be 2, got " + version->dump());
  }

  ParsedManifest out;
  if (!header_media_type.empty()) {
    out.media_type = header_media_type;
  } else if (body_media_type) {
    out.media_type = *body_media_type;
  } else {
    auto inferred = infer_media_type(doc);
    if (!inferred.ok()) return inferred.status();
    out.media_type = std::move(inferred).value();
  }
  out.is_index = is_index_media_type(out.media_type);
  const bool is_oci = out.media_type == media_type::kOciManifest || out.media_type == media_type::kOciIndex;

  auto artifact_type = optional_string(doc, "artifactType", "");
  if (!artifact_type.ok()) return artifact_type.status();
  out.artifact_type = std::move(artifact_type).value();

  if (out.is_index) {
    auto manifests = parse_descriptor_array(doc, "manifests");
    if (!manifests.ok()) return manifests.status();
    // Children that are not manifests are blobs the index names: BuildKit's registry cache is an index
    // of its layers and its cache config (application/vnd.buildkit.cacheconfig.v0). Distribution and
    // GHCR accept it; the image-spec asks implementations to be prepared for unknown media types.
    for (auto& child : *manifests) {
      (is_supported_manifest_media_type(child.media_type) ? out.manifests : out.blobs).push_back(std::move(child));
    }
  } else {
    BERTH_RETURN_IF_ERROR(parse_image_manifest(doc, out));
  }

  // Docker schema2 has no subject; a stray one there is ignored rather than indexed as a referrer.
  if (is_oci) {
    if (auto it = doc.find("subject"); it != doc.end()) {
      auto subject = parse_descriptor(*it, "subject");
      if (!subject.ok()) return subject.status();
      out.subject = std::move(subject).value();
    }
  }

  auto annotations = annotations_of(doc, "");
  if (!annotations.ok()) return annotations.status();
  out.annotations_json = std::move(annotations).value();
  return out;
}

}  // namespace

bool is_index_media_type(std::string_view media_type) {
  return media_type == media_type::kOciIndex || media_type == media_type::kDockerManifestList;
}

bool is_supported_manifest_media_type(std::string_view media_type) {
  return media_type == media_type::kOciManifest || media_type == media_type::kOciIndex ||
         media_type == media_type::kDockerManifest || media_type == media_type::kDockerManifestList;
}

Result<ParsedManifest> parse_manifest(std::string_view content_type, std::string_view body) {
  const std::string header_media_type = bare_media_type(content_type);
  // A declared but unsupported type is refused before parsing: schema1 bodies are not worth reading.
  if (!header_media_type.empty() && !is_supported_manifest_media_type(header_media_type)) {
    return unsupported_media_type(header_media_type);
  }
  // The strict parser also rejects trailing bytes and invalid UTF-8, so dump() later cannot throw on them.
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return invalid("manifest is not valid JSON");
  if (!doc.is_object()) return invalid("manifest must be a JSON object");
  // Every access above is type-checked first; this is a backstop so no exception leaves the module.
  try {
    return parse_document(header_media_type, doc);
  } catch (const json::exception& e) {
    return invalid(std::string("malformed manifest: ") + e.what());
  }
}

}  // namespace berth::oci
