// What every `berth admin` command file shares: how a failure is reported, the clock, and how a change
// made through the CLI is written to the audit log (with the operator's Unix account as the actor, since
// the CLI has no login of its own).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>

#include "cli/backends.h"
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

// "97.7 MiB": bytes for people.
std::string human_bytes(uint64_t bytes);

// What was given for `name` (e.g. "--data") on `cmd` or the nearest command above it that defines the
// option; empty when it was not given. Looked up when the command runs, so a command file needs nothing
// from admin.cc but the `admin` command itself.
std::string admin_option(const CLI::App* cmd, const std::string& name);

// Makes `action` what runs (through `run`, which the admin command calls) when `cmd` is chosen.
inline void on_admin_run(std::function<int()>& run, CLI::App* cmd, std::function<int()> action) {
  cmd->callback([&run, action = std::move(action)] { run = action; });
}

// The configuration `serve` would use (configuration file, then BERTH_* variables, then --data), for
// commands that open more than the metadata.
int with_admin_config(const CLI::App* cmd, const std::function<int(const Config&)>& body);

// Opens the registry's metadata the way `serve` finds it (configuration file, then BERTH_* variables,
// then --data) and runs `body` on it; a failure to open is reported like any other.
int with_admin_metadata(const CLI::App* cmd, const std::function<int(Backends&)>& body);

}  // namespace berth::cli
