#include "cli/admin_support.h"

#include "cli/config.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>

namespace berth::cli {

int admin_fail(const std::string& message) {
  std::cerr << "berth admin: " << message << "\n";
  return 1;
}

int64_t admin_now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string admin_actor() {
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(::geteuid(), &pw, buf, sizeof buf, &found) == 0 && found && found->pw_name && *found->pw_name) {
    return std::string("admin:") + found->pw_name;
  }
  return "admin";
}

void record_admin_change(meta::IdentityStore& identity, std::string action, std::string target, std::string detail) {
  meta::AuditEvent event{0, admin_now(), admin_actor(), std::move(action), std::move(target), "allowed", "cli",
                         std::move(detail)};
  if (Status s = identity.record_audit(event); !s.ok()) {
    std::cerr << "berth admin: warning: the change was made but not recorded in the audit log: " << s.message()
              << "\n";
  }
}

std::string admin_option(const CLI::App* cmd, const std::string& name) {
  for (; cmd != nullptr; cmd = cmd->get_parent()) {
    if (const CLI::Option* option = cmd->get_option_no_throw(name)) {
      return option->count() > 0 ? option->results().back() : std::string();
    }
  }
  return {};
}

int with_admin_config(const CLI::App* cmd, const std::function<int(const Config&)>& body) {
  auto config = load_config_file(admin_option(cmd, "--config"));
  if (!config.ok()) return admin_fail(config.status().message());
  if (Status s = apply_environment(*config); !s.ok()) return admin_fail(s.message());
  if (std::string data = admin_option(cmd, "--data"); !data.empty()) config->data = data;
  return body(*config);
}

int with_admin_metadata(const CLI::App* cmd, const std::function<int(Backends&)>& body) {
  return with_admin_config(cmd, [&](const Config& config) {
    auto backends = open_metadata(config);
    if (!backends.ok()) return admin_fail(backends.status().message());
    return body(*backends);
  });
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace berth::cli
