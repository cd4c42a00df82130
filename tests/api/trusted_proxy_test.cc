// Behind a load balancer every connection comes from the balancer: X-Forwarded-For names the client,
// but only when the peer is a configured trusted proxy (otherwise any client could pick its address).
// The addresses below are documentation addresses in a header; no traffic goes anywhere but loopback.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/auth_helpers.h"
#include "support/registry_process.h"

namespace berth::test {
namespace {

constexpr const char* kClientA = "192.0.2.10";
constexpr const char* kClientB = "192.0.2.20";

Headers with_forwarded(Headers h, const std::string& chain) {
  h.emplace_back("X-Forwarded-For", chain);
  return h;
}

struct ProxiedServer {
  std::unique_ptr<RegistryProcess> server;
  std::string pat;
  explicit ProxiedServer(bool trust_loopback) {
    RegistryProcess::Options options{.env = {{"BERTH_AUTH_ENABLED", "true"}}};
    if (trust_loopback) options.env["BERTH_TRUSTED_PROXIES"] = "127.0.0.1";
    server = std::make_unique<RegistryProcess>(options);
    if (server->external()) return;
    admin_or_throw(server->data_dir(), {"user", "create", "alice"});
    pat = admin_or_throw(server->data_dir(), {"token", "create", "--user", "alice"});
  }
};

// The access-log line whose path is `path`, once the server has written it (it is written after the
// response is sent); empty when none shows up within 3 s.
std::string access_line_for(const RegistryProcess& server, const std::string& path) {
  const std::string wanted = " path=" + path + " ";
  for (int i = 0; i < 30; ++i) {
    const std::string log = server.log();
    if (auto at = log.find(wanted); at != std::string::npos) {
      auto begin = log.rfind('\n', at);
      begin = begin == std::string::npos ? 0 : begin + 1;
      return log.substr(begin, log.find('\n', at) - begin);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "";
}

void fail_logins_as(const HttpClient& client, const std::string& forwarded, int n) {
  for (int i = 0; i < n; ++i) {
    client.get("/v2/", with_forwarded(basic_auth("alice", "berth_pat_" + std::string(43, 'x')), forwarded));
  }
}

TEST(TrustedProxy, ClientsBehindATrustedProxyAreThrottledAndLoggedSeparately) {
  ProxiedServer world(true);
  if (world.server->external()) GTEST_SKIP() << "needs a server started by the test";
  const HttpClient client = world.server->client();
  fail_logins_as(client, kClientA, 5);
  // Client A is blocked; the hop its own client could have forged (left of it) changes nothing.
  EXPECT_TRUE(IsOciError(client.get("/v2/", with_forwarded(basic_auth("alice", world.pat), kClientA)), 429,
                         "TOOMANYREQUESTS"));
  EXPECT_TRUE(IsOciError(client.get("/v2/", with_forwarded(basic_auth("alice", world.pat),
                                                          std::string("203.0.113.9, ") + kClientA)),
                         429, "TOOMANYREQUESTS"));
  // Client B, through the same proxy, is not.
  Response b = client.get("/v2/", with_forwarded(basic_auth("alice", world.pat), kClientB));
  EXPECT_EQ(b.status, 200) << b.describe();
  // A request to a path of its own, so its access-log line (not just any line) is the one checked.
  const std::string marker = "/v2/proxied-b/tags/list";
  client.get(marker, with_forwarded(basic_auth("alice", world.pat), kClientB));
  const std::string line = access_line_for(*world.server, marker);
  ASSERT_FALSE(line.empty()) << "no access-log line for " << marker << ":\n" << world.server->log();
  EXPECT_NE(line.find(std::string("remote=") + kClientB + " "), std::string::npos)
      << "the access log should name the client behind the proxy: " << line;
}

TEST(TrustedProxy, XForwardedForFromAnUntrustedPeerIsIgnored) {
  ProxiedServer world(false);
  if (world.server->external()) GTEST_SKIP() << "needs a server started by the test";
  const HttpClient client = world.server->client();
  fail_logins_as(client, kClientA, 5);
  // Claiming another address does not escape the block: the peer address is what counts.
  EXPECT_TRUE(IsOciError(client.get("/v2/", with_forwarded(basic_auth("alice", world.pat), kClientB)), 429,
                         "TOOMANYREQUESTS"));
  // Wait until the access log has a line for a request sent with the forged header, then check that the
  // line (and every other) names the peer, not the forged address: checked before the line is written,
  // the absence would prove nothing.
  const std::string marker = "/v2/forged-b/tags/list";
  client.get(marker, with_forwarded(basic_auth("alice", world.pat), kClientB));
  const std::string line = access_line_for(*world.server, marker);
  ASSERT_FALSE(line.empty()) << "no access-log line for " << marker << ":\n" << world.server->log();
  EXPECT_NE(line.find("remote=127.0.0.1 "), std::string::npos) << line;
  EXPECT_EQ(world.server->log().find(std::string("remote=") + kClientB), std::string::npos);
}

}  // namespace
}  // namespace berth::test
