#include "api/packages_json.h"

#include <algorithm>

#include "api/github.h"
#include "common/time.h"
#include "oci/manifest.h"

namespace berth::api::packages_json {

namespace {

std::string owner_path(const Owner& o) { return (o.is_org ? "/orgs/" : "/users/") + o.login; }

std::string package_url(const std::string& repository, const Owner& o, const Links& links) {
  return links.api_base + owner_path(o) + "/packages/container/" + github::encode_component(short_name(repository));
}

std::string package_html_url(const std::string& repository, const Owner& o, const Links& links) {
  return links.origin + owner_path(o) + "/packages/container/package/" +
         github::encode_component(short_name(repository));
}

// "https://github.com/acme/app(.git)" -> "acme/app"; empty for anything else.
std::string github_full_name(const std::string& source) {
  constexpr std::string_view kPrefix = "https://github.com/";
  if (source.rfind(kPrefix, 0) != 0) return {};
  std::string rest = source.substr(kPrefix.size());
  if (rest.size() > 4 && rest.compare(rest.size() - 4, 4, ".git") == 0) rest.resize(rest.size() - 4);
  auto slash = rest.find('/');
  if (slash == std::string::npos || rest.find('/', slash + 1) != std::string::npos) return {};
  return rest;
}

}  // namespace

std::string short_name(const std::string& repository) {
  auto slash = repository.find('/');
  return slash == std::string::npos ? repository : repository.substr(slash + 1);
}

nlohmann::json owner(const Owner& o, const Links& links, std::optional<uint64_t> packages_size) {
  nlohmann::json j = {{"login", o.login},
                      {"id", o.id},
                      {"node_id", ""},
                      {"avatar_url", ""},
                      {"gravatar_id", ""},
                      {"url", links.api_base + "/users/" + o.login},
                      {"html_url", links.origin + "/" + o.login},
                      {"type", o.is_org ? "Organization" : "User"},
                      {"site_admin", false}};
  if (packages_size) j["packages_size"] = *packages_size;
  return j;
}

nlohmann::json package(const meta::PackageRecord& p, const Owner& o, const Links& links) {
  nlohmann::json j = {{"id", p.id},
                      {"name", short_name(p.name)},
                      {"package_type", "container"},
                      {"owner", owner(o, links, std::nullopt)},
                      {"version_count", p.version_count},
                      {"visibility", p.visibility},
                      {"url", package_url(p.name, o, links)},
                      {"html_url", package_html_url(p.name, o, links)},
                      {"created_at", utc_timestamp(p.created_at)},
                      {"updated_at", utc_timestamp(p.updated_at)},
                      {"size", p.size},
                      {"downloads", p.downloads},
                      {"description", p.description},
                      {"registry_name", links.host + "/" + p.name}};
  if (!p.source.empty()) {
    nlohmann::json repository = {{"html_url", p.source}};
    if (auto full = github_full_name(p.source); !full.empty()) repository["full_name"] = full;
    j["repository"] = std::move(repository);
  }
  return j;
}

nlohmann::json version(const meta::VersionRecord& v, const std::string& repository, const Owner& o,
                       const Links& links) {
  // Platforms are the index's descriptors (with their platform), in its order; BuildKit's attestation
  // manifests are listed with the referrers instead. Only an index is parsed: the rest have no platforms.
  nlohmann::json platforms = nlohmann::json::array();
  std::vector<std::string> attestations;
  std::vector<oci::Descriptor> children;
  if (oci::is_index_media_type(v.media_type)) {
    auto index = oci::parse_manifest(v.media_type, v.content);
    if (index.ok()) children = std::move(index->manifests);
  }
  for (const auto& d : children) {
    if (d.attestation) {
      attestations.push_back(d.digest.str());
      continue;
    }
    nlohmann::json entry = {{"digest", d.digest.str()}, {"media_type", d.media_type}, {"size", d.size}};
    if (!d.os.empty() || !d.architecture.empty()) {
      entry["os"] = d.os;
      entry["architecture"] = d.architecture;
      if (!d.variant.empty()) entry["variant"] = d.variant;
    }
    platforms.push_back(std::move(entry));
  }
  nlohmann::json referrers = nlohmann::json::array();
  for (const auto& part : v.parts) {
    const std::string digest = part.digest.str();
    const bool attestation = std::find(attestations.begin(), attestations.end(), digest) != attestations.end();
    if (!part.subject && !attestation) continue;  // a platform manifest
    nlohmann::json r = {{"digest", digest}, {"media_type", part.media_type}, {"size", part.manifest_size}};
    r["artifact_type"] = part.artifact_type ? nlohmann::json(*part.artifact_type) : nlohmann::json(nullptr);
    r["subject"] = part.subject ? nlohmann::json(part.subject->str()) : nlohmann::json(v.digest.str());
    if (attestation) r["attestation"] = true;
    referrers.push_back(std::move(r));
  }
  const std::string url = package_url(repository, o, links) + "/versions/" + std::to_string(v.id);
  nlohmann::json j = {
      {"id", v.id},
      {"name", v.digest.str()},
      {"url", url},
      {"package_html_url", package_html_url(repository, o, links)},
      {"html_url", links.origin + owner_path(o) + "/packages/container/" +
                       github::encode_component(short_name(repository)) + "/" + std::to_string(v.id)},
      {"created_at", utc_timestamp(v.created_at)},
      {"updated_at", utc_timestamp(std::max(v.updated_at, v.created_at))},
      {"metadata",
       {{"package_type", "container"},
        {"container",
         {{"tags", v.tags},
          {"media_type", v.media_type},
          {"platforms", std::move(platforms)},
          {"referrers", std::move(referrers)},
          {"size", v.size},
          {"unique_size", v.unique_size},
          {"downloads", v.downloads}}}}}};
  if (!v.licenses.empty()) j["license"] = v.licenses;
  if (!v.description.empty()) j["description"] = v.description;
  j["deleted_at"] = v.deleted_at ? nlohmann::json(utc_timestamp(*v.deleted_at)) : nlohmann::json(nullptr);
  return j;
}

}  // namespace berth::api::packages_json
