#include "hooks/payload.h"

#include <nlohmann/json.hpp>

#include "common/hasher.h"
#include "common/time.h"

namespace berth::hooks {

std::string payload(const meta::PackageEvent& event, const meta::Webhook& hook, const std::string& origin) {
  using json = nlohmann::json;
  const std::string host = origin.substr(origin.find("://") == std::string::npos ? 0 : origin.find("://") + 3);
  const std::string short_name = event.package.substr(event.package.find('/') + 1);
  const std::string reference = event.tags.empty() ? (event.digest.empty() ? "" : "@" + event.digest)
                                                   : ":" + event.tags.front();
  json owner = {{"login", event.owner}, {"url", origin + "/api/v3/users/" + event.owner}};
  json container_metadata = {{"tags", event.tags}};
  if (!event.tags.empty()) container_metadata["tag"] = {{"name", event.tags.front()}, {"digest", event.digest}};
  json version = {{"id", event.version_id},
                  {"version", event.digest},
                  {"name", event.digest},
                  {"package_url", host + "/" + event.package + reference},
                  {"container_metadata", std::move(container_metadata)},
                  {"created_at", utc_timestamp(event.at)},
                  {"updated_at", utc_timestamp(event.at)}};
  json package = {{"name", short_name},
                  {"namespace", event.owner},
                  {"ecosystem", "CONTAINER"},
                  {"package_type", "CONTAINER"},
                  {"full_name", event.package},
                  {"html_url", origin + "/" + event.package},
                  {"owner", owner},
                  {"package_version", std::move(version)},
                  {"registry", {{"url", origin}, {"vendor", "Berth"}, {"type", "docker"}, {"name", host}}}};
  json body = {{"action", event.action},
               {"registry_package", std::move(package)},
               {"hook", {{"id", hook.id}, {"events", hook.events}}}};
  return body.dump();
}

std::string signature(const std::string& secret, std::string_view body) {
  return "sha256=" + to_hex(hmac_sha256(secret, body));
}

}  // namespace berth::hooks
