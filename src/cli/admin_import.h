// `berth admin import SOURCE --to OWNER/NAME`: copies a repository from another registry (docs/import.md).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace berth::cli {

void add_import_command(CLI::App& admin, std::function<int()>& run);

}  // namespace berth::cli
