// GET /v2/<name>/tags/list, GET /v2/_catalog, GET /v2/<name>/referrers/<digest>
#include <nlohmann/json.hpp>

#include "api/distribution.h"
#include "api/errors.h"
#include "oci/manifest.h"

namespace berth::api {

namespace {
// Without ?n= the tag list is whole (as the spec asks); the catalog is paged at this size.
constexpr size_t kWholeList = 1'000'000;
constexpr size_t kCatalogDefaultPage = 10'000;

// {"<key>":"<name>","<list key>":[...]} written directly: listings can hold 10,000 names and a JSON
// DOM for them costs more than the database query. Names and tags come from validated grammars, but
// quotes, backslashes and control characters are escaped anyway.
// Runs of characters that need no escape are copied at once.
void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\u00";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

std::string names_json(const std::string* name, const char* list_key, const std::vector<std::string>& items) {
  std::string out;
  size_t estimate = 32;
  for (const auto& item : items) estimate += item.size() + 3;
  out.reserve(estimate);
  out.push_back('{');
  if (name) {
    out += "\"name\":";
    append_json_string(out, *name);
    out.push_back(',');
  }
  out.push_back('"');
  out += list_key;
  out += "\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, items[i]);
  }
  out += "]}";
  return out;
}

std::string next_link(const std::string& path, size_t n, const std::string& last) {
  return "<" + path + "?n=" + std::to_string(n) + "&last=" + last + ">; rel=\"next\"";
}
}  // namespace

http::Dispatch handle_tags(registry::Registry& registry, TagListCache& cache, http::Request& request,
                           const Route& route) {
  if (request.method != "GET" && request.method != "HEAD") return method_not_allowed();
  auto query = parse_page_query(request);
  if (!query.ok()) return http::Dispatch::respond(error_response(query.status()));
  size_t limit = query->n.value_or(kWholeList);
  // The version is read before the list: a list rendered after it is at least that recent, so keeping it
  // under that version never serves anything older than a fresh read would.
  auto version = registry.tag_version(route.name);
  if (!version.ok()) return http::Dispatch::respond(error_response(version.status()));
  if (auto hit = cache.find(route.name, query->last, limit, *version)) {
    http::Response r = http::Response::json(200, *hit->body);
    if (!hit->link.empty()) r.headers.set("Link", hit->link);
    return http::Dispatch::respond(std::move(r));
  }
  auto page = registry.list_tags(route.name, query->last, limit);
  if (!page.ok()) return http::Dispatch::respond(error_response(page.status()));
  http::Response r = http::Response::json(200, names_json(&route.name, "tags", page->items));
  std::string link;
  if (page->more && !page->items.empty()) {
    link = next_link("/v2/" + route.name + "/tags/list", limit, page->items.back());
    r.headers.set("Link", link);
  }
  if (page->items.size() >= TagListCache::kMinItems) {
    cache.store(route.name, query->last, limit, *version,
                TagListCache::Entry{std::make_shared<const std::string>(r.body), std::move(link)});
  }
  return http::Dispatch::respond(std::move(r));
}

http::Dispatch handle_catalog(registry::Registry& registry, http::Request& request, CatalogPager readable) {
  if (request.method != "GET" && request.method != "HEAD") return method_not_allowed();
  auto query = parse_page_query(request);
  if (!query.ok()) return http::Dispatch::respond(error_response(query.status()));
  const size_t limit = std::min(query->n.value_or(kCatalogDefaultPage), kCatalogDefaultPage);
  if (!readable) {
    readable = [&registry](const std::string& after, size_t n) { return registry.list_repositories(after, n); };
  }
  // Filtering reads pages of repositories until this one is full: off the I/O thread.
  return http::Dispatch::offload([readable = std::move(readable), after = query->last, limit](http::Request&) {
    auto page = readable(after, limit);
    if (!page.ok()) return error_response(page.status());
    http::Response r = http::Response::json(200, names_json(nullptr, "repositories", page->items));
    if (page->more && !page->items.empty()) {
      r.headers.set("Link", next_link("/v2/_catalog", limit, page->items.back()));
    }
    return r;
  });
}

http::Response empty_referrers_index() {
  nlohmann::json body = {{"schemaVersion", 2},
                         {"mediaType", oci::media_type::kOciIndex},
                         {"manifests", nlohmann::json::array()}};
  http::Response r;
  r.headers.set("Content-Type", std::string(oci::media_type::kOciIndex));
  r.body = body.dump();
  return r;
}

http::Dispatch handle_referrers(registry::Registry& registry, http::Request& request, const Route& route) {
  if (request.method != "GET" && request.method != "HEAD") return method_not_allowed();
  auto subject = oci::Digest::parse(route.leaf);
  if (!subject.ok()) return http::Dispatch::respond(error_response(subject.status()));
  auto artifact_type = request.query_param("artifactType");
  if (artifact_type && artifact_type->empty()) artifact_type.reset();
  auto referrers = registry.referrers(route.name, *subject, artifact_type);
  if (!referrers.ok()) return http::Dispatch::respond(error_response(referrers.status()));

  nlohmann::json manifests = nlohmann::json::array();
  for (const auto& ref : *referrers) {
    nlohmann::json d = {{"mediaType", ref.media_type}, {"digest", ref.digest.str()}, {"size", ref.size}};
    if (ref.artifact_type) d["artifactType"] = *ref.artifact_type;
    if (!ref.annotations_json.empty()) {
      auto annotations = nlohmann::json::parse(ref.annotations_json, nullptr, false);
      if (annotations.is_object() && !annotations.empty()) d["annotations"] = annotations;
    }
    manifests.push_back(std::move(d));
  }
  nlohmann::json body = {
      {"schemaVersion", 2}, {"mediaType", oci::media_type::kOciIndex}, {"manifests", std::move(manifests)}};
  http::Response r;
  r.headers.set("Content-Type", std::string(oci::media_type::kOciIndex));
  if (artifact_type) r.headers.set("OCI-Filters-Applied", "artifactType");
  r.body = body.dump();
  return http::Dispatch::respond(std::move(r));
}

}  // namespace berth::api
