// Blob pull, HEAD, ranges and delete: /v2/<name>/blobs/<digest>.
#include <cctype>

#include "support/api_helpers.h"

namespace berth::test {
namespace {

class BlobTest : public ApiTest {
 protected:
  std::string blob_url(const std::string& repo, const std::string& digest) {
    return "/v2/" + repo + "/blobs/" + digest;
  }
};

TEST_F(BlobTest, HeadReportsLengthDigestTypeAndRangeSupport) {
  auto repo = unique_repo("blob");
  auto content = random_bytes(3000);
  auto digest = push_blob(repo, content);
  auto response = client().head(blob_url(repo, digest));
  ASSERT_EQ(response.status, 200) << response.describe();
  EXPECT_EQ(response.header("Content-Length"), "3000");
  EXPECT_EQ(response.header("Docker-Content-Digest"), digest);
  EXPECT_EQ(response.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(response.header("Accept-Ranges"), "bytes");
  EXPECT_TRUE(response.body.empty());
}

TEST_F(BlobTest, GetReturnsTheExactBytes) {
  auto repo = unique_repo("blob");
  auto content = random_bytes(5000);
  auto digest = push_blob(repo, content);
  auto response = client().get(blob_url(repo, digest));
  ASSERT_EQ(response.status, 200) << response.describe();
  EXPECT_EQ(response.header("Content-Length"), "5000");
  EXPECT_EQ(response.header("Docker-Content-Digest"), digest);
  EXPECT_EQ(response.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(response.header("Accept-Ranges"), "bytes");
  EXPECT_TRUE(response.body == content) << "body differs from what was pushed";
}

TEST_F(BlobTest, LargeBlobRoundTripsByteIdentical) {
  // Large enough to cross any internal buffer and Beast's default 1 MB body limit.
  auto repo = unique_repo("blob");
  auto content = random_bytes(9 * 1024 * 1024 + 17);
  auto digest = push_blob(repo, content);
  auto response = client().get(blob_url(repo, digest));
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body.size(), content.size());
  EXPECT_EQ(sha256(response.body), digest);
}

TEST_F(BlobTest, RangeRequestReturnsPartialContent) {
  auto repo = unique_repo("blob");
  auto content = random_bytes(1000);
  auto digest = push_blob(repo, content);
  auto response = client().get(blob_url(repo, digest), {{"Range", "bytes=100-199"}});
  ASSERT_EQ(response.status, 206) << response.describe();
  EXPECT_EQ(response.header("Content-Range"), "bytes 100-199/1000");
  EXPECT_EQ(response.header("Content-Length"), "100");
  EXPECT_TRUE(response.body == content.substr(100, 100));
}

TEST_F(BlobTest, OpenEndedRangeRunsToTheLastByte) {
  auto repo = unique_repo("blob");
  auto content = random_bytes(1000);
  auto digest = push_blob(repo, content);
  auto response = client().get(blob_url(repo, digest), {{"Range", "bytes=990-"}});
  ASSERT_EQ(response.status, 206) << response.describe();
  EXPECT_EQ(response.header("Content-Range"), "bytes 990-999/1000");
  EXPECT_TRUE(response.body == content.substr(990));
}

TEST_F(BlobTest, RangeEndBeyondTheBlobIsClampedToTheLastByte) {
  // RFC 9110: a last-pos past the end means "to the end", it is not unsatisfiable.
  auto repo = unique_repo("blob");
  auto content = random_bytes(1000);
  auto digest = push_blob(repo, content);
  auto response = client().get(blob_url(repo, digest), {{"Range", "bytes=900-5000"}});
  ASSERT_EQ(response.status, 206) << response.describe();
  EXPECT_EQ(response.header("Content-Range"), "bytes 900-999/1000");
  EXPECT_TRUE(response.body == content.substr(900));
}

TEST_F(BlobTest, UnsatisfiableRangeIs416WithTheSize) {
  auto repo = unique_repo("blob");
  auto digest = push_blob(repo, random_bytes(1000));
  auto response = client().get(blob_url(repo, digest), {{"Range", "bytes=5000-6000"}});
  EXPECT_EQ(response.status, 416) << response.describe();
  EXPECT_EQ(response.header("Content-Range"), "bytes */1000");
}

TEST_F(BlobTest, UnknownBlobIs404BlobUnknown) {
  auto repo = unique_repo("blob");
  push_blob(repo, random_bytes(10));  // the repository exists; only the blob is unknown
  auto response = client().get(blob_url(repo, sha256(random_bytes(10))));
  EXPECT_TRUE(IsOciError(response, 404, "BLOB_UNKNOWN"));
}

TEST_F(BlobTest, HeadOfUnknownBlobIs404WithoutBody) {
  auto repo = unique_repo("blob");
  push_blob(repo, random_bytes(10));
  auto response = client().head(blob_url(repo, sha256(random_bytes(10))));
  EXPECT_EQ(response.status, 404);
  EXPECT_TRUE(response.body.empty());
}

TEST_F(BlobTest, BlobOfAnotherRepositoryIsNotServed) {
  // Content is stored once, but a repository serves only the blobs pushed or mounted into it.
  auto owner = unique_repo("blob-owner");
  auto other = unique_repo("blob-other");
  auto digest = push_blob(owner, random_bytes(100));
  push_blob(other, random_bytes(100));
  EXPECT_TRUE(IsOciError(client().get(blob_url(other, digest)), 404, "BLOB_UNKNOWN"));
}

TEST_F(BlobTest, MalformedDigestIs400DigestInvalid) {
  auto repo = unique_repo("blob");
  push_blob(repo, random_bytes(10));
  for (const std::string& bad : std::vector<std::string>{"sha256:abc", "sha256:" + std::string(64, 'Z'), "notadigest",
                          "sha256:" + sha256("x").substr(7, 60)}) {
    auto response = client().get(blob_url(repo, bad));
    EXPECT_TRUE(IsOciError(response, 400, "DIGEST_INVALID")) << bad;
  }
}

TEST_F(BlobTest, UppercaseHexDigestIsInvalid) {
  auto repo = unique_repo("blob");
  push_blob(repo, random_bytes(10));
  std::string digest = sha256("upper");
  for (auto& c : digest) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  digest.replace(0, 6, "sha256");
  EXPECT_TRUE(IsOciError(client().get(blob_url(repo, digest)), 400, "DIGEST_INVALID"));
}

TEST_F(BlobTest, DeleteIs202AndTheBlobIsGoneAfterwards) {
  auto repo = unique_repo("blob");
  auto digest = push_blob(repo, random_bytes(100));
  auto response = client().del(blob_url(repo, digest));
  EXPECT_EQ(response.status, 202) << response.describe();
  EXPECT_TRUE(IsOciError(client().get(blob_url(repo, digest)), 404, "BLOB_UNKNOWN"));
  EXPECT_EQ(client().head(blob_url(repo, digest)).status, 404);
}

TEST_F(BlobTest, DeleteOfUnknownBlobIs404BlobUnknown) {
  auto repo = unique_repo("blob");
  push_blob(repo, random_bytes(10));
  EXPECT_TRUE(IsOciError(client().del(blob_url(repo, sha256(random_bytes(10)))), 404, "BLOB_UNKNOWN"));
}

}  // namespace
}  // namespace berth::test
