// `berth fsck` against a registry that serves: damage made to its stored objects behind its back
// (a file deleted or overwritten, an S3 object replaced) is found and reported by package and tag, and
// --repair takes a corrupt blob out of service so that pushing the same bytes again heals it.
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "storage/s3_client.h"
#include "support/admin_cli.h"
#include "support/api_helpers.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;

// The line of `text` that contains every needle (empty when none does).
std::string line_with(const std::string& text, const std::vector<std::string>& needles) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    bool all = true;
    for (const auto& n : needles) all = all && line.find(n) != std::string::npos;
    if (all) return line;
  }
  return "";
}

class Fsck : public ApiTest {
 protected:
  // A server of its own (no background collector to tidy what the tests damage), not the shared one.
  void SetUp() override {
    server_ = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = {{"BERTH_GC_ENABLED", "false"}}});
    if (server_->external()) GTEST_SKIP() << "needs a server started by the test";
    use_registry(*server_);
  }

  CliResult fsck(std::vector<std::string> flags = {}) {
    std::vector<std::string> args = {"fsck", "--data", server_->data_dir().string()};
    args.insert(args.end(), flags.begin(), flags.end());
    return run_berth(BerthCall{.args = std::move(args), .env = {}, .stdin_text = "", .data_dir = server_->data_dir()});
  }

  // The stored object of a blob, changed behind the registry's back: a file of the filesystem store,
  // or an object under the server's S3 prefix.
  void replace_object(const std::string& digest, const std::string& bytes) {
    if (auto s3 = s3_client()) {
      auto r = s3->call("PUT", object_key(digest), {}, {}, bytes);
      ASSERT_TRUE(r.ok() && r->status == 200) << "S3 PUT " << object_key(digest);
      return;
    }
    std::ofstream out(object_path(digest), std::ios::binary | std::ios::trunc);
    out << bytes;
    ASSERT_TRUE(out.good()) << object_path(digest);
  }
  void remove_object(const std::string& digest) {
    if (auto s3 = s3_client()) {
      auto r = s3->call("DELETE", object_key(digest), {});
      ASSERT_TRUE(r.ok() && (r->status == 204 || r->status == 200)) << "S3 DELETE " << object_key(digest);
      return;
    }
    ASSERT_TRUE(fs::remove(object_path(digest))) << object_path(digest);
  }

  std::string blob_bytes(const std::string& repo, const std::string& digest) {
    auto r = client().get(blob_url(repo, digest));
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.body;
  }

  // The same size, other bytes.
  static std::string flipped(std::string bytes) {
    for (char& c : bytes) c = static_cast<char>(~c);
    return bytes;
  }

  std::unique_ptr<RegistryProcess> server_;

 private:
  static std::string hex_of(const std::string& digest) { return digest.substr(digest.find(':') + 1); }
  fs::path object_path(const std::string& digest) const {
    const std::string hex = hex_of(digest);
    return server_->data_dir() / "blobs" / "blobs" / "sha256" / hex.substr(0, 2) / hex;
  }
  std::string object_key(const std::string& digest) const {
    return server_->backend_env().at("BERTH_S3_PREFIX") + "blobs/sha256/" + hex_of(digest);
  }
  std::unique_ptr<storage::S3Client> s3_client() const {
    const auto& env = server_->backend_env();
    if (env.find("BERTH_S3_ENDPOINT") == env.end()) return nullptr;
    storage::S3Options o;
    o.endpoint = env.at("BERTH_S3_ENDPOINT");
    o.region = env.at("BERTH_S3_REGION");
    o.bucket = env.at("BERTH_S3_BUCKET");
    o.access_key = env.at("BERTH_S3_ACCESS_KEY");
    o.secret_key = env.at("BERTH_S3_SECRET_KEY");
    auto client = storage::S3Client::create(o);
    return client.ok() ? std::move(*client) : nullptr;
  }
};

TEST_F(Fsck, CleanRegistryExitsZeroAndCountsItsBlobs) {
  push_image("fsck/app", "1.0");
  push_image("fsck/tool", "latest");  // two images: a config and a layer each

  CliResult sizes = fsck();
  EXPECT_EQ(sizes.exit_code, 0) << sizes.describe();
  EXPECT_NE(sizes.out.find("checked 4 blobs (sizes only"), std::string::npos) << sizes.out;

  CliResult verified = fsck({"--verify"});
  EXPECT_EQ(verified.exit_code, 0) << verified.describe();
  EXPECT_NE(verified.out.find("checked 4 blobs ("), std::string::npos) << verified.out;
  EXPECT_NE(verified.out.find("re-hashed"), std::string::npos) << verified.out;
  EXPECT_NE(verified.out.find("0 missing, 0 corrupt, 0 wrong size"), std::string::npos) << verified.out;
}

TEST_F(Fsck, MissingObjectIsReportedUnderItsPackageAndTag) {
  auto image = push_image("fsck/app", "1.0");
  remove_object(image.layer.digest);

  CliResult r = fsck();
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  // The package, then the version, then the blob.
  const auto package = r.out.find("fsck/app\n");
  const auto version = r.out.find("  1.0\n");
  const auto blob = r.out.find(line_with(r.out, {"missing", image.layer.digest}));
  ASSERT_NE(package, std::string::npos) << r.out;
  ASSERT_NE(version, std::string::npos) << r.out;
  ASSERT_FALSE(line_with(r.out, {"missing", image.layer.digest}).empty()) << r.out;
  EXPECT_LT(package, version);
  EXPECT_LT(version, blob);
  EXPECT_NE(r.out.find("1 missing"), std::string::npos) << r.out;
  EXPECT_TRUE(line_with(r.out, {image.config.digest}).empty()) << "the intact config is not listed\n" << r.out;
}

TEST_F(Fsck, CorruptObjectPassesASizeCheckAndIsCaughtByVerify) {
  const std::string repo = "fsck/app";
  auto image = push_image(repo, "1.0");
  const std::string good = blob_bytes(repo, image.layer.digest);
  replace_object(image.layer.digest, flipped(good));

  CliResult sizes = fsck();
  EXPECT_EQ(sizes.exit_code, 0) << sizes.describe();

  CliResult verified = fsck({"--verify"});
  EXPECT_EQ(verified.exit_code, 2) << verified.describe();
  EXPECT_FALSE(line_with(verified.out, {"corrupt", image.layer.digest}).empty()) << verified.out;
  EXPECT_NE(verified.out.find("1 corrupt"), std::string::npos) << verified.out;

  // Without --repair nothing changed: the blob is still served (as it is stored).
  auto served = client().get(blob_url(repo, image.layer.digest));
  EXPECT_EQ(served.status, 200) << served.describe();
  EXPECT_EQ(fsck({"--verify"}).exit_code, 2);
}

TEST_F(Fsck, RepairTakesACorruptBlobOutOfServiceAndAPushHealsIt) {
  const std::string repo = "fsck/app";
  auto image = push_image(repo, "1.0");
  const std::string good = blob_bytes(repo, image.layer.digest);
  replace_object(image.layer.digest, flipped(good));

  CliResult repaired = fsck({"--verify", "--repair"});
  EXPECT_EQ(repaired.exit_code, 2) << repaired.describe();
  EXPECT_FALSE(line_with(repaired.out, {"corrupt", image.layer.digest, "marked damaged"}).empty()) << repaired.out;
  EXPECT_NE(repaired.out.find("1 repaired"), std::string::npos) << repaired.out;
  EXPECT_TRUE(IsOciError(client().get(blob_url(repo, image.layer.digest)), 404, "BLOB_UNKNOWN"));
  if (RegistryProcess::backends() == "default") {
    EXPECT_TRUE(fs::is_directory(server_->data_dir() / "blobs" / "quarantine"));
    EXPECT_FALSE(fs::is_empty(server_->data_dir() / "blobs" / "quarantine")) << "the corrupt bytes are kept aside";
  }
  // The change is in the audit log under the operator's name.
  std::string audit = admin_or_throw(server_->data_dir(), {"audit"});
  EXPECT_FALSE(line_with(audit, {"\tfsck\t", "repaired=1"}).empty()) << audit;

  // Still damaged until the bytes come again.
  CliResult before_push = fsck({"--verify"});
  EXPECT_EQ(before_push.exit_code, 2) << before_push.describe();
  EXPECT_FALSE(line_with(before_push.out, {"damaged", image.layer.digest}).empty()) << before_push.out;

  EXPECT_EQ(push_blob(repo, good), image.layer.digest);
  auto healed = client().get(blob_url(repo, image.layer.digest));
  EXPECT_EQ(healed.status, 200) << healed.describe();
  EXPECT_TRUE(healed.body == good) << "served bytes differ from the pushed ones";
  CliResult clean = fsck({"--verify"});
  EXPECT_EQ(clean.exit_code, 0) << clean.describe();
  EXPECT_NE(clean.out.find("0 missing, 0 corrupt, 0 wrong size, 0 still damaged"), std::string::npos) << clean.out;
}

TEST_F(Fsck, RepairRemovesABadObjectLeftUnderAnAlreadyDamagedBlob) {
  const std::string repo = "fsck/app";
  auto image = push_image(repo, "1.0");
  const std::string good = blob_bytes(repo, image.layer.digest);
  remove_object(image.layer.digest);
  ASSERT_EQ(fsck({"--repair"}).exit_code, 2);  // marked damaged: nothing to set aside
  // Bytes that reappear under the digest but do not match it (a repair interrupted before it removed
  // them looks the same): a push would keep them, so a second repair removes them.
  replace_object(image.layer.digest, flipped(good));

  CliResult r = fsck({"--verify", "--repair"});
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_FALSE(line_with(r.out, {"damaged", image.layer.digest, "object still corrupt"}).empty()) << r.out;
  EXPECT_EQ(push_blob(repo, good), image.layer.digest);
  auto healed = client().get(blob_url(repo, image.layer.digest));
  EXPECT_TRUE(healed.status == 200 && healed.body == good) << healed.describe();
  EXPECT_EQ(fsck({"--verify"}).exit_code, 0);
}

// The store keeps an object that is already there when an upload commits; under a damaged row the
// upload removes it first, so a push heals the blob even when bad bytes are still in place.
TEST_F(Fsck, APushHealsADamagedBlobEvenWithBadBytesStillInPlace) {
  const std::string repo = "fsck/app";
  auto image = push_image(repo, "1.0");
  const std::string good = blob_bytes(repo, image.layer.digest);
  remove_object(image.layer.digest);
  ASSERT_EQ(fsck({"--repair"}).exit_code, 2);
  replace_object(image.layer.digest, flipped(good));
  EXPECT_EQ(push_blob(repo, good), image.layer.digest);
  auto healed = client().get(blob_url(repo, image.layer.digest));
  EXPECT_TRUE(healed.status == 200 && healed.body == good) << healed.describe();
  EXPECT_EQ(fsck({"--verify"}).exit_code, 0);
}

TEST_F(Fsck, DamageToABlobNoManifestNamesIsReportedButIsNoImageDamage) {
  const std::string repo = "fsck/loose";
  auto digest = push_blob(repo, random_bytes(100));
  remove_object(digest);

  CliResult r = fsck();
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("not named by any manifest"), std::string::npos) << r.out;
  EXPECT_FALSE(line_with(r.out, {"missing", digest}).empty()) << r.out;
  EXPECT_NE(r.out.find("1 of them in blobs no manifest names"), std::string::npos) << r.out;
}

TEST_F(Fsck, UnknownArgumentIsAUsageError) {
  CliResult r = fsck({"--verfy"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("--verfy"), std::string::npos) << r.err;
}

TEST_F(Fsck, DataDirectoryWithoutARegistryIsAnErrorNotACleanRegistry) {
  if (RegistryProcess::backends() != "default") GTEST_SKIP() << "the data directory holds no stores with pg-s3";
  const fs::path nowhere = server_->data_dir() / "typo";
  CliResult r = run_berth(BerthCall{.args = {"fsck", "--data", nowhere.string()}, .env = {}, .stdin_text = "",
                                    .data_dir = {}});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_FALSE(fs::exists(nowhere)) << "fsck created a registry where there was none";
}

}  // namespace
}  // namespace berth::test
