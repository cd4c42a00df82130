// `berth gc [--dry-run]`: one whole garbage-collection pass now (docs/lifecycle.md), on the registry a
// configuration or data directory names, while it serves or not; and how a pass is written to the audit
// log, shared with `berth serve`'s background collector.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "lifecycle/collector.h"
#include "meta/identity_store.h"

namespace berth::cli {

// Adds the `gc` subcommand. `run` is set to its action when it is chosen.
void add_gc_command(CLI::App& app, std::function<int()>& run);

// One audit entry for a completed pass: action "gc.pass", target the node that collected.
void record_gc_pass(meta::IdentityStore& identity, const std::string& actor, const std::string& node,
                    const lifecycle::CollectorStats& stats);

// What the lease calls this process: "<hostname>:<pid>".
std::string collector_node_name();
// Whether a lease holder named by collector_node_name() is a process of this host that has exited.
bool collector_node_gone(const std::string& holder);

}  // namespace berth::cli
