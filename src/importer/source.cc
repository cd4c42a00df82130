#include "importer/source.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <map>

#include "common/base64.h"
#include "common/percent_encoding.h"
#include "http/message.h"
#include "oci/manifest.h"

namespace berth::importer {

namespace {

constexpr const char* kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
constexpr int kMaxRedirects = 5;

// The parameters of a challenge: Bearer realm="…",service="…",scope="…".
std::map<std::string, std::string> challenge_params(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t i = text.find(' ');
  while (i != std::string_view::npos && i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
    const size_t eq = text.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key(text.substr(i, eq - i));
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value;
    i = eq + 1;
    if (i < text.size() && text[i] == '"') {
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value += text[i++];
      }
      ++i;
    } else {
      while (i < text.size() && text[i] != ',') value += text[i++];
    }
    out[key] = value;
  }
  return out;
}

// A Location: absolute, or a path on the same origin.
std::string resolve(const std::string& origin, const std::string& location) {
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  return origin + (location.starts_with("/") ? "" : "/") + location;
}

Status failed(const std::string& what, const http::ClientResponse& r) {
  const Errc code = r.status == 404 ? Errc::not_found
                    : r.status == 401 || r.status == 403 ? Errc::unauthorized
                    : r.status == 429 || r.status >= 500 ? Errc::unavailable
                                                          : Errc::io_error;
  std::string body = r.body.substr(0, 300);
  for (char& c : body) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return Status(code, what + ": the source answered " + std::to_string(r.status) + (body.empty() ? "" : " " + body));
}

}  // namespace

Source::Source(SourceOptions options)
    : options_(std::move(options)), origin_((options_.plain_http ? "http://" : "https://") + options_.registry) {}

Status Source::answer_challenge(const std::string& challenge, const std::string& repository) {
  const bool basic = http::iequals(std::string_view(challenge).substr(0, 5), "Basic");
  const std::string credentials = base64_encode(options_.username + ":" + options_.password);
  if (basic) {
    if (options_.username.empty()) return Status(Errc::unauthorized, "the source asks for credentials (--creds)");
    authorization_ = "Basic " + credentials;
    authorized_for_.clear();
    return Status::Ok();
  }
  auto params = challenge_params(challenge);
  if (!params.count("realm")) return Status(Errc::unauthorized, "the source's challenge names no realm: " + challenge);
  std::string url = params["realm"] + (params["realm"].find('?') == std::string::npos ? "?" : "&");
  if (params.count("service")) url += "service=" + percent_encode(params["service"]) + "&";
  url += "scope=" + percent_encode("repository:" + repository + ":pull");
  http::ClientRequest request{"GET", url, {}, {}, options_.timeout_seconds, options_.ca_file};
  if (!options_.username.empty()) request.headers.emplace_back("Authorization", "Basic " + credentials);
  auto answer = http::fetch(request, {}, 1024 * 1024);
  if (!answer.ok()) return Status(answer.status().code(), "token from " + params["realm"] + ": " + answer.status().message());
  if (answer->status != 200) return failed("token from " + params["realm"], *answer);
  auto body = nlohmann::json::parse(answer->body, nullptr, false);
  std::string token;
  if (body.is_object()) {
    for (const char* key : {"token", "access_token"}) {
      if (body.contains(key) && body[key].is_string()) token = body[key].get<std::string>();
      if (!token.empty()) break;
    }
  }
  if (token.empty()) return Status(Errc::unauthorized, "the token endpoint " + params["realm"] + " gave no token");
  authorization_ = "Bearer " + token;
  authorized_for_ = repository;
  return Status::Ok();
}

Result<http::ClientResponse> Source::get(const std::string& repository, const std::string& path,
                                         const std::string& accept, const http::ResponseSink& sink) {
  // A Bearer token is for one repository: another one starts anonymous and takes the challenge again.
  if (authorization_.starts_with("Bearer ") && authorized_for_ != repository) authorization_.clear();
  std::string url = origin_ + path;
  bool challenged = false;
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    const bool same_origin = url.starts_with(origin_ + "/");
    http::ClientRequest request{"GET", url, {}, {}, options_.timeout_seconds, options_.ca_file};
    if (!accept.empty()) request.headers.emplace_back("Accept", accept);
    if (same_origin && !authorization_.empty()) request.headers.emplace_back("Authorization", authorization_);
    auto answer = http::fetch(request, sink, 8 * 1024 * 1024);
    if (!answer.ok()) return answer.status();
    if (answer->status == 401 && same_origin && !challenged) {
      challenged = true;
      BERTH_RETURN_IF_ERROR(answer_challenge(answer->header("WWW-Authenticate").value_or(""), repository));
      --hop;
      continue;
    }
    if (answer->status == 301 || answer->status == 302 || answer->status == 303 || answer->status == 307 ||
        answer->status == 308) {
      auto location = answer->header("Location");
      if (!location) return Status(Errc::io_error, "a redirect without Location from " + url);
      url = resolve(origin_, *location);
      continue;
    }
    return answer;
  }
  return Status(Errc::io_error, "too many redirects from " + origin_ + path);
}

Result<std::vector<std::string>> Source::tags(const std::string& repository) {
  std::vector<std::string> out;
  std::string path = "/v2/" + repository + "/tags/list?n=1000";
  for (int page = 0; page < 10000 && !path.empty(); ++page) {
    auto r = get(repository, path, "application/json");
    if (!r.ok()) return r.status();
    if (r->status != 200) return failed("tags of " + repository, *r);
    auto body = nlohmann::json::parse(r->body, nullptr, false);
    if (!body.is_object()) return Status(Errc::io_error, "the tag list of " + repository + " is not JSON");
    if (body.contains("tags") && body["tags"].is_array()) {
      for (const auto& t : body["tags"]) {
        if (t.is_string()) out.push_back(t.get<std::string>());
      }
    }
    // Link: </v2/NAME/tags/list?last=…&n=…>; rel="next"
    path.clear();
    if (auto link = r->header("Link"); link && link->find("rel=\"next\"") != std::string::npos) {
      const size_t open = link->find('<'), close = link->find('>');
      if (open != std::string::npos && close != std::string::npos && close > open) {
        path = link->substr(open + 1, close - open - 1);
        if (path.starts_with(origin_)) path = path.substr(origin_.size());
      }
    }
  }
  return out;
}

Result<SourceManifest> Source::manifest(const std::string& repository, const std::string& reference) {
  auto r = get(repository, "/v2/" + repository + "/manifests/" + reference, kManifestAccept);
  if (!r.ok()) return r.status();
  if (r->status != 200) return failed("manifest " + repository + ":" + reference, *r);
  std::string type = r->header("Content-Type").value_or("");
  type = type.substr(0, type.find(';'));
  const oci::Digest digest = oci::Digest::of(r->body, HashAlgorithm::sha256);
  SourceManifest m{type, std::move(r->body), digest};
  if (reference.find(':') != std::string::npos) {
    auto wanted = oci::Digest::parse(reference);
    if (!wanted.ok()) return wanted.status();
    if (wanted->algorithm() != HashAlgorithm::sha256) m.digest = oci::Digest::of(m.content, wanted->algorithm());
    if (*wanted != m.digest) {
      return Status(Errc::digest_invalid, "the source's manifest " + reference + " has the digest " + m.digest.str());
    }
  }
  return m;
}

Status Source::blob(const std::string& repository, const oci::Digest& digest, const http::ResponseSink& sink) {
  auto r = get(repository, "/v2/" + repository + "/blobs/" + digest.str(), "", sink);
  if (!r.ok()) return r.status();
  if (r->status != 200) return failed("blob " + digest.str(), *r);
  return Status::Ok();
}

Result<std::vector<oci::Digest>> Source::referrers(const std::string& repository, const oci::Digest& subject) {
  auto r = get(repository, "/v2/" + repository + "/referrers/" + subject.str(), "application/vnd.oci.image.index.v1+json");
  if (!r.ok()) return r.status();
  std::vector<oci::Digest> out;
  if (r->status == 404 || r->status == 405 || r->status == 400) return out;  // no referrers API there
  if (r->status != 200) return failed("referrers of " + subject.str(), *r);
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  if (!body.is_object() || !body.contains("manifests") || !body["manifests"].is_array()) return out;
  for (const auto& d : body["manifests"]) {
    if (!d.is_object() || !d.contains("digest") || !d["digest"].is_string()) continue;
    auto digest = oci::Digest::parse(d["digest"].get<std::string>());
    if (digest.ok()) out.push_back(*digest);
  }
  return out;
}

}  // namespace berth::importer
