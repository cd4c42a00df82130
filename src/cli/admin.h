// `berth admin …`: users, orgs, members, tokens, package visibility and roles, the audit log and
// Kubernetes pull secrets. Works directly on a registry's data directory (or its config file), so a
// registry can be set up before it starts. Commands that create a secret print only the secret on
// stdout; everything else a person reads goes to stderr or is a table on stdout.
#pragma once

#include <CLI/CLI.hpp>

namespace berth::cli {

// Adds the `admin` subcommand tree to the app. `run` is set to the action chosen, if any.
void add_admin_commands(CLI::App& app, std::function<int()>& run);

}  // namespace berth::cli
