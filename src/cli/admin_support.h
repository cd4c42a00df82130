// What every `berth admin` command file shares: how a failure is reported, the clock, and how a change
// made through the CLI is written to the audit log (with the operator's Unix account as the actor, since
// the CLI has no login of its own).
#pragma once

#include <cstdint>
#include <string>

#include "meta/identity_store.h"

namespace berth::cli {

// Prints "berth admin: MESSAGE" to stderr; returns the exit code 1.
int admin_fail(const std::string& message);
int64_t admin_now();
// "admin:<unix user>", or "admin" when the account has no name.
std::string admin_actor();
// Records a change that is already made: a failure to record it is a warning, not a failed command.
void record_admin_change(meta::IdentityStore& identity, std::string action, std::string target,
                         std::string detail = "");

}  // namespace berth::cli
