// Garbage collection racing real work (docs/lifecycle.md, "The collector's invariant"): two nodes of one
// registry take 100 concurrent pushes of images that share base layers, while images are deleted, pushed
// again and restored, and `berth gc` passes run in a loop with a one-second grace period and a zero restore
// window (so deleted images are purged and their blobs collected while other pushes HEAD and reuse the
// same layers). Afterwards every image that is live pulls whole with the right digests (over HTTP, and
// with skopeo), `berth fsck --verify` is clean, and no unreferenced blob is left.
//
// A push may lose the race the grace period exists for — it HEADs a layer, a collector then marks it,
// its manifest PUT gets MANIFEST_BLOB_UNKNOWN — and then pushes the layer again, as a client would on a
// retry; the test counts those. What must never happen: a manifest accepted (201) naming a blob whose
// bytes are gone.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/registry_process.h"
#include "support/run_command.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

constexpr int kImages = 100;
constexpr int kPushers = 8;
constexpr int kBaseLayers = 6;

struct RaceImage {
  std::string repo, tag;
  Descriptor config, own_layer;
  std::vector<std::pair<std::string, std::string>> base;  // digest, bytes (shared with other images)
  std::string config_bytes, own_bytes, manifest, digest;
  bool live = false;
};

class GcRaceTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    const std::map<std::string, std::string> env = {{"BERTH_GC_ENABLED", "false"},
                                                    {"BERTH_GC_GRACE_SECONDS", "1"},
                                                    {"BERTH_PACKAGES_RESTORE_WINDOW_SECONDS", "0"}};
    a_ = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = env});
    if (a_->external()) GTEST_SKIP() << "needs servers started by the test";
    b_ = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = env, .share_stores_with = a_.get()});
  }

  // Uploads `bytes` unless the registry already has them (HEAD first, as clients do).
  static bool ensure_blob(const HttpClient& http, const std::string& repo, const std::string& digest,
                          const std::string& bytes, bool skip_if_present) {
    if (skip_if_present && http.head(blob_url(repo, digest)).status == 200) return true;
    auto start = http.request("POST", "/v2/" + repo + "/blobs/uploads/");
    if (start.status != 202) return false;
    auto location = start.header("Location");
    auto done = http.request("PUT", with_query(location, "digest=" + url_encode(digest)),
                             {{"Content-Type", "application/octet-stream"}}, bytes);
    return done.status == 201;
  }

  // Pushes the image through `http`; a manifest refused for a blob a collector took is pushed again
  // with its blobs uploaded anew. Returns false on any other failure.
  bool push(const HttpClient& http, const RaceImage& image, std::atomic<int>& lost_races, std::string& error) {
    for (int attempt = 0; attempt < 6; ++attempt) {
      const bool reuse = attempt == 0;
      for (const auto& [digest, bytes] : image.base) {
        if (!ensure_blob(http, image.repo, digest, bytes, reuse)) return error = "base layer upload failed", false;
      }
      if (!ensure_blob(http, image.repo, image.config.digest, image.config_bytes, reuse) ||
          !ensure_blob(http, image.repo, image.own_layer.digest, image.own_bytes, reuse)) {
        return error = "upload failed", false;
      }
      auto put = http.request("PUT", "/v2/" + image.repo + "/manifests/" + image.tag,
                              {{"Content-Type", media::kOciManifest}}, image.manifest);
      if (put.status == 201) return true;
      if (put.error_code() != "MANIFEST_BLOB_UNKNOWN") {  // 400, as Distribution answers it
        return error = "manifest PUT: " + put.describe(), false;
      }
      ++lost_races;
    }
    return error = "lost the race six times in a row", false;
  }

  CliResult gc(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"gc", "--data", a_->data_dir().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_berth(BerthCall{.args = args,
                               .env = {{"BERTH_PACKAGES_RESTORE_WINDOW_SECONDS", "0"}},
                               .stdin_text = {},
                               .data_dir = a_->data_dir()});
  }

  std::unique_ptr<RegistryProcess> a_, b_;
};

TEST_F(GcRaceTest, ConcurrentPushesDeletesAndCollectionsLoseNoImage) {
  std::vector<std::pair<std::string, std::string>> base;
  for (int i = 0; i < kBaseLayers; ++i) {
    auto bytes = random_bytes(4096);
    base.emplace_back(sha256(bytes), bytes);
  }
  std::vector<RaceImage> images(kImages);
  const std::string repo_prefix = unique_repo("race");
  for (int i = 0; i < kImages; ++i) {
    RaceImage& im = images[i];
    im.repo = repo_prefix + "/app" + std::to_string(i % 4);  // four packages, shared layers across them
    im.tag = "v" + std::to_string(i);
    im.base = {base[i % kBaseLayers], base[(i + 1) % kBaseLayers]};
    im.config_bytes = R"({"architecture":"amd64","os":"linux","n":")" + sha256(random_bytes(8)) + "\"}";
    im.own_bytes = random_bytes(1024);
    im.config = {media::kOciConfig, sha256(im.config_bytes), im.config_bytes.size()};
    im.own_layer = {media::kOciLayer, sha256(im.own_bytes), im.own_bytes.size()};
    std::vector<Descriptor> layers;
    for (const auto& [d, bytes] : im.base) layers.push_back({media::kOciLayer, d, bytes.size()});
    layers.push_back(im.own_layer);
    im.manifest = oci_manifest(im.config, layers);
    im.digest = sha256(im.manifest);
  }

  std::mutex mu;  // guards RaceImage::live and `errors`
  std::vector<std::string> errors;
  std::atomic<int> next{0}, lost_races{0}, deletes{0}, repushes{0}, restores{0}, passes{0};
  std::atomic<bool> pushing{true};

  // The collector: whole passes back to back, on the data both nodes share.
  std::thread collector([&] {
    while (pushing) {
      CliResult r = gc({"--grace", "1"});
      if (r.exit_code != 0 && r.err.find("is running on") == std::string::npos) {
        std::lock_guard lock(mu);
        errors.push_back("berth gc: " + r.describe());
      }
      ++passes;
    }
  });
  // Deletes images already pushed, pushes some of them again (which brings a deleted version back, or
  // pushes it anew once purged) and restores others: every delete is followed by a collection that may
  // purge it.
  std::thread deleter([&] {
    std::mt19937 random(7);
    HttpClient http = b_->client();
    while (pushing) {
      std::this_thread::sleep_for(20ms);
      int i = std::uniform_int_distribution<int>(0, kImages - 1)(random);
      RaceImage& im = images[i];
      std::lock_guard lock(mu);
      if (!im.live) continue;
      auto r = http.del("/v2/" + im.repo + "/manifests/" + im.digest);
      if (r.status != 202) {
        errors.push_back("delete " + im.tag + ": " + r.describe());
        continue;
      }
      im.live = false;
      ++deletes;
      if (deletes % 3 == 0) {
        std::string error;
        if (!push(http, im, lost_races, error)) {
          errors.push_back("push again " + im.tag + ": " + error);
        } else {
          im.live = true;
          ++repushes;
        }
      } else if (deletes % 3 == 1) {
        // Restored through the packages API, racing the purge of a zero restore window: either the
        // version comes back whole (it must then pull) or it is gone (404), never half.
        const std::string owner = im.repo.substr(0, im.repo.find('/'));
        const std::string versions = "/api/v3/users/" + owner + "/packages/container/" +
                                     url_encode(im.repo.substr(im.repo.find('/') + 1)) + "/versions";
        auto listed = http.get(versions + "?state=deleted&per_page=100");
        int64_t id = 0;
        if (listed.status == 200) {
          for (const auto& v : nlohmann::json::parse(listed.body)) {
            if (v["name"] == im.digest) id = v["id"].get<int64_t>();
          }
        }
        if (id == 0) continue;  // purged already
        auto restored = http.request("POST", versions + "/" + std::to_string(id) + "/restore");
        if (restored.status == 204) {
          im.live = true;
          ++restores;
        } else if (restored.status != 404) {
          errors.push_back("restore " + im.tag + ": " + restored.describe());
        }
      }
    }
  });
  std::vector<std::thread> pushers;
  for (int t = 0; t < kPushers; ++t) {
    pushers.emplace_back([&, t] {
      HttpClient http = (t % 2 == 0 ? a_ : b_)->client();
      for (int i = next++; i < kImages; i = next++) {
        std::string error;
        bool ok = push(http, images[i], lost_races, error);
        std::lock_guard lock(mu);
        if (ok) {
          images[i].live = true;
        } else {
          errors.push_back(images[i].tag + ": " + error);
        }
      }
    });
  }
  for (auto& p : pushers) p.join();
  std::this_thread::sleep_for(1500ms);  // a few more passes with deletes and pushes again
  pushing = false;
  deleter.join();
  collector.join();
  for (const auto& e : errors) ADD_FAILURE() << e;

  // After the grace period, one more pass: everything unreferenced goes, nothing referenced does.
  std::this_thread::sleep_for(2100ms);
  CliResult last = gc({"--grace", "1"});
  ASSERT_EQ(last.exit_code, 0) << last.describe();
  CliResult dry = gc({"--grace", "1", "--dry-run"});
  EXPECT_NE(dry.out.find("would reclaim 0 objects"), std::string::npos) << "unreferenced blobs left:\n" << dry.out;

  CliResult fsck = run_berth(BerthCall{.args = {"fsck", "--verify", "--data", a_->data_dir().string()},
                                       .env = {}, .stdin_text = {}, .data_dir = a_->data_dir()});
  EXPECT_EQ(fsck.exit_code, 0) << "fsck after the race:\n" << fsck.out << fsck.err;

  HttpClient http = a_->client();
  int live = 0;
  std::vector<const RaceImage*> to_pull;
  for (const RaceImage& im : images) {
    auto manifest = http.get("/v2/" + im.repo + "/manifests/" + im.tag, {{"Accept", media::kOciManifest}});
    if (!im.live) {
      EXPECT_EQ(manifest.status, 404) << im.tag << " was deleted";
      continue;
    }
    ++live;
    ASSERT_EQ(manifest.status, 200) << im.tag;
    EXPECT_EQ(sha256(manifest.body), im.digest) << im.tag;
    std::vector<std::string> digests = {im.config.digest, im.own_layer.digest};
    for (const auto& [d, bytes] : im.base) digests.push_back(d);
    for (const auto& d : digests) {
      auto blob = http.get(blob_url(im.repo, d));
      ASSERT_EQ(blob.status, 200) << im.tag << " lost blob " << d;
      EXPECT_EQ(sha256(blob.body), d) << im.tag;
    }
    if (to_pull.size() < 5) to_pull.push_back(&im);
  }
  // A real client pulls some of them whole, from the other node.
  for (const RaceImage* im : to_pull) {
    const std::string dir = a_->data_dir().parent_path().string() + "/pull-" + im->tag;
    int exit_code = -1;
    auto out = run_command("skopeo copy --quiet --src-tls-verify=false docker://" + b_->host() + ":" +
                               std::to_string(b_->port()) + "/" + im->repo + ":" + im->tag + " oci:" + dir + " 2>&1",
                           &exit_code);
    EXPECT_EQ(exit_code, 0) << "skopeo pull of " << im->tag << ": " << out;
  }
  RecordProperty("live_images", live);
  RecordProperty("deletes", deletes.load());
  RecordProperty("pushed_again", repushes.load());
  RecordProperty("restored", restores.load());
  RecordProperty("gc_passes", passes.load());
  RecordProperty("pushes_that_lost_the_grace_race", lost_races.load());
  EXPECT_GT(passes.load(), 3) << "the collector hardly ran: the race was not exercised";
  EXPECT_GT(deletes.load(), 5);
  EXPECT_GT(restores.load(), 0) << "no restore raced the collector";
  EXPECT_GT(live, kImages / 2);
}

}  // namespace
}  // namespace berth::test
