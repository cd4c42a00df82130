// Uploads that outlive their connection or their server process: a client dying mid-PATCH, a
// restart between chunks, and the sweeper that removes idle sessions.
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "support/api_helpers.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The offset a status response reports: Range "0-<last>" means last+1 bytes, "0-0" an empty upload
// (the spec's own ambiguity: a one-byte upload reports the same; these tests never stop at one byte).
std::uint64_t offset_of(const Response& status) {
  auto range = status.header("Range");
  auto dash = range.find('-');
  if (dash == std::string::npos) return 0;
  auto last = std::stoull(range.substr(dash + 1));
  return last == 0 ? 0 : last + 1;
}

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) out.push_back(it->path());
  }
  return out;
}

class UploadResilienceTest : public ApiTest {};

TEST_F(UploadResilienceTest, DisconnectMidPatchKeepsWhatArrivedAndTheUploadResumes) {
  auto repo = unique_repo("resume");
  auto content = random_bytes(512 * 1024);
  auto started = client().request("POST", "/v2/" + repo + "/blobs/uploads/");
  ASSERT_EQ(started.status, 202) << started.describe();
  auto location = started.header("Location");

  const std::size_t sent = 256 * 1024;
  client().send_partial_then_close("PATCH", location, {{"Content-Type", "application/octet-stream"}},
                                   std::string_view(content).substr(0, sent), content.size());
  // The server notices the disconnect and settles the session: what arrived is recorded, and the
  // upload is free for the next append (checked on the gauge of a server of the test's own).
  Response status;
  EXPECT_TRUE(eventually([&] {
    status = client().get(location);
    if (status.status != 204 || offset_of(status) == 0) return false;
    return registry().external() || uploads_in_progress(client()) == 0;
  })) << "the session was not settled 10 s after the disconnect\n" << status.describe();
  ASSERT_EQ(status.status, 204) << status.describe();
  auto offset = offset_of(status);
  EXPECT_GT(offset, 0u) << "the bytes that arrived before the disconnect were dropped";
  ASSERT_LE(offset, sent) << "the server claims bytes it never received";

  auto follow = status.header("Location").empty() ? location : status.header("Location");
  auto rest = client().request(
      "PATCH", follow,
      {{"Content-Type", "application/octet-stream"},
       {"Content-Range", std::to_string(offset) + "-" + std::to_string(content.size() - 1)}},
      std::string_view(content).substr(offset));
  ASSERT_EQ(rest.status, 202) << rest.describe();
  EXPECT_EQ(rest.header("Range"), "0-" + std::to_string(content.size() - 1));

  auto done = client().request("PUT", with_query(rest.header("Location"), "digest=" + url_encode(sha256(content))));
  ASSERT_EQ(done.status, 201) << done.describe();
  auto blob = client().get(blob_url(repo, sha256(content)));
  ASSERT_EQ(blob.status, 200);
  EXPECT_EQ(sha256(blob.body), sha256(content));
}

TEST_F(UploadResilienceTest, UploadSurvivesServerRestartBetweenChunks) {
  RegistryProcess server;
  SKIP_IF_EXTERNAL(server);
  auto repo = unique_repo("restart");
  auto content = random_bytes(300000);
  auto before = server.client();
  auto started = before.request("POST", "/v2/" + repo + "/blobs/uploads/");
  ASSERT_EQ(started.status, 202) << started.describe();
  auto first = before.request("PATCH", started.header("Location"),
                              {{"Content-Type", "application/octet-stream"}, {"Content-Range", "0-99999"}},
                              std::string_view(content).substr(0, 100000));
  ASSERT_EQ(first.status, 202) << first.describe();
  auto location = first.header("Location");

  server.restart();
  auto after = server.client();  // the port may have changed; the Location is a path and still valid

  auto status = after.get(location);
  ASSERT_EQ(status.status, 204) << status.describe() << "\nlog:\n" << server.log();
  EXPECT_EQ(status.header("Range"), "0-99999");
  auto second = after.request(
      "PATCH", location,
      {{"Content-Type", "application/octet-stream"}, {"Content-Range", "100000-299999"}},
      std::string_view(content).substr(100000));
  ASSERT_EQ(second.status, 202) << second.describe();
  auto done = after.request("PUT", with_query(second.header("Location"), "digest=" + url_encode(sha256(content))));
  ASSERT_EQ(done.status, 201) << done.describe();
  auto blob = after.get(blob_url(repo, sha256(content)));
  ASSERT_EQ(blob.status, 200);
  EXPECT_EQ(sha256(blob.body), sha256(content));
}

TEST_F(UploadResilienceTest, StopsCleanlyOnSigterm) {
  RegistryProcess server;
  SKIP_IF_EXTERNAL(server);
  ASSERT_EQ(server.client().get("/v2/").status, 200);
  int status = server.stop();
  ASSERT_TRUE(WIFEXITED(status)) << "not a clean exit (killed?) status " << status << "\nlog:\n" << server.log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << server.log();
}

TEST_F(UploadResilienceTest, IdleUploadExpiresAndItsTempFileIsRemoved) {
  RegistryProcess server(
      {.env = {{"BERTH_UPLOAD_EXPIRE_AFTER_SECONDS", "2"}, {"BERTH_UPLOAD_SWEEP_SECONDS", "1"}}});
  SKIP_IF_EXTERNAL(server);
  auto http = server.client();
  auto repo = unique_repo("expire");
  auto started = http.request("POST", "/v2/" + repo + "/blobs/uploads/");
  ASSERT_EQ(started.status, 202) << started.describe();
  auto patched = http.request("PATCH", started.header("Location"),
                              {{"Content-Type", "application/octet-stream"}, {"Content-Range", "0-4095"}},
                              random_bytes(4096));
  ASSERT_EQ(patched.status, 202) << patched.describe();
  auto location = patched.header("Location");

  if (RegistryProcess::backends() == "pg-s3") {
    // The upload's bytes are objects in S3 here: their removal on abort is checked by the S3 store's
    // own suite (AbortRemovesTheUploadData). Wait for the session to expire, without touching it.
    std::this_thread::sleep_for(5s);
  } else {
    auto uploads_dir = server.data_dir() / "blobs" / "uploads";
    ASSERT_FALSE(files_under(uploads_dir).empty()) << "no temp file for the upload under " << uploads_dir;

    // Watch the file system, not the upload: a status request could count as activity.
    auto deadline = std::chrono::steady_clock::now() + 8s;
    while (!files_under(uploads_dir).empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(files_under(uploads_dir).empty()) << "temp file still there after 8 s";
  }
  EXPECT_TRUE(IsOciError(http.get(location), 404, "BLOB_UPLOAD_UNKNOWN"));
}

}  // namespace
}  // namespace berth::test
