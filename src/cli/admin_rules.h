// `berth admin tag-rule …`, `berth admin retention …` and `berth admin package semver …`: immutable tag
// patterns and retention policies for an owner or one package, and a package's semver policy
// (docs/lifecycle.md). Every change goes to the audit log as `admin:<unix user>`.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace berth::cli {

// Adds `tag-rule` and `retention` under `admin`, and `semver` under its `package` command.
void add_rule_commands(CLI::App& admin, CLI::App& package, std::function<int()>& run);

}  // namespace berth::cli
