// `berth fsck [--verify] [--repair]`: checks the blobs of the registry a configuration or data directory
// names, while it serves or not (lifecycle/fsck.h), and reports the damage by package and version.
// Exit status: 0 no damage to any image, 1 usage or backend error, 2 damage to a blob a manifest names.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace berth::cli {

// Adds the `fsck` subcommand. `run` is set to its action when it is chosen.
void add_fsck_command(CLI::App& app, std::function<int()>& run);

}  // namespace berth::cli
