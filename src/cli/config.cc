#include "cli/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>

namespace berth::cli {

namespace {

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_bool(std::string_view text, bool& out) {
  if (text == "1" || text == "true" || text == "yes" || text == "on") return out = true, true;
  if (text == "0" || text == "false" || text == "no" || text == "off") return out = false, true;
  return false;
}

// Reads node[key] into out if present; false with an error message if it has the wrong type.
template <class T>
bool read(const YAML::Node& node, const char* key, T& out, std::string& error, const std::string& where) {
  // A section written as a scalar (`http: 8080`) has no keys: yaml-cpp would throw BadSubscript.
  if (node && node.IsScalar()) {
    error = "config key " + where.substr(0, where.empty() ? 0 : where.size() - 1) + " must be a mapping";
    return false;
  }
  if (!node || !node[key]) return true;
  try {
    out = node[key].as<T>();
    return true;
  } catch (const YAML::Exception&) {
    error = "config key " + where + key + " has the wrong type";
    return false;
  }
}

// server.external_url must be what clients can put in front of /v2/…: scheme and authority only. A path
// would not work (the distribution API lives at the host's root), and credentials, a query or a fragment
// would end up in every challenge and Location header.
Status normalize_external_url(std::string& url) {
  auto bad = [&url](const std::string& why) {
    return Status(Errc::invalid_argument, "server.external_url (BERTH_EXTERNAL_URL) " + why + ", got '" + url + "'");
  };
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return bad("must start with http:// or https://");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("?#") != std::string_view::npos) return bad("must not have a query or fragment");
  if (rest.find('/') != std::string_view::npos) return bad("must not have a path (the registry is served at /v2/)");
  if (rest.find('@') != std::string_view::npos) return bad("must not contain credentials");
  std::string_view port;
  bool has_port = false;
  if (rest.starts_with('[')) {  // an IPv6 literal
    auto close = rest.find(']');
    std::string_view v6 = rest.substr(1, close == std::string_view::npos ? 0 : close - 1);
    if (v6.empty() || v6.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      return bad("has an invalid IPv6 address");
    }
    std::string_view after = rest.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return bad("has text after the IPv6 address");
    if (!after.empty()) has_port = true, port = after.substr(1);
  } else {
    auto colon = rest.find(':');
    std::string_view host = rest.substr(0, colon);
    if (colon != std::string_view::npos) has_port = true, port = rest.substr(colon + 1);
    if (host.empty()) return bad("needs a host");
    if (host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
        std::string_view::npos) {
      return bad("has an invalid host name");
    }
  }
  uint16_t number = 0;
  if (has_port && (!parse_number(port, number) || number == 0)) return bad("has an invalid port");
  url.resize(url.size() - (url.ends_with('/') ? 1 : 0));
  return Status::Ok();
}

}  // namespace

Result<Config> load_config_file(const std::string& path) {
  Config c;
  if (path.empty()) return c;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return Status(Errc::invalid_argument, "cannot read config " + path + ": " + e.what());
  }
  // Keys are looked up by name: a file that is one scalar (`listen 127.0.0.1:5000`, a colon's space
  // forgotten) or a list has none, and subscripting a scalar throws. An empty file is no keys at all.
  if (!root.IsMap() && !root.IsNull()) {
    return Status(Errc::invalid_argument, path + ": the config must be a mapping of keys (key: value)");
  }
  std::string error;
  const YAML::Node s3 = root["s3"];
  bool ok = read(root, "listen", c.listen, error, "") && read(root, "data", c.data, error, "") &&
            read(root, "storage", c.storage, error, "") && read(root, "metadata", c.metadata, error, "") &&
            read(root["postgres"], "url", c.postgres_url, error, "postgres.") &&
            read(s3, "endpoint", c.s3.endpoint, error, "s3.") && read(s3, "region", c.s3.region, error, "s3.") &&
            read(s3, "bucket", c.s3.bucket, error, "s3.") && read(s3, "access_key", c.s3.access_key, error, "s3.") &&
            read(s3, "secret_key", c.s3.secret_key, error, "s3.") && read(s3, "prefix", c.s3.prefix, error, "s3.") &&
            read(s3, "ca_file", c.s3.ca_file, error, "s3.") && read(s3, "path_style", c.s3.path_style, error, "s3.") &&
            read(s3, "verify_tls", c.s3.verify_tls, error, "s3.") &&
            read(s3, "part_size_bytes", c.s3.part_size_bytes, error, "s3.") &&
            read(s3, "redirect_seconds", c.s3.redirect_seconds, error, "s3.") &&
            read(root["tls"], "cert", c.tls_cert, error, "tls.") && read(root["tls"], "key", c.tls_key, error, "tls.") &&
            read(root["http"], "io_threads", c.io_threads, error, "http.") &&
            read(root["http"], "trusted_proxies", c.trusted_proxies, error, "http.") &&
            read(root["http"], "blocking_threads", c.blocking_threads, error, "http.") &&
            read(root["http"], "route_requests_on", c.route_requests_on, error, "http.") &&
            read(root["http"], "header_limit_bytes", c.header_limit_bytes, error, "http.") &&
            read(root["http"], "idle_timeout_seconds", c.idle_timeout_seconds, error, "http.") &&
            read(root["http"], "header_timeout_seconds", c.header_timeout_seconds, error, "http.") &&
            read(root["http"], "max_connections", c.max_connections, error, "http.") &&
            read(root["http"], "shutdown_grace_seconds", c.shutdown_grace_seconds, error, "http.") &&
            read(root["limits"], "max_manifest_bytes", c.max_manifest_bytes, error, "limits.") &&
            read(root["uploads"], "expire_after_seconds", c.upload_expire_after_seconds, error, "uploads.") &&
            read(root["uploads"], "sweep_interval_seconds", c.upload_sweep_interval_seconds, error, "uploads.") &&
            read(root["uploads"], "empty_expire_after_seconds", c.upload_empty_expire_after_seconds, error,
                 "uploads.") &&
            read(root["uploads"], "max_open_per_account", c.uploads_max_open_per_account, error, "uploads.") &&
            read(root["uploads"], "max_open_per_address", c.uploads_max_open_per_address, error, "uploads.") &&
            read(root["packages"], "restore_window_seconds", c.packages_restore_window_seconds, error, "packages.") &&
            read(root["gc"], "enabled", c.gc_enabled, error, "gc.") &&
            read(root["gc"], "grace_period_seconds", c.gc_grace_seconds, error, "gc.") &&
            read(root["gc"], "interval_seconds", c.gc_interval_seconds, error, "gc.") &&
            read(root["gc"], "step_budget", c.gc_step_budget, error, "gc.") &&
            read(root["gc"], "pass_interval_seconds", c.gc_pass_interval_seconds, error, "gc.") &&
            read(root["retention"], "interval_seconds", c.retention_interval_seconds, error, "retention.") &&
            read(root["webhooks"], "first_retry_seconds", c.webhook_first_retry_seconds, error, "webhooks.") &&
            read(root["webhooks"], "max_attempts", c.webhook_max_attempts, error, "webhooks.") &&
            read(root["log"], "level", c.log_level, error, "log.") && read(root["log"], "access", c.access_log, error, "log.") &&
            read(root["auth"], "enabled", c.auth_enabled, error, "auth.") &&
            read(root["auth"], "service", c.auth_service, error, "auth.") &&
            read(root["auth"], "realm", c.auth_realm, error, "auth.") &&
            read(root["auth"], "signing_key_file", c.auth_signing_key_file, error, "auth.") &&
            read(root["auth"], "token_ttl_seconds", c.auth_token_ttl_seconds, error, "auth.") &&
            read(root["auth"], "revocation_check_seconds", c.auth_revocation_check_seconds, error, "auth.") &&
            read(root["server"], "external_url", c.external_url, error, "server.");
  if (!ok) return Status(Errc::invalid_argument, path + ": " + error);
  return c;
}

Status apply_environment(Config& c) {
  auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
  };
  auto number = [&env](const char* name, auto& out) -> Status {
    const char* v = env(name);
    if (v && !parse_number(v, out)) return Status(Errc::invalid_argument, std::string(name) + " must be a number");
    return Status::Ok();
  };
  if (auto v = env("BERTH_LISTEN")) c.listen = v;
  if (auto v = env("BERTH_DATA")) c.data = v;
  if (auto v = env("BERTH_TLS_CERT")) c.tls_cert = v;
  if (auto v = env("BERTH_TLS_KEY")) c.tls_key = v;
  if (auto v = env("BERTH_LOG_LEVEL")) c.log_level = v;
  BERTH_RETURN_IF_ERROR(number("BERTH_IO_THREADS", c.io_threads));
  if (auto v = env("BERTH_ACCESS_LOG"); v && !parse_bool(v, c.access_log)) {
    return Status(Errc::invalid_argument, "BERTH_ACCESS_LOG must be true or false");
  }
  if (auto v = env("BERTH_TRUSTED_PROXIES")) {
    c.trusted_proxies.clear();
    std::string_view list = v;
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      if (!item.empty()) c.trusted_proxies.emplace_back(item);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  if (auto v = env("BERTH_EXTERNAL_URL")) c.external_url = v;
  if (auto v = env("BERTH_STORAGE")) c.storage = v;
  if (auto v = env("BERTH_METADATA")) c.metadata = v;
  if (auto v = env("BERTH_POSTGRES_URL")) c.postgres_url = v;
  if (auto v = env("BERTH_S3_ENDPOINT")) c.s3.endpoint = v;
  if (auto v = env("BERTH_S3_REGION")) c.s3.region = v;
  if (auto v = env("BERTH_S3_BUCKET")) c.s3.bucket = v;
  if (auto v = env("BERTH_S3_ACCESS_KEY")) c.s3.access_key = v;
  if (auto v = env("BERTH_S3_SECRET_KEY")) c.s3.secret_key = v;
  if (auto v = env("BERTH_S3_PREFIX")) c.s3.prefix = v;
  if (auto v = env("BERTH_S3_CA_FILE")) c.s3.ca_file = v;
  BERTH_RETURN_IF_ERROR(number("BERTH_S3_REDIRECT_SECONDS", c.s3.redirect_seconds));
  if (auto v = env("BERTH_S3_PATH_STYLE"); v && !parse_bool(v, c.s3.path_style)) {
    return Status(Errc::invalid_argument, "BERTH_S3_PATH_STYLE must be true or false");
  }
  if (auto v = env("BERTH_S3_VERIFY_TLS"); v && !parse_bool(v, c.s3.verify_tls)) {
    return Status(Errc::invalid_argument, "BERTH_S3_VERIFY_TLS must be true or false");
  }
  if (auto v = env("BERTH_AUTH_ENABLED"); v && !parse_bool(v, c.auth_enabled)) {
    return Status(Errc::invalid_argument, "BERTH_AUTH_ENABLED must be true or false");
  }
  if (auto v = env("BERTH_AUTH_REALM")) c.auth_realm = v;
  if (auto v = env("BERTH_AUTH_SIGNING_KEY_FILE")) c.auth_signing_key_file = v;
  BERTH_RETURN_IF_ERROR(number("BERTH_AUTH_REVOCATION_CHECK_SECONDS", c.auth_revocation_check_seconds));
  BERTH_RETURN_IF_ERROR(number("BERTH_AUTH_TOKEN_TTL_SECONDS", c.auth_token_ttl_seconds));
  BERTH_RETURN_IF_ERROR(number("BERTH_UPLOAD_EXPIRE_AFTER_SECONDS", c.upload_expire_after_seconds));
  BERTH_RETURN_IF_ERROR(number("BERTH_UPLOAD_SWEEP_SECONDS", c.upload_sweep_interval_seconds));
  BERTH_RETURN_IF_ERROR(number("BERTH_PACKAGES_RESTORE_WINDOW_SECONDS", c.packages_restore_window_seconds));
  if (auto v = env("BERTH_GC_ENABLED"); v && !parse_bool(v, c.gc_enabled)) {
    return Status(Errc::invalid_argument, "BERTH_GC_ENABLED must be true or false");
  }
  BERTH_RETURN_IF_ERROR(number("BERTH_GC_GRACE_SECONDS", c.gc_grace_seconds));
  BERTH_RETURN_IF_ERROR(number("BERTH_GC_INTERVAL_SECONDS", c.gc_interval_seconds));
  BERTH_RETURN_IF_ERROR(number("BERTH_GC_PASS_INTERVAL_SECONDS", c.gc_pass_interval_seconds));
  BERTH_RETURN_IF_ERROR(number("BERTH_RETENTION_INTERVAL_SECONDS", c.retention_interval_seconds));
  BERTH_RETURN_IF_ERROR(number("BERTH_HTTP_MAX_CONNECTIONS", c.max_connections));
  if (auto v = env("BERTH_HTTP_ROUTE_REQUESTS_ON")) c.route_requests_on = v;
  BERTH_RETURN_IF_ERROR(number("BERTH_UPLOAD_MAX_OPEN_PER_ACCOUNT", c.uploads_max_open_per_account));
  BERTH_RETURN_IF_ERROR(number("BERTH_UPLOAD_MAX_OPEN_PER_ADDRESS", c.uploads_max_open_per_address));
  BERTH_RETURN_IF_ERROR(number("BERTH_UPLOAD_EMPTY_EXPIRE_AFTER_SECONDS", c.upload_empty_expire_after_seconds));
  BERTH_RETURN_IF_ERROR(number("BERTH_HTTP_HEADER_TIMEOUT_SECONDS", c.header_timeout_seconds));
  BERTH_RETURN_IF_ERROR(number("BERTH_WEBHOOK_FIRST_RETRY_SECONDS", c.webhook_first_retry_seconds));
  BERTH_RETURN_IF_ERROR(number("BERTH_WEBHOOK_MAX_ATTEMPTS", c.webhook_max_attempts));
  if (c.webhook_first_retry_seconds < 1 || c.webhook_max_attempts < 1) {
    return Status(Errc::invalid_argument, "webhooks.first_retry_seconds and webhooks.max_attempts must be at least 1");
  }
  if (c.gc_grace_seconds < 0) return Status(Errc::invalid_argument, "gc.grace_period_seconds must not be negative");
  if (c.gc_interval_seconds < 1) return Status(Errc::invalid_argument, "gc.interval_seconds must be at least 1");
  if (c.route_requests_on != "auto" && c.route_requests_on != "pool" && c.route_requests_on != "io") {
    return Status(Errc::invalid_argument,
                  "http.route_requests_on must be auto, pool or io, got '" + c.route_requests_on + "'");
  }
  if (c.storage != "filesystem" && c.storage != "s3") {
    return Status(Errc::invalid_argument, "storage must be filesystem or s3, got '" + c.storage + "'");
  }
  if (c.metadata != "sqlite" && c.metadata != "postgres") {
    return Status(Errc::invalid_argument, "metadata must be sqlite or postgres, got '" + c.metadata + "'");
  }
  if (c.metadata == "postgres" && c.postgres_url.empty()) {
    return Status(Errc::invalid_argument, "metadata: postgres needs postgres.url (or BERTH_POSTGRES_URL)");
  }
  if (!c.external_url.empty()) BERTH_RETURN_IF_ERROR(normalize_external_url(c.external_url));
  return Status::Ok();
}

std::string external_host(const std::string& external_url) {
  auto scheme_end = external_url.find("://");
  return scheme_end == std::string::npos ? external_url : external_url.substr(scheme_end + 3);
}

Status split_listen(const std::string& listen, std::string& host, uint16_t& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return Status(Errc::invalid_argument, "listen must be HOST:PORT, got '" + listen + "'");
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  if (!parse_number(std::string_view(listen).substr(colon + 1), port)) {
    return Status(Errc::invalid_argument, "invalid port in listen address '" + listen + "'");
  }
  return Status::Ok();
}

}  // namespace berth::cli
