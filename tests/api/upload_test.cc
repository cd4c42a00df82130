// Blob uploads: /v2/<name>/blobs/uploads/ — monolithic, chunked, streamed, status, cancel, mount.
#include <thread>

#include "support/api_helpers.h"

namespace berth::test {
namespace {

class UploadTest : public ApiTest {
 protected:
  // POST to open a session; returns its Location (asserting 202).
  std::string start_upload(const std::string& repo) {
    auto response = client().request("POST", "/v2/" + repo + "/blobs/uploads/");
    EXPECT_EQ(response.status, 202) << response.describe();
    return response.header("Location");
  }
  Response patch_range(const std::string& location, std::uint64_t first, std::string_view chunk) {
    return client().request("PATCH", location,
                            {{"Content-Type", "application/octet-stream"},
                             {"Content-Range", std::to_string(first) + "-" + std::to_string(first + chunk.size() - 1)}},
                            chunk);
  }
  Response finish(const std::string& location, const std::string& digest, std::string_view last_chunk = {}) {
    return client().request("PUT", with_query(location, "digest=" + url_encode(digest)),
                            {{"Content-Type", "application/octet-stream"}}, last_chunk);
  }
  // The blob is served with exactly these bytes.
  void expect_blob(const std::string& repo, const std::string& content) {
    auto response = client().get(blob_url(repo, sha256(content)));
    EXPECT_EQ(response.status, 200) << response.describe();
    EXPECT_TRUE(response.body == content) << "served " << response.body.size() << " bytes, pushed " << content.size();
  }
};

TEST_F(UploadTest, StartReturns202WithLocationUuidAndEmptyRange) {
  auto repo = unique_repo("upload");
  auto response = client().request("POST", "/v2/" + repo + "/blobs/uploads/");
  ASSERT_EQ(response.status, 202) << response.describe();
  auto uuid = response.header("Docker-Upload-UUID");
  EXPECT_FALSE(uuid.empty());
  EXPECT_EQ(response.header("Location").rfind("/v2/" + repo + "/blobs/uploads/" + uuid, 0), 0u)
      << response.header("Location");
  EXPECT_EQ(response.header("Range"), "0-0");
}

TEST_F(UploadTest, MonolithicPostWithDigestCreatesTheBlob) {
  auto repo = unique_repo("upload");
  auto content = random_bytes(4096);
  auto digest = sha256(content);
  auto response = client().request("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + url_encode(digest),
                                   {{"Content-Type", "application/octet-stream"}}, content);
  ASSERT_EQ(response.status, 201) << response.describe();
  EXPECT_EQ(response.header("Location"), blob_url(repo, digest));
  EXPECT_EQ(response.header("Docker-Content-Digest"), digest);
  expect_blob(repo, content);
}

TEST_F(UploadTest, MonolithicPostWithWrongDigestIsRejectedAndStoresNothing) {
  auto repo = unique_repo("upload");
  auto content = random_bytes(4096);
  auto claimed = sha256(random_bytes(16));
  auto response = client().request("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + url_encode(claimed),
                                   {{"Content-Type", "application/octet-stream"}}, content);
  EXPECT_TRUE(IsOciError(response, 400, "DIGEST_INVALID"));
  EXPECT_EQ(client().head(blob_url(repo, claimed)).status, 404);
  EXPECT_EQ(client().head(blob_url(repo, sha256(content))).status, 404);
}

TEST_F(UploadTest, ZeroLengthBlobCanBePushed) {
  auto repo = unique_repo("upload");
  auto response = finish(start_upload(repo), sha256(""));
  ASSERT_EQ(response.status, 201) << response.describe();
  auto head = client().head(blob_url(repo, sha256("")));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), "0");
}

TEST_F(UploadTest, ConcurrentUploadsOfTheSameContentBothSucceed) {
  // Content-addressed storage: two pushers racing on one blob must both get 201 and one whole blob.
  auto repo = unique_repo("upload");
  auto content = random_bytes(2 * 1024 * 1024);
  auto digest = sha256(content);
  std::vector<std::string> locations = {start_upload(repo), start_upload(repo), start_upload(repo)};
  std::vector<std::thread> pushers;
  std::vector<int> statuses(locations.size());
  for (std::size_t i = 0; i < locations.size(); ++i) {
    pushers.emplace_back([&, i] { statuses[i] = finish(locations[i], digest, content).status; });
  }
  for (auto& t : pushers) t.join();
  for (int status : statuses) EXPECT_EQ(status, 201);
  expect_blob(repo, content);
}

TEST_F(UploadTest, ChunksWithContentRangeAdvanceTheRange) {
  auto repo = unique_repo("upload");
  auto content = random_bytes(250);
  auto location = start_upload(repo);

  auto first = patch_range(location, 0, content.substr(0, 100));
  ASSERT_EQ(first.status, 202) << first.describe();
  EXPECT_EQ(first.header("Range"), "0-99");
  EXPECT_FALSE(first.header("Docker-Upload-UUID").empty());
  ASSERT_FALSE(first.header("Location").empty());

  // Follow the Location of the last response, as clients do: a server may encode state in it.
  auto second = patch_range(first.header("Location"), 100, content.substr(100));
  ASSERT_EQ(second.status, 202) << second.describe();
  EXPECT_EQ(second.header("Range"), "0-249");

  auto done = finish(second.header("Location"), sha256(content));
  ASSERT_EQ(done.status, 201) << done.describe();
  EXPECT_EQ(done.header("Location"), blob_url(repo, sha256(content)));
  EXPECT_EQ(done.header("Docker-Content-Digest"), sha256(content));
  expect_blob(repo, content);
}

TEST_F(UploadTest, PatchWithoutContentRangeAppends) {
  auto repo = unique_repo("upload");
  auto content = random_bytes(3000);
  auto location = start_upload(repo);
  auto first = client().request("PATCH", location, {{"Content-Type", "application/octet-stream"}},
                                content.substr(0, 1000));
  ASSERT_EQ(first.status, 202) << first.describe();
  EXPECT_EQ(first.header("Range"), "0-999");
  auto second = client().request("PATCH", first.header("Location"), {{"Content-Type", "application/octet-stream"}},
                                 content.substr(1000));
  ASSERT_EQ(second.status, 202) << second.describe();
  EXPECT_EQ(second.header("Range"), "0-2999");
  ASSERT_EQ(finish(second.header("Location"), sha256(content)).status, 201);
  expect_blob(repo, content);
}

TEST_F(UploadTest, StreamedPatchWithChunkedTransferEncoding) {
  // How docker and containerd stream a layer: one PATCH, no length known up front.
  auto repo = unique_repo("upload");
  std::vector<std::string> chunks = {random_bytes(1), random_bytes(70000), random_bytes(3), random_bytes(200000)};
  std::string content;
  for (const auto& c : chunks) content += c;
  auto location = start_upload(repo);
  auto patched = client().request_chunked("PATCH", location, {{"Content-Type", "application/octet-stream"}}, chunks);
  ASSERT_EQ(patched.status, 202) << patched.describe();
  EXPECT_EQ(patched.header("Range"), "0-" + std::to_string(content.size() - 1));
  auto done = finish(patched.header("Location"), sha256(content));
  ASSERT_EQ(done.status, 201) << done.describe();
  expect_blob(repo, content);
}

TEST_F(UploadTest, PutMayCarryTheLastChunk) {
  auto repo = unique_repo("upload");
  auto content = random_bytes(2000);
  auto location = start_upload(repo);
  auto patched = patch_range(location, 0, content.substr(0, 1500));
  ASSERT_EQ(patched.status, 202) << patched.describe();
  auto done = finish(patched.header("Location"), sha256(content), content.substr(1500));
  ASSERT_EQ(done.status, 201) << done.describe();
  expect_blob(repo, content);
}

TEST_F(UploadTest, OutOfOrderChunkIs416WithTheCurrentState) {
  auto repo = unique_repo("upload");
  auto content = random_bytes(300);
  auto location = start_upload(repo);
  auto first = patch_range(location, 0, content.substr(0, 100));
  ASSERT_EQ(first.status, 202) << first.describe();

  auto skipped = patch_range(first.header("Location"), 200, content.substr(200));
  EXPECT_EQ(skipped.status, 416) << skipped.describe();
  EXPECT_EQ(skipped.error_code(), "BLOB_UPLOAD_INVALID") << skipped.body;
  EXPECT_EQ(skipped.header("Range"), "0-99");
  EXPECT_FALSE(skipped.header("Location").empty());

  auto repeated = patch_range(first.header("Location"), 0, content.substr(0, 100));
  EXPECT_EQ(repeated.status, 416) << repeated.describe();
  EXPECT_EQ(repeated.header("Range"), "0-99");

  // The rejected chunks changed nothing: the upload continues from 100 and verifies.
  auto rest = patch_range(first.header("Location"), 100, content.substr(100));
  ASSERT_EQ(rest.status, 202) << rest.describe();
  ASSERT_EQ(finish(rest.header("Location"), sha256(content)).status, 201);
  expect_blob(repo, content);
}

TEST_F(UploadTest, ContentLengthDisagreeingWithContentRangeIs400SizeInvalid) {
  auto repo = unique_repo("upload");
  auto location = start_upload(repo);
  auto response = client().request("PATCH", location,
                                   {{"Content-Type", "application/octet-stream"}, {"Content-Range", "0-99"}},
                                   random_bytes(50));
  EXPECT_TRUE(IsOciError(response, 400, "SIZE_INVALID"));
}

TEST_F(UploadTest, StatusIs204WithRangeAndLocation) {
  auto repo = unique_repo("upload");
  auto location = start_upload(repo);
  auto empty = client().get(location);
  ASSERT_EQ(empty.status, 204) << empty.describe();
  EXPECT_EQ(empty.header("Range"), "0-0");
  EXPECT_FALSE(empty.header("Location").empty());

  auto patched = patch_range(location, 0, random_bytes(123));
  ASSERT_EQ(patched.status, 202) << patched.describe();
  auto after = client().get(patched.header("Location"));
  ASSERT_EQ(after.status, 204) << after.describe();
  EXPECT_EQ(after.header("Range"), "0-122");
  EXPECT_FALSE(after.header("Location").empty());
}

TEST_F(UploadTest, PutWithWrongDigestIsRejectedAndStoresNothing) {
  auto repo = unique_repo("upload");
  auto content = random_bytes(500);
  auto location = start_upload(repo);
  auto patched = patch_range(location, 0, content);
  ASSERT_EQ(patched.status, 202);
  auto claimed = sha256(random_bytes(8));
  EXPECT_TRUE(IsOciError(finish(patched.header("Location"), claimed), 400, "DIGEST_INVALID"));
  EXPECT_EQ(client().head(blob_url(repo, claimed)).status, 404);
  EXPECT_EQ(client().head(blob_url(repo, sha256(content))).status, 404);
}

TEST_F(UploadTest, PutWithoutDigestIsRejected) {
  auto repo = unique_repo("upload");
  auto location = start_upload(repo);
  auto response = client().request("PUT", location, {{"Content-Type", "application/octet-stream"}},
                                   random_bytes(10));
  EXPECT_TRUE(IsOciError(response, 400, "DIGEST_INVALID"));
}

TEST_F(UploadTest, CompletedUploadCannotBeReused) {
  auto repo = unique_repo("upload");
  auto content = random_bytes(100);
  auto location = start_upload(repo);
  ASSERT_EQ(finish(location, sha256(content), content).status, 201);
  EXPECT_TRUE(IsOciError(client().get(location), 404, "BLOB_UPLOAD_UNKNOWN"));
  EXPECT_TRUE(IsOciError(patch_range(location, 100, "more"), 404, "BLOB_UPLOAD_UNKNOWN"));
}

TEST_F(UploadTest, CancelIs204AndTheSessionIsGone) {
  auto repo = unique_repo("upload");
  auto location = start_upload(repo);
  auto patched = patch_range(location, 0, random_bytes(10));
  ASSERT_EQ(patched.status, 202) << patched.describe();
  auto cancelled = client().del(patched.header("Location"));
  EXPECT_EQ(cancelled.status, 204) << cancelled.describe();
  EXPECT_TRUE(IsOciError(client().get(patched.header("Location")), 404, "BLOB_UPLOAD_UNKNOWN"));
}

TEST_F(UploadTest, UnknownUploadIdIs404BlobUploadUnknown) {
  auto repo = unique_repo("upload");
  start_upload(repo);  // the repository has a session; just not these ones
  for (const std::string id : {"3f2a9c1e-0b7d-4e55-9a7c-2d6b1f0e8a41", "garbage", "AAAA"}) {
    auto url = "/v2/" + repo + "/blobs/uploads/" + id;
    EXPECT_TRUE(IsOciError(client().get(url), 404, "BLOB_UPLOAD_UNKNOWN")) << id;
    EXPECT_TRUE(IsOciError(patch_range(url, 0, "abc"), 404, "BLOB_UPLOAD_UNKNOWN")) << id;
    EXPECT_TRUE(IsOciError(finish(url, sha256("abc"), "abc"), 404, "BLOB_UPLOAD_UNKNOWN")) << id;
    EXPECT_TRUE(IsOciError(client().del(url), 404, "BLOB_UPLOAD_UNKNOWN")) << id;
  }
}

TEST_F(UploadTest, SessionIsNotReachableThroughAnotherRepository) {
  // An upload id is not a capability for every repository: it belongs to the one that opened it.
  auto repo = unique_repo("upload");
  auto other = unique_repo("upload-other");
  start_upload(other);
  auto started = client().request("POST", "/v2/" + repo + "/blobs/uploads/");
  ASSERT_EQ(started.status, 202) << started.describe();
  auto id = started.header("Docker-Upload-UUID");
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(IsOciError(client().get("/v2/" + other + "/blobs/uploads/" + id), 404, "BLOB_UPLOAD_UNKNOWN"));
}

TEST_F(UploadTest, MountFromRepositoryHoldingTheBlobIs201) {
  auto source = unique_repo("mount-src");
  auto target = unique_repo("mount-dst");
  auto content = random_bytes(700);
  auto digest = push_blob(source, content);
  auto response = client().request(
      "POST", "/v2/" + target + "/blobs/uploads/?mount=" + url_encode(digest) + "&from=" + url_encode(source));
  ASSERT_EQ(response.status, 201) << response.describe();
  EXPECT_EQ(response.header("Location"), blob_url(target, digest));
  EXPECT_EQ(response.header("Docker-Content-Digest"), digest);
  expect_blob(target, content);
}

TEST_F(UploadTest, MountFromRepositoryWithoutTheBlobStartsAnUpload) {
  auto source = unique_repo("mount-src");
  auto target = unique_repo("mount-dst");
  push_blob(source, random_bytes(10));
  auto digest = push_blob(unique_repo("mount-elsewhere"), random_bytes(700));
  auto response = client().request(
      "POST", "/v2/" + target + "/blobs/uploads/?mount=" + url_encode(digest) + "&from=" + url_encode(source));
  ASSERT_EQ(response.status, 202) << response.describe();
  EXPECT_NE(path_of(response.header("Location")).find("/v2/" + target + "/blobs/uploads/"), std::string::npos);
  EXPECT_EQ(client().head(blob_url(target, digest)).status, 404);
}

TEST_F(UploadTest, MountWithoutFromFindsTheBlobAnywhere) {
  auto source = unique_repo("mount-src");
  auto target = unique_repo("mount-dst");
  auto content = random_bytes(700);
  auto digest = push_blob(source, content);
  auto response = client().request("POST", "/v2/" + target + "/blobs/uploads/?mount=" + url_encode(digest));
  ASSERT_EQ(response.status, 201) << response.describe();
  EXPECT_EQ(response.header("Location"), blob_url(target, digest));
  expect_blob(target, content);
}

TEST_F(UploadTest, MountWithoutFromOfUnknownBlobStartsAnUpload) {
  auto target = unique_repo("mount-dst");
  auto response =
      client().request("POST", "/v2/" + target + "/blobs/uploads/?mount=" + url_encode(sha256(random_bytes(9))));
  EXPECT_EQ(response.status, 202) << response.describe();
  EXPECT_FALSE(response.header("Docker-Upload-UUID").empty());
}

}  // namespace
}  // namespace berth::test
