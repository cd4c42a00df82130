// `berth admin webhook …`: webhooks of an owner or a package (docs/webhooks.md) and their delivery log.
// Every change goes to the audit log as `admin:<unix user>`.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace berth::cli {

void add_webhook_commands(CLI::App& admin, std::function<int()>& run);

}  // namespace berth::cli
