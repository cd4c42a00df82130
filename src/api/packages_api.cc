// The packages API: authentication as GitHub takes it, routing, scopes and rights, and the handlers.
#include "api/packages_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <regex>

#include <nlohmann/json.hpp>

#include "api/github.h"
#include "common/time.h"
#include "api/packages_call.h"
#include "api/packages_json.h"
#include "auth/secrets.h"
#include "oci/name.h"

namespace berth::api {

namespace {

using packages_call::Call;
using packages_call::Target;
using auth::Identity;

constexpr std::string_view kPrefixes[] = {"/api/v3", "/api"};
constexpr size_t kMaxBody = 64 * 1024;  // GraphQL queries; nothing else has a body

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!part.empty()) out.push_back(part);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

// seg[from…] joined with '/' (undecoded: Berth's endpoint names need no encoding).
std::string join_from(const std::vector<std::string_view>& seg, size_t from) {
  std::string out;
  for (size_t k = from; k < seg.size(); ++k) (out += out.empty() ? "" : "/") += seg[k];
  return out;
}

Target parse_target(std::string_view rest) {
  Target t;
  auto seg = split_path(rest);
  if (seg.empty()) {
    t.kind = Target::Kind::root;
    return t;
  }
  size_t i = 0;
  if (seg[0] == "user") {
    t.owner_kind = Target::OwnerKind::self;
    i = 1;
    if (seg.size() == 1) {
      t.kind = Target::Kind::user;
      return t;
    }
  } else if ((seg[0] == "users" || seg[0] == "orgs") && seg.size() >= 2) {
    t.owner_kind = seg[0] == "users" ? Target::OwnerKind::user : Target::OwnerKind::org;
    auto owner = github::decode_component(seg[1]);
    if (!owner) t.bad_encoding = true;
    // Logins are case-insensitive on GitHub; Berth's account names are lowercase.
    t.owner = owner.value_or("");
    std::transform(t.owner.begin(), t.owner.end(), t.owner.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    i = 2;
    if (seg.size() == 2) {
      t.kind = seg[0] == "users" ? Target::Kind::account : Target::Kind::org;
      return t;
    }
  } else {
    return t;
  }
  // Berth's own endpoints of an owner: OWNER/_berth/ENDPOINT.
  if (seg[i] == "_berth") {
    t.kind = Target::Kind::owner_policy;
    t.endpoint = join_from(seg, i + 1);
    return t;
  }
  if (seg[i] != "packages") return t;
  ++i;
  if (i == seg.size()) {
    t.kind = Target::Kind::packages;
    return t;
  }
  auto type = github::decode_component(seg[i]);
  if (!type) t.bad_encoding = true;
  t.package_type = type.value_or("");
  ++i;
  // What follows the name: Berth's own endpoints, NAME/_berth/ENDPOINT (no name component starts with
  // '_'); else, read from the end, /versions[/ID[/restore]] or /restore.
  size_t end = seg.size();
  Target::Kind kind = Target::Kind::package;
  if (auto berth = std::find(seg.begin() + static_cast<std::ptrdiff_t>(i), seg.end(), "_berth"); berth != seg.end()) {
    kind = Target::Kind::package_policy;
    end = static_cast<size_t>(berth - seg.begin());
    t.endpoint = join_from(seg, end + 1);
  } else if (end - i >= 3 && seg[end - 1] == "restore" && seg[end - 3] == "versions") {
    kind = Target::Kind::version_restore;
    t.version = std::string(seg[end - 2]);
    end -= 3;
  } else if (end - i >= 2 && seg[end - 2] == "versions") {
    kind = Target::Kind::version;
    t.version = std::string(seg[end - 1]);
    end -= 2;
  } else if (end - i >= 2 && seg[end - 1] == "versions") {
    kind = Target::Kind::versions;
    end -= 1;
  } else if (end - i >= 2 && seg[end - 1] == "restore") {
    kind = Target::Kind::package_restore;
    end -= 1;
  }
  if (end <= i) return t;
  for (size_t k = i; k < end; ++k) {
    auto part = github::decode_component(seg[k]);
    if (!part) t.bad_encoding = true;
    if (!t.package.empty()) t.package += '/';
    t.package += part.value_or("");
  }
  t.kind = kind;
  return t;
}

}  // namespace

bool PackagesApi::handles(std::string_view path) { return path == "/api" || path.starts_with("/api/"); }

http::Dispatch PackagesApi::on_request(http::Request& request) {
  request.route_label = "packages";
  return http::Dispatch::read_body(kMaxBody, [this](http::Request& req) { return answer(req); });
}

namespace {

// GET /api/v3/: what gh auth status calls to check a token. GitHub sends X-OAuth-Scopes here, and gh
// then insists on the scopes it needs for repositories (repo, read:org), which a registry token never
// has: like GitHub's fine-grained tokens, the root sends none, and gh accepts the token.
http::Response root(Call& call) {
  nlohmann::json body = {{"current_user_url", call.links.api_base + "/user"},
                         {"user_url", call.links.api_base + "/users/{user}"},
                         {"organization_url", call.links.api_base + "/orgs/{org}"},
                         {"user_packages_url", call.links.api_base + "/user/packages{?package_type,visibility}"}};
  return github::json(200, body.dump());
}

// POST /api/graphql: `gh auth status` asks `query UserCurrent{viewer{login}}`; nothing else is served.
http::Response graphql(Call& call) {
  if (call.request.method != "POST") return github::not_found();
  if (call.auth_off || call.identity.anonymous()) {
    return github::error(401, "This endpoint requires you to be authenticated.", "https://docs.github.com/graphql");
  }
  auto query = nlohmann::json::parse(call.request.body, nullptr, false);
  std::string text = query.is_object() && query.contains("query") && query["query"].is_string()
                         ? query["query"].get<std::string>()
                         : std::string();
  if (text.find("viewer") == std::string::npos) {
    nlohmann::json body = {{"errors", {{{"message", "Berth's GraphQL endpoint answers only { viewer { login } }"}}}}};
    return github::json(200, body.dump());
  }
  // Only the fields asked for: gh decodes the answer into a struct of exactly those and fails on any other.
  nlohmann::json viewer = {{"login", call.identity.user}};
  static const std::regex kIdField(R"(\bid\b)");
  if (std::regex_search(text, kIdField)) viewer["id"] = call.identity.user;
  nlohmann::json body = {{"data", {{"viewer", std::move(viewer)}}}};
  return github::json(200, body.dump());
}

// GET /user, /users/{name}, /orgs/{name}.
http::Response account(Call& call, const Target& target) {
  std::string name = target.owner;
  if (target.kind == Target::Kind::user) {
    if (call.auth_off || call.identity.anonymous()) return github::error(401, "Requires authentication");
    name = call.identity.user;
  }
  auto account = call.options.identity->get_account(name);
  if (!account.ok()) {
    spdlog::error("packages API: account {}: {}", name, account.status().message());
    return github::error(500, "Server Error");
  }
  if (!*account) return github::not_found();
  const bool is_org = (*account)->kind == meta::AccountKind::org;
  if (target.kind == Target::Kind::org && !is_org) return github::not_found();
  auto size = call.options.packages->owner_size(name);
  packages_json::Owner owner{name, (*account)->id, is_org};
  nlohmann::json body = packages_json::owner(owner, call.links, size.ok() ? std::optional<uint64_t>(*size) : std::nullopt);
  // GitHub's organization object names itself under /orgs/ (owners embedded elsewhere stay /users/).
  if (target.kind == Target::Kind::org) body["url"] = call.links.api_base + "/orgs/" + name;
  body["created_at"] = utc_timestamp((*account)->created_at);
  // Berth's: the owner's storage limit (docs/lifecycle.md, "Quotas"); packages_size is what counts.
  if (auto quotas = call.options.packages->quotas(name); quotas.ok() && !quotas->empty()) {
    const auto& limit = quotas->front().limit_bytes;
    body["packages_quota"] = limit ? nlohmann::json(*limit) : nlohmann::json(nullptr);
  }
  return github::json(200, body.dump());
}

http::Response route(Call& call, const Target& target) {
  if (target.bad_encoding) return github::error(400, "Malformed percent-encoding in the path.");
  const bool get = call.request.method == "GET" || call.request.method == "HEAD";
  switch (target.kind) {
    case Target::Kind::none: return github::not_found();
    case Target::Kind::root: return get ? root(call) : github::not_found();
    case Target::Kind::user:
    case Target::Kind::account:
    case Target::Kind::org: return get ? account(call, target) : github::not_found();
    default: return packages_call::handle_packages(call, target);
  }
}

}  // namespace

http::Response PackagesApi::answer(http::Request& request) {
  std::string_view path = request.path;
  std::string prefix;
  for (std::string_view p : kPrefixes) {
    if (path == p || path.starts_with(std::string(p) + "/")) {
      prefix = std::string(p);
      break;
    }
  }
  if (prefix.empty()) return github::not_found();
  std::string_view rest = path.substr(prefix.size());

  Call call{options_, request, {}, options_.access == nullptr, {}, prefix};
  // The origin this API names itself by: the configured external URL, or what the client called.
  std::string host(request.headers.get("Host").value_or("localhost"));
  call.links.origin = options_.external_url.empty() ? std::string(options_.tls ? "https://" : "http://") + host
                                                     : options_.external_url;
  call.links.host = call.links.origin.substr(call.links.origin.find("://") + 3);
  call.links.api_base = call.links.origin + prefix;

  // GitHub takes a token as `token X`, `Bearer X` or Basic user:X; Berth's bearer JWTs (from /token)
  // are accepted too.
  if (!call.auth_off) {
    auto header = request.headers.get("Authorization");
    Result<Identity> who = Identity{};
    int64_t retry_after = 0;
    if (header && header->size() > 6 && http::iequals(header->substr(0, 6), "token ")) {
      who = options_.access->login_with_token(std::string(header->substr(6)), request.remote_address, &retry_after);
    } else if (header && auth::is_bearer(*header) && auth::looks_like_token(header->substr(7))) {
      who = options_.access->login_with_token(std::string(header->substr(7)), request.remote_address, &retry_after);
    } else {
      who = options_.access->authenticate(header, request.remote_address, &retry_after);
    }
    if (!who.ok()) {
      if (who.status().code() == Errc::too_many_requests) {
        http::Response r = github::error(429, "Too many failed logins: retry later.");
        r.headers.set("Retry-After", std::to_string(std::max<int64_t>(1, retry_after)));
        return r;
      }
      return github::error(401, "Bad credentials");
    }
    call.identity = std::move(*who);
    request.principal = call.identity.actor();
  } else {
    request.principal = "anonymous";
  }

  // GraphQL lives at /api/graphql only (GitHub Enterprise Server's path).
  if (prefix == "/api" && (rest == "/graphql" || rest == "/graphql/")) return graphql(call);
  Target target = parse_target(rest);
  http::Response r = route(call, target);
  // GitHub names the token's scopes on every answer to an authenticated call, except the API root (see
  // root()).
  if (!call.auth_off && !call.identity.anonymous() && target.kind != Target::Kind::root) {
    std::string scopes;
    for (const auto& scope : call.identity.scopes) scopes += (scopes.empty() ? "" : ", ") + scope;
    r.headers.set("X-OAuth-Scopes", scopes);
  }
  return r;
}

}  // namespace berth::api
