#include "registry/image_info.h"

#include <nlohmann/json.hpp>

namespace berth::registry {

namespace {

// Cuts UTF-8 text to at most `max` characters (code points: bytes that do not continue a sequence).
std::string cut_utf8(std::string text, size_t max) {
  size_t characters = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (characters++ == max) {
      text.resize(i);
      break;
    }
  }
  return text;
}

void add_from(ImageInfo& info, const nlohmann::json& labels) {
  if (!labels.is_object()) return;
  auto take = [&](std::string& field, const char* key) {
    if (!field.empty()) return;
    auto it = labels.find(key);
    if (it != labels.end() && it->is_string()) field = it->get<std::string>();
  };
  take(info.description, "org.opencontainers.image.description");
  take(info.source, "org.opencontainers.image.source");
  take(info.licenses, "org.opencontainers.image.licenses");
  info.description = cut_utf8(std::move(info.description), kMaxDescriptionCharacters);
}

}  // namespace

void add_annotations(ImageInfo& info, std::string_view annotations_json) {
  if (annotations_json.empty()) return;
  add_from(info, nlohmann::json::parse(annotations_json, nullptr, false));
}

void add_config_labels(ImageInfo& info, std::string_view config_json) {
  auto doc = nlohmann::json::parse(config_json, nullptr, false);
  if (!doc.is_object()) return;
  auto config = doc.find("config");
  if (config == doc.end() || !config->is_object()) return;
  auto labels = config->find("Labels");
  if (labels != config->end()) add_from(info, *labels);
}

void add_helm_chart(ImageInfo& info, std::string_view config_json) {
  auto doc = nlohmann::json::parse(config_json, nullptr, false);
  if (!doc.is_object()) return;
  nlohmann::json labels = nlohmann::json::object();
  if (auto d = doc.find("description"); d != doc.end() && d->is_string()) {
    labels["org.opencontainers.image.description"] = *d;
  }
  if (auto s = doc.find("sources"); s != doc.end() && s->is_array() && !s->empty() && s->front().is_string()) {
    labels["org.opencontainers.image.source"] = s->front();
  } else if (auto h = doc.find("home"); h != doc.end() && h->is_string()) {
    labels["org.opencontainers.image.source"] = *h;
  }
  add_from(info, labels);
}

}  // namespace berth::registry
