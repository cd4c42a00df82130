// GitHub's REST API for packages (docs/packages.md), under /api/v3/ and /api/: owners, packages and
// their versions, soft delete and restore, with GitHub's scopes, errors and pagination. Also the two
// calls `gh auth status` makes (the API root and GraphQL's viewer login).
//
// Every request runs on the blocking pool: listings read several rows per version, and on PostgreSQL
// each read is a network round trip that must not hold an I/O thread.
#pragma once

#include <string>
#include <string_view>

#include "auth/access.h"
#include "http/message.h"
#include "meta/identity_store.h"
#include "meta/package_store.h"

namespace berth::api {

struct PackagesApiOptions {
  meta::PackageStore* packages = nullptr;
  meta::IdentityStore* identity = nullptr;
  auth::AccessControl* access = nullptr;  // null: authentication off, everyone may do everything
  // Where Berth is reached (scheme://host[:port]); empty: from the request's Host header.
  std::string external_url;
  bool tls = false;  // the scheme when external_url is empty
};

class PackagesApi {
 public:
  explicit PackagesApi(PackagesApiOptions options) : options_(std::move(options)) {}

  // Whether the path belongs to this API.
  static bool handles(std::string_view path);
  http::Dispatch on_request(http::Request& request);

 private:
  http::Response answer(http::Request& request);

  PackagesApiOptions options_;
};

}  // namespace berth::api
