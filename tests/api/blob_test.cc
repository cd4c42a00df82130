// Blob pull, HEAD, ranges and delete: /v2/<name>/blobs/<digest>.
#include <cctype>

#include "support/api_helpers.h"

namespace berth::test {
namespace {

class BlobTest : public ApiTest {
 protected:
  // GETs a 1000-byte blob with this Range header; expects 206, this Content-Range, and exactly the bytes
  // content.substr(first) up to `last` (inclusive) with a matching Content-Length.
  void expect_partial(const std::string& range, std::size_t first, std::size_t last) {
    auto repo = unique_repo("blob");
    auto content = random_bytes(1000);
    auto digest = push_blob(repo, content);
    auto response = client().get(blob_url(repo, digest), {{"Range", range}});
    ASSERT_EQ(response.status, 206) << range << "\n" << response.describe();
    EXPECT_EQ(response.header("Content-Range"),
              "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/1000") << range;
    EXPECT_EQ(response.header("Content-Length"), std::to_string(last - first + 1)) << range;
    EXPECT_TRUE(response.body == content.substr(first, last - first + 1)) << range << ": body differs";
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

TEST_F(BlobTest, RangeRequestReturnsPartialContent) { expect_partial("bytes=100-199", 100, 199); }

TEST_F(BlobTest, OpenEndedRangeRunsToTheLastByte) { expect_partial("bytes=990-", 990, 999); }

TEST_F(BlobTest, RangeEndBeyondTheBlobIsClampedToTheLastByte) {
  // RFC 9110: a last-pos past the end means "to the end", it is not unsatisfiable.
  expect_partial("bytes=900-5000", 900, 999);
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
