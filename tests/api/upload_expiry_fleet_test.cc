// Upload expiry with several nodes sharing the stores: one node's sweeper must not remove an upload that
// a long request is writing through another node right now (which that node's in-memory claim cannot
// tell it). Two `berth serve` processes on the same metadata and blobs: the same SQLite file and blob
// directory by default, the same PostgreSQL database and S3 prefix with BERTH_TEST_BACKENDS=pg-s3.
#include <chrono>

#include "support/api_helpers.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

class UploadExpiryFleetTest : public ApiTest {};

TEST_F(UploadExpiryFleetTest, SlowPatchOnOneNodeOutlivesAnotherNodesSweeper) {
  // Both nodes expire uploads idle for 2 s, as a fleet shares its configuration; only B sweeps (every
  // second), so whatever is removed is removed by the node that is not serving the PATCH.
  RegistryProcess a({.env = {{"BERTH_UPLOAD_EXPIRE_AFTER_SECONDS", "2"}, {"BERTH_UPLOAD_SWEEP_SECONDS", "3600"}}});
  SKIP_IF_EXTERNAL(a);
  RegistryProcess b({.env = {{"BERTH_UPLOAD_EXPIRE_AFTER_SECONDS", "2"}, {"BERTH_UPLOAD_SWEEP_SECONDS", "1"}},
                     .share_stores_with = &a});
  auto node_a = a.client();
  auto node_b = b.client();
  auto repo = unique_repo("fleet-expiry");

  // The control: an upload nobody writes to, which B's sweeper must remove during the slow PATCH.
  auto idle = node_b.request("POST", "/v2/" + repo + "/blobs/uploads/");
  ASSERT_EQ(idle.status, 202) << idle.describe();

  auto started = node_b.request("POST", "/v2/" + repo + "/blobs/uploads/");
  ASSERT_EQ(started.status, 202) << started.describe();
  // One PATCH through A lasting ~6 s, three times the expiry: its bytes arrive every 0.5 s.
  auto content = random_bytes(12 * 16 * 1024);
  auto patched = node_a.request_paced("PATCH", started.header("Location"),
                                      {{"Content-Type", "application/octet-stream"}}, content, 12, 500ms);
  ASSERT_EQ(patched.status, 202) << "the upload was expired while A was writing to it: " << patched.describe()
                                 << "\nlog of B:\n"
                                 << b.log();
  EXPECT_EQ(patched.header("Range"), "0-" + std::to_string(content.size() - 1));

  // B's sweeper did run meanwhile: the idle upload is gone.
  EXPECT_TRUE(IsOciError(node_b.get(idle.header("Location")), 404, "BLOB_UPLOAD_UNKNOWN"));

  auto digest = sha256(content);
  auto done = node_b.request("PUT", with_query(patched.header("Location"), "digest=" + url_encode(digest)));
  ASSERT_EQ(done.status, 201) << done.describe();
  auto blob = node_a.get(blob_url(repo, digest));
  ASSERT_EQ(blob.status, 200) << blob.describe();
  EXPECT_EQ(sha256(blob.body), digest);
}

}  // namespace
}  // namespace berth::test
