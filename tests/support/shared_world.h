// A fixture whose tests share one "world" — a started server and what the suite sets up on it (accounts,
// tokens, packages) — built once per suite, because starting a server per test would cost CI minutes.
//
//   struct World { std::unique_ptr<RegistryProcess> server; std::string token; };
//   class MyTest : public SharedWorldTest<World> {
//    protected:
//     static void SetUpTestSuite() { build_world([](World& w) { w.server = …; w.token = …; }); }
//   };
//
// A failure while building is reported by every test of the suite; a test against an external registry
// (BERTH_TEST_REGISTRY) is skipped; a test after which the server is dead fails with its log.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "support/registry_process.h"

namespace berth::test {

template <class World>
class SharedWorldTest : public ::testing::Test {
 protected:
  static inline std::unique_ptr<World> world_;
  static inline std::string setup_error_;

  // Replaces the world with a new one built by `build` (which starts world.server first).
  static void build_world(const std::function<void(World&)>& build) {
    setup_error_.clear();
    world_ = std::make_unique<World>();
    try {
      build(*world_);
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() { world_.reset(); }

  void SetUp() override {
    if (world_ && world_->server && world_->server->external()) GTEST_SKIP() << "needs a server started by the test";
    ASSERT_TRUE(setup_error_.empty()) << "setting up the suite's server failed: " << setup_error_;
  }
  void TearDown() override {
    int status = 0;
    if (world_ && world_->server && !world_->server->alive(&status)) {
      ADD_FAILURE() << "the server died (wait status " << status << "):\n" << world_->server->log();
    }
  }
};

}  // namespace berth::test
