#include <gtest/gtest.h>

#include "auth/scope.h"

namespace berth::auth {
namespace {

TEST(Scope, ParsesRepositoryScopeWithNestedName) {
  auto s = parse_scope("repository:acme/platform/sbl/python-alpine:pull,push");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->type, "repository");
  EXPECT_EQ(s->name, "acme/platform/sbl/python-alpine");
  EXPECT_EQ(s->actions, (std::set<std::string>{"pull", "push"}));
  EXPECT_EQ(s->str(), "repository:acme/platform/sbl/python-alpine:pull,push");
}

TEST(Scope, ParsesCatalogWildcard) {
  auto s = parse_scope("registry:catalog:*");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->type, "registry");
  EXPECT_EQ(s->name, "catalog");
  EXPECT_EQ(s->actions, std::set<std::string>{"*"});
}

TEST(Scope, RejectsMalformedScopes) {
  EXPECT_FALSE(parse_scope("repository"));
  EXPECT_FALSE(parse_scope("repository:acme/app"));
  EXPECT_FALSE(parse_scope(":acme/app:pull"));
  EXPECT_FALSE(parse_scope("repository::pull"));
}

TEST(Scope, EmptyActionListIsAllowedAndEmpty) {
  auto s = parse_scope("repository:acme/app:");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->actions.empty());
}

TEST(Scope, SplitsSpaceSeparatedScopesAndRepeatedParameters) {
  auto scopes = parse_scopes({"repository:a/b:pull repository:c/d:push", "registry:catalog:*", "garbage"});
  ASSERT_EQ(scopes.size(), 3u);
  EXPECT_EQ(scopes[0].name, "a/b");
  EXPECT_EQ(scopes[1].name, "c/d");
  EXPECT_EQ(scopes[2].type, "registry");
}

TEST(Scope, ActionNamesRoundTrip) {
  for (Action a : {Action::pull, Action::push, Action::del}) EXPECT_EQ(parse_action(action_name(a)), a);
  EXPECT_FALSE(parse_action("*"));
  EXPECT_EQ(action_name(Action::del), "delete");
}

}  // namespace
}  // namespace berth::auth
