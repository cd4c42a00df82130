// The JSON objects of the packages API, shaped as GitHub's (docs/packages.md lists the fields): owners,
// packages and versions, with Berth's additions beside GitHub's fields.
//
// Internal to api/ (packages_api.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "meta/package_store.h"

namespace berth::api::packages_json {

// Where the API and the registry are reached, for url/html_url fields.
struct Links {
  std::string origin;    // scheme://host[:port]
  std::string api_base;  // origin + "/api/v3" or "/api" (as the request came)
  std::string host;      // host[:port], for pull references
};

struct Owner {
  std::string login;
  int64_t id = 0;
  bool is_org = false;
};

nlohmann::json owner(const Owner& owner, const Links& links, std::optional<uint64_t> packages_size);
// The package's name without its owner ("platform/sbl/python-alpine").
std::string short_name(const std::string& repository);
nlohmann::json package(const meta::PackageRecord& p, const Owner& owner, const Links& links);
nlohmann::json version(const meta::VersionRecord& v, const std::string& repository, const Owner& owner,
                       const Links& links);

}  // namespace berth::api::packages_json
