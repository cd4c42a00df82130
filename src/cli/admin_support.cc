#include "cli/admin_support.h"

#include <pwd.h>
#include <unistd.h>

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

}  // namespace berth::cli
