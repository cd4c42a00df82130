// Garbage collection (docs/lifecycle.md) against a real `berth serve`, with the real `berth gc`: what goes
// (unreferenced blobs past the grace period, purged images' blobs, objects and upload data the metadata
// does not know, links no manifest uses), what stays (everything a live or restorable manifest names,
// blobs read within the grace period), a dry run that names exactly what a run then deletes, the
// background collector with its metrics and audit entries, and collectors killed mid-pass.
//
// Each test starts its own server (the collector sees a whole registry, so tests must not share one),
// with the background collector off unless the test is about it.
#include <gtest/gtest.h>
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <utime.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/registry_process.h"

extern char** environ;

namespace berth::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// What one `berth gc` printed.
struct GcReport {
  int exit_code = -1;
  long objects = -1;
  long bytes = -1;
  long orphans = -1;
  long links = -1;
  long uploads = -1;
  long in_grace = -1;
  std::string text;
};

long number_after(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return -1;
  return std::stol(m[1]);
}

class GcTest : public ApiTest {
 protected:
  void start(std::map<std::string, std::string> env = {}) {
    env.emplace("BERTH_GC_ENABLED", "false");
    server_ = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = std::move(env)});
    use_registry(*server_);
  }
  void SetUp() override {
    ApiTest::SetUp();
    start();
    if (server_->external()) GTEST_SKIP() << "needs servers started by the test";
  }

  GcReport gc(std::vector<std::string> extra = {}, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {"gc", "--data", server_->data_dir().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult r = run_berth(BerthCall{.args = args, .env = std::move(env), .stdin_text = {}, .data_dir = server_->data_dir()});
    GcReport g;
    g.exit_code = r.exit_code;
    g.text = r.out + r.err;
    g.objects = number_after(r.out, R"(reclaim(?:ed)? (\d+) objects)");
    g.bytes = number_after(r.out, R"(objects, (\d+) bytes)");
    g.orphans = number_after(r.out, R"(of which (\d+) objects)");
    g.links = number_after(r.out, R"(remove(?:d)? (\d+) unused links)");
    g.uploads = number_after(r.out, R"(links, (\d+) upload leftovers)");
    g.in_grace = number_after(r.out, R"(kept (\d+) unreferenced)");
    EXPECT_EQ(g.exit_code, 0) << g.text;
    return g;
  }

  bool blob_served(const std::string& repo, const std::string& digest) {
    return client().head(blob_url(repo, digest)).status == 200;
  }

  bool filesystem() const { return RegistryProcess::backends() == "default"; }
  fs::path object_path(const std::string& digest) const {
    const std::string hex = digest.substr(digest.find(':') + 1);
    return server_->data_dir() / "blobs" / "blobs" / "sha256" / hex.substr(0, 2) / hex;
  }
  static void age(const fs::path& file, std::chrono::seconds by) {
    const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() - by);
    struct utimbuf times {
      t, t
    };
    ASSERT_EQ(::utime(file.c_str(), &times), 0) << file;
  }

  // A manifest naming `config` and `layers` already pushed to `repo`, under `reference`.
  std::string push_manifest(const std::string& repo, const std::string& reference, const Descriptor& config,
                            const std::vector<Descriptor>& layers) {
    const std::string body = oci_manifest(config, layers);
    auto r = put_manifest(repo, reference, media::kOciManifest, body);
    EXPECT_EQ(r.status, 201) << r.describe();
    return sha256(body);
  }

  std::unique_ptr<RegistryProcess> server_;
};

TEST_F(GcTest, ADryRunNamesExactlyWhatTheRunThenReclaims) {
  const std::string repo = unique_repo("gc/dry");
  const std::string loose = random_bytes(1000);
  const std::string loose_digest = push_blob(repo, loose);
  const Image image = push_image(repo, "v1");
  std::this_thread::sleep_for(1100ms);  // grace 0 still needs the blob's last second to be over

  // Pages of 3 rows: every walk crosses pages (the blob rows, the links, the objects and their merge).
  for (int i = 0; i < 7; ++i) push_image(repo, "p" + std::to_string(i));
  GcReport dry = gc({"--dry-run", "--grace", "0", "--page", "3"});
  EXPECT_EQ(dry.objects, 1) << dry.text;
  EXPECT_EQ(dry.bytes, 1000) << dry.text;
  EXPECT_TRUE(blob_served(repo, loose_digest)) << "a dry run deleted something";

  GcReport run = gc({"--grace", "0", "--page", "3"});
  EXPECT_EQ(run.objects, dry.objects) << run.text;
  EXPECT_EQ(run.bytes, dry.bytes) << run.text;
  EXPECT_FALSE(blob_served(repo, loose_digest));
  if (filesystem()) EXPECT_FALSE(fs::exists(object_path(loose_digest)));
  for (const auto& d : {image.config.digest, image.layer.digest}) {
    auto got = client().get(blob_url(repo, d));
    EXPECT_EQ(got.status, 200);
    EXPECT_EQ(sha256(got.body), d) << "a referenced blob lost its bytes";
  }
  EXPECT_EQ(gc({"--grace", "0"}).objects, 0);
}

TEST_F(GcTest, UnreferencedBlobsWithinTheGracePeriodAreKept) {
  const std::string repo = unique_repo("gc/grace");
  const std::string digest = push_blob(repo, random_bytes(300));
  GcReport run = gc({"--grace", "3600"});
  EXPECT_EQ(run.objects, 0) << run.text;
  EXPECT_EQ(run.in_grace, 1) << run.text;
  EXPECT_TRUE(blob_served(repo, digest));
}

// A client that HEADs a blob to skip uploading it will name it in a manifest: the read restarts the
// grace period (the server touches it once a quarter period has passed).
TEST_F(GcTest, AReadOfABlobRestartsItsGracePeriod) {
  start({{"BERTH_GC_GRACE_SECONDS", "4"}});
  const std::string repo = unique_repo("gc/read");
  const std::string read = push_blob(repo, random_bytes(100));
  const std::string unread = push_blob(repo, random_bytes(100));
  std::this_thread::sleep_for(5500ms);  // past the grace period, whole seconds rounded
  ASSERT_TRUE(blob_served(repo, read));  // the HEAD a pushing client makes
  GcReport run = gc({"--grace", "4"});
  EXPECT_EQ(run.objects, 1) << run.text;
  EXPECT_TRUE(blob_served(repo, read));
  EXPECT_FALSE(blob_served(repo, unread));
}

// Soft delete first, purge after the restore window, collect last: a deleted image's blobs stay while it
// can be restored, and once purged only the blobs no other image uses go.
TEST_F(GcTest, ADeletedImagesBlobsGoOnlyOncePurgedAndOnlyThoseNoOtherImageUses) {
  const std::string repo = unique_repo("gc/purge");
  const std::string shared = random_bytes(2000), own_config = R"({"architecture":"amd64","os":"linux","n":1})",
                    other_config = R"({"architecture":"amd64","os":"linux","n":2})";
  const Descriptor layer{media::kOciLayer, push_blob(repo, shared), shared.size()};
  const Descriptor config{media::kOciConfig, push_blob(repo, own_config), own_config.size()};
  const Descriptor config2{media::kOciConfig, push_blob(repo, other_config), other_config.size()};
  const std::string deleted = push_manifest(repo, "old", config, {layer});
  push_manifest(repo, "new", config2, {layer});
  ASSERT_EQ(client().del("/v2/" + repo + "/manifests/" + deleted).status, 202);
  std::this_thread::sleep_for(1100ms);

  GcReport restorable = gc({"--grace", "0"});
  EXPECT_EQ(restorable.objects, 0) << "blobs of a restorable version were deleted\n" << restorable.text;
  EXPECT_TRUE(blob_served(repo, config.digest));

  GcReport purged = gc({"--grace", "0"}, {{"BERTH_PACKAGES_RESTORE_WINDOW_SECONDS", "0"}});
  EXPECT_EQ(purged.objects, 1) << purged.text;
  EXPECT_EQ(purged.bytes, static_cast<long>(own_config.size())) << purged.text;
  EXPECT_FALSE(blob_served(repo, config.digest));
  EXPECT_TRUE(blob_served(repo, layer.digest));
  EXPECT_EQ(client().get("/v2/" + repo + "/manifests/new").status, 200);
}

TEST_F(GcTest, ALinkNoManifestOfItsRepositoryUsesIsRemovedButTheBlobStays) {
  const std::string a = unique_repo("gc/link-a"), b = unique_repo("gc/link-b");
  const std::string bytes = random_bytes(500);
  const std::string digest = push_blob(a, bytes);  // uploaded to a, never used there
  const std::string config_bytes = R"({"architecture":"arm64","os":"linux"})";
  const Descriptor config{media::kOciConfig, push_blob(b, config_bytes), config_bytes.size()};
  push_blob(b, bytes);
  push_manifest(b, "v1", config, {Descriptor{media::kOciLayer, digest, bytes.size()}});
  std::this_thread::sleep_for(1100ms);

  GcReport run = gc({"--grace", "0"});
  EXPECT_EQ(run.objects, 0) << run.text;
  EXPECT_EQ(run.links, 1) << run.text;
  EXPECT_FALSE(blob_served(a, digest));
  EXPECT_TRUE(blob_served(b, digest));
}

TEST_F(GcTest, ObjectsAndUploadDataTheMetadataDoesNotKnowAreRemovedOnceOld) {
  if (!filesystem()) GTEST_SKIP() << "writes into the filesystem store directly";
  const std::string content = random_bytes(700);
  const std::string digest = sha256(content);
  const fs::path orphan = object_path(digest);
  fs::create_directories(orphan.parent_path());
  std::ofstream(orphan, std::ios::binary) << content;
  const std::string fresh_content = random_bytes(10);
  const fs::path fresh = object_path(sha256(fresh_content));
  fs::create_directories(fresh.parent_path());
  std::ofstream(fresh, std::ios::binary) << fresh_content;
  const fs::path upload = server_->data_dir() / "blobs" / "uploads" / "0123456789abcdef0123456789abcdef";
  fs::create_directories(upload.parent_path());
  std::ofstream(upload, std::ios::binary) << "partial";
  age(orphan, 2h);
  age(upload, 48h);

  GcReport run = gc({"--grace", "3600"});
  EXPECT_EQ(run.orphans, 1) << run.text;
  EXPECT_EQ(run.objects, 1) << run.text;
  EXPECT_EQ(run.bytes, 700) << run.text;
  EXPECT_EQ(run.uploads, 1) << run.text;
  EXPECT_FALSE(fs::exists(orphan));
  EXPECT_FALSE(fs::exists(upload));
  EXPECT_TRUE(fs::exists(fresh)) << "an object younger than the grace period was deleted";
}

// Pushing the bytes of a collected blob again stores them anew, and an image naming them pushes fine.
TEST_F(GcTest, ABlobCollectedEarlierCanBePushedAgain) {
  const std::string repo = unique_repo("gc/again");
  const std::string bytes = random_bytes(800);
  const std::string digest = push_blob(repo, bytes);
  std::this_thread::sleep_for(1100ms);
  ASSERT_EQ(gc({"--grace", "0"}).objects, 1);
  ASSERT_FALSE(blob_served(repo, digest));
  EXPECT_EQ(push_blob(repo, bytes), digest);
  const std::string config_bytes = R"({"os":"linux","architecture":"amd64"})";
  const Descriptor config{media::kOciConfig, push_blob(repo, config_bytes), config_bytes.size()};
  push_manifest(repo, "v1", config, {Descriptor{media::kOciLayer, digest, bytes.size()}});
  auto got = client().get(blob_url(repo, digest));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, bytes);
}

TEST_F(GcTest, TheBackgroundCollectorReclaimsAndReportsMetricsAndAuditEntries) {
  start({{"BERTH_GC_ENABLED", "true"},
         {"BERTH_GC_GRACE_SECONDS", "0"},
         {"BERTH_GC_INTERVAL_SECONDS", "1"},
         {"BERTH_GC_PASS_INTERVAL_SECONDS", "0"}});
  const std::string repo = unique_repo("gc/background");
  const std::string digest = push_blob(repo, random_bytes(1234));
  const Image kept = push_image(repo, "v1");
  EXPECT_TRUE(eventually([&] { return !blob_served(repo, digest); }, 15s)) << "the background collector did not run";
  EXPECT_TRUE(blob_served(repo, kept.layer.digest));
  std::string metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = client().get("/metrics").body;
    return number_after(metrics, R"(\nberth_gc_reclaimed_bytes_total (\d+))") >= 1234;
  }, 15s)) << metrics;
  EXPECT_GE(number_after(metrics, R"(\nberth_gc_passes_total (\d+))"), 1);
  EXPECT_NE(metrics.find("berth_gc_blobs_pending"), std::string::npos);
  CliResult audit = run_berth(BerthCall{.args = {"admin", "audit", "--data", server_->data_dir().string()},
                                        .env = {}, .stdin_text = {}, .data_dir = server_->data_dir()});
  EXPECT_NE(audit.out.find("gc.pass"), std::string::npos) << audit.out << audit.err;
}

// A collector killed at random points of its pass (20 times) leaves nothing the next pass cannot finish:
// it takes over the dead process's lease at once, every unreferenced blob goes, every image stays whole.
TEST_F(GcTest, CollectorsKilledMidPassLeaveNothingTheNextPassCannotFinish) {
  const std::string repo = unique_repo("gc/kill");
  std::vector<std::string> loose;
  for (int i = 0; i < 400; ++i) loose.push_back(push_blob(repo, random_bytes(64)));
  std::vector<Image> images;
  for (int i = 0; i < 10; ++i) images.push_back(push_image(repo, "v" + std::to_string(i)));
  std::this_thread::sleep_for(1100ms);

  std::mt19937 random(std::random_device{}());
  std::map<std::string, std::string> env = RegistryProcess::backend_env_for(server_->data_dir());
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  int killed_mid_pass = 0;
  for (int round = 0; round < 20; ++round) {
    std::vector<std::string> args = {BERTH_BINARY, "gc", "--data", server_->data_dir().string(), "--grace", "0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()), 0);
    posix_spawn_file_actions_destroy(&actions);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(1, 40)(random)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) ++killed_mid_pass;
  }
  gc({"--grace", "0"});
  EXPECT_EQ(gc({"--grace", "0", "--dry-run"}).objects, 0) << "unreferenced blobs were left behind";
  for (const auto& d : loose) EXPECT_FALSE(blob_served(repo, d)) << d;
  for (const auto& image : images) {
    for (const auto& d : {image.config.digest, image.layer.digest}) {
      auto got = client().get(blob_url(repo, d));
      EXPECT_EQ(got.status, 200) << d;
      EXPECT_EQ(sha256(got.body), d);
    }
  }
  CliResult fsck = run_berth(BerthCall{.args = {"fsck", "--verify", "--data", server_->data_dir().string()},
                                       .env = {}, .stdin_text = {}, .data_dir = server_->data_dir()});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  RecordProperty("killed_mid_pass", killed_mid_pass);
  EXPECT_GT(killed_mid_pass, 0) << "no collector was killed before it finished: the test proved nothing";
}

}  // namespace
}  // namespace berth::test
