// `berth admin team …`: teams inside an org (as on GitHub), their members, and their roles on the org's
// packages (docs/auth.md "Teams"). Every change is written to the audit log as `admin:<unix user>`.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace berth::cli {

// Adds the `team` subcommand tree under `admin` (the `berth admin` command, whose --config and --data
// options name the registry). `run` is set to the action chosen, if any.
void add_team_commands(CLI::App& admin, std::function<int()>& run);

}  // namespace berth::cli
