#include "auth/scope.h"

namespace berth::auth {

std::string_view action_name(Action action) {
  switch (action) {
    case Action::pull: return "pull";
    case Action::push: return "push";
    case Action::del: return "delete";
    case Action::restore: return "restore";
  }
  return "";
}

std::optional<Action> parse_action(std::string_view name) {
  if (name == "pull") return Action::pull;
  if (name == "push") return Action::push;
  if (name == "delete") return Action::del;
  return std::nullopt;
}

std::string ResourceScope::str() const {
  std::string out = type + ":" + name + ":";
  bool first = true;
  for (const auto& a : actions) {
    if (!first) out += ",";
    out += a;
    first = false;
  }
  return out;
}

std::optional<ResourceScope> parse_scope(std::string_view text) {
  // The name may not contain ':' (names never do), so the first and last ':' delimit it.
  auto first = text.find(':');
  auto last = text.rfind(':');
  if (first == std::string_view::npos || first == last) return std::nullopt;
  ResourceScope scope;
  scope.type = std::string(text.substr(0, first));
  scope.name = std::string(text.substr(first + 1, last - first - 1));
  std::string_view actions = text.substr(last + 1);
  if (scope.type.empty() || scope.name.empty()) return std::nullopt;
  while (!actions.empty()) {
    auto comma = actions.find(',');
    std::string_view a = actions.substr(0, comma);
    if (!a.empty()) scope.actions.insert(std::string(a));
    if (comma == std::string_view::npos) break;
    actions.remove_prefix(comma + 1);
  }
  return scope;
}

std::vector<ResourceScope> parse_scopes(const std::vector<std::string>& params) {
  std::vector<ResourceScope> out;
  for (const auto& param : params) {
    std::string_view rest = param;
    while (!rest.empty()) {
      auto space = rest.find(' ');
      if (auto s = parse_scope(rest.substr(0, space))) out.push_back(std::move(*s));
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
  }
  return out;
}

}  // namespace berth::auth
