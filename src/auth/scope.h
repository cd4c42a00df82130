// Docker token-auth scopes: "repository:acme/app:pull,push", "registry:catalog:*".
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace berth::auth {

// pull, push and delete are the Docker token scopes' actions ("pull", "push", "delete"). restore (bring a
// deleted package or version back) exists only in the packages API: it is never granted in a bearer token.
enum class Action { pull, push, del, restore };

std::string_view action_name(Action action);
std::optional<Action> parse_action(std::string_view name);

struct ResourceScope {
  std::string type;  // "repository" | "registry"
  std::string name;  // repository name, or "catalog"
  std::set<std::string> actions;  // as requested ("pull", "push", "delete", "*")

  // "type:name:a,b" with actions sorted.
  std::string str() const;
};

// Parses one scope string; nullopt if malformed. Unknown types are returned as they are (the caller
// grants nothing for them).
std::optional<ResourceScope> parse_scope(std::string_view text);
// Parses every scope of a request (each `scope=` parameter may itself hold several, space-separated).
std::vector<ResourceScope> parse_scopes(const std::vector<std::string>& params);

}  // namespace berth::auth
