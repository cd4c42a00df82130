// The package model (docs/packages.md) as tests against the stores, written once and run against every
// driver: versions as whole images, soft delete and restore, sizes kept incrementally, purge.
// A driver's test file instantiates it as it does MetaStoreSuite:
//
//   using berth::meta::suite::PackageSuite;
//   INSTANTIATE_TEST_SUITE_P(Sqlite, PackageSuite, ::testing::Values(berth::meta::suite::PackageDriver{…}), …);
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "meta/metadata_store.h"
#include "meta/package_store.h"
#include "unit/meta_store_suite.h"

namespace berth::meta::suite {

struct PackageStores {
  MetadataStore* meta = nullptr;
  PackageStore* packages = nullptr;
  std::shared_ptr<void> resources;  // owns the stores and what they need; released last
};

// The PackageStores of a store made by a MetaStoreSuite factory (`Store`: the driver's class, which has
// packages()). The store goes first, then what it needed.
template <class Store>
PackageStores package_stores_of(StoreUnderTest made) {
  if (!made.store) return {};
  auto* store = static_cast<Store*>(made.store.get());
  PackageStores out{store, &store->packages(), nullptr};
  out.resources = std::shared_ptr<void>(nullptr, [s = std::shared_ptr<MetadataStore>(std::move(made.store)),
                                                  r = made.resources](void*) mutable { s.reset(); });
  return out;
}

struct PackageDriver {
  std::string name;
  std::function<PackageStores()> make;
};

inline void PrintTo(const PackageDriver& d, std::ostream* os) { *os << d.name; }

struct PackageDriverName {
  std::string operator()(const ::testing::TestParamInfo<PackageDriver>& info) const { return info.param.name; }
};

class PackageSuite : public ::testing::TestWithParam<PackageDriver> {
 protected:
  void SetUp() override {
    stores_ = GetParam().make();
    ASSERT_NE(stores_.meta, nullptr);
    meta = stores_.meta;
    packages = stores_.packages;
  }
  void TearDown() override { stores_ = {}; }

  // A blob of `size` bytes known to the registry.
  oci::Digest blob(const std::string& name, uint64_t size) {
    oci::Digest d = oci::Digest::of("blob:" + name);
    EXPECT_TRUE(meta->record_blob(d, size).ok());
    return d;
  }

  struct Pushed {
    oci::Digest digest;
    std::string content;
  };

  // A manifest in `repo` with these blobs, children and subject, its content unique to `name`.
  Pushed push(const std::string& repo, const std::string& name, std::vector<oci::Digest> blobs,
              std::vector<oci::Digest> children = {}, std::optional<oci::Digest> subject = std::nullopt,
              std::optional<std::string> tag = std::nullopt, int64_t now = 1000) {
    const bool index = !children.empty();
    std::string content = "{\"name\":\"" + name + "\"}";
    ManifestRecord m{.repository = repo,
                     .digest = oci::Digest::of(content),
                     .media_type = index ? "application/vnd.oci.image.index.v1+json"
                                         : "application/vnd.oci.image.manifest.v1+json",
                     .artifact_type = subject ? std::optional<std::string>("application/x-signature") : std::nullopt,
                     .content = content,
                     .subject = subject,
                     .annotations_json = "",
                     .created_at = 0,
                     .description = "about " + name,
                     .source = "",
                     .licenses = ""};
    for (const oci::Digest& b : blobs) {  // as a push does
      Status linked = meta->link_blob(repo, b);
      EXPECT_TRUE(linked.ok()) << b.str() << ": " << linked.message();
    }
    Status s = meta->put_manifest(m, ManifestRefs{.blobs = std::move(blobs), .manifests = std::move(children)}, tag,
                                  now);
    EXPECT_TRUE(s.ok()) << s.message();
    return {m.digest, content};
  }

  std::vector<VersionRecord> versions(const std::string& repo, VersionState state = VersionState::active) {
    auto listed = packages->list_versions(repo, state, 0, 100);
    EXPECT_TRUE(listed.ok()) << listed.status().message();
    return listed.ok() ? listed->items : std::vector<VersionRecord>{};
  }

  VersionRecord only_version(const std::string& repo) {
    auto v = versions(repo);
    EXPECT_EQ(v.size(), 1u);
    if (!v.empty()) return v.front();
    return VersionRecord{.id = 0, .package_id = 0, .digest = oci::Digest::of("none"), .media_type = {},
                         .content = {}, .members = 0, .created_at = 0, .updated_at = 0, .deleted_at = std::nullopt, .tags = {},
                         .parts = {}, .size = 0, .unique_size = 0, .downloads = 0, .description = {},
                         .source = {}, .licenses = {}};
  }

  uint64_t package_size(const std::string& repo) {
    auto p = packages->get_package(repo);
    EXPECT_TRUE(p.ok() && p->has_value());
    return p.ok() && p->has_value() ? (*p)->size : 0;
  }

  bool live(const std::string& repo, const oci::Digest& d) {
    auto m = meta->get_manifest(repo, d);
    EXPECT_TRUE(m.ok());
    return m.ok() && m->has_value();
  }

  MetadataStore* meta = nullptr;
  PackageStore* packages = nullptr;

 private:
  PackageStores stores_;
};

TEST_P(PackageSuite, AnImageIsOneVersionWithTheSizeOfItsBlobs) {
  auto config = blob("config", 100), layer = blob("layer", 5000);
  auto image = push("acme/app", "image", {config, layer}, {}, std::nullopt, "v1");
  VersionRecord v = only_version("acme/app");
  EXPECT_EQ(v.digest, image.digest);
  EXPECT_EQ(v.tags, std::vector<std::string>{"v1"});
  EXPECT_EQ(v.size, 5100u);
  EXPECT_EQ(v.unique_size, 5100u);
  EXPECT_EQ(v.description, "about image");
  EXPECT_TRUE(v.content.empty());  // only an index's bytes are read (it names its platforms)
  EXPECT_EQ(v.members, 1u);
  EXPECT_TRUE(v.parts.empty());
  EXPECT_EQ(package_size("acme/app"), 5100u);
  EXPECT_EQ(*packages->owner_size("acme"), 5100u);
  EXPECT_EQ((*packages->get_package("acme/app"))->version_count, 1u);
}

TEST_P(PackageSuite, AnIndexWithItsPlatformsAndReferrersIsOneVersion) {
  auto c1 = blob("c1", 10), l1 = blob("l1", 1000), c2 = blob("c2", 20), l2 = blob("l2", 2000);
  auto sig_blob = blob("sig", 300), sbom_blob = blob("sbom", 400);
  auto amd64 = push("acme/app", "amd64", {c1, l1});
  auto arm64 = push("acme/app", "arm64", {c2, l2});
  EXPECT_EQ(versions("acme/app").size(), 2u);  // pushed by digest: versions of their own, for now
  auto index = push("acme/app", "index", {}, {amd64.digest, arm64.digest}, std::nullopt, "latest");
  auto sig = push("acme/app", "sig", {sig_blob}, {}, index.digest);
  auto sbom = push("acme/app", "sbom", {sbom_blob}, {}, amd64.digest);

  VersionRecord v = only_version("acme/app");  // the platforms were adopted by the index
  EXPECT_EQ(v.digest, index.digest);
  EXPECT_EQ(v.content, index.content);
  EXPECT_EQ(v.members, 5u);
  EXPECT_EQ(v.tags, std::vector<std::string>{"latest"});
  ASSERT_EQ(v.parts.size(), 4u);
  int platforms = 0, referrers = 0;
  for (const auto& p : v.parts) (p.subject ? referrers : platforms)++;
  EXPECT_EQ(platforms, 2);
  EXPECT_EQ(referrers, 2);
  EXPECT_EQ(v.size, 10u + 1000 + 20 + 2000 + 300 + 400);
  EXPECT_EQ(package_size("acme/app"), v.size);
  EXPECT_EQ((*packages->get_package("acme/app"))->version_count, 1u);
  (void)sig;
  (void)sbom;
}

TEST_P(PackageSuite, DeletingAVersionHidesAllItsManifestsAndRestoreBringsThemBack) {
  auto c1 = blob("c1", 10), c2 = blob("c2", 20), s = blob("s", 30);
  auto p1 = push("acme/app", "p1", {c1});
  auto p2 = push("acme/app", "p2", {c2});
  auto index = push("acme/app", "index", {}, {p1.digest, p2.digest}, std::nullopt, "v1");
  push("acme/app", "index", {}, {p1.digest, p2.digest}, std::nullopt, "latest");
  auto sig = push("acme/app", "sig", {s}, {}, index.digest);
  VersionRecord v = only_version("acme/app");

  ASSERT_TRUE(*packages->delete_version("acme/app", v.id, 2000));
  for (const auto& d : {index.digest, p1.digest, p2.digest, sig.digest}) EXPECT_FALSE(live("acme/app", d));
  EXPECT_TRUE(meta->list_tags("acme/app", "", 10)->empty());
  EXPECT_TRUE(versions("acme/app").empty());
  EXPECT_EQ(package_size("acme/app"), 0u);
  EXPECT_EQ(*packages->owner_size("acme"), 0u);
  auto deleted = versions("acme/app", VersionState::deleted);
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].id, v.id);
  EXPECT_EQ(deleted[0].deleted_at, std::optional<int64_t>(2000));
  EXPECT_EQ(deleted[0].tags, (std::vector<std::string>{"latest", "v1"}));
  EXPECT_EQ(deleted[0].unique_size, 60u);  // nothing live holds its blobs: all of them would be freed
  EXPECT_FALSE(*packages->delete_version("acme/app", v.id, 2001));  // already deleted

  auto restored = packages->restore_version("acme/app", v.id, 3000);
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  EXPECT_TRUE(restored->tags_not_restored.empty());
  for (const auto& d : {index.digest, p1.digest, p2.digest, sig.digest}) EXPECT_TRUE(live("acme/app", d));
  EXPECT_EQ(meta->get_manifest("acme/app", index.digest)->value().content, index.content);
  EXPECT_EQ(*meta->list_tags("acme/app", "", 10), (std::vector<std::string>{"latest", "v1"}));
  EXPECT_EQ(only_version("acme/app").size, 60u);
  EXPECT_EQ(package_size("acme/app"), 60u);
  EXPECT_EQ(packages->restore_version("acme/app", v.id, 3001).status().code(), Errc::not_found);  // live
}

TEST_P(PackageSuite, SizesCountSharedLayersOnceAndUniqueSizeWhatADeleteFrees) {
  auto base = blob("base", 1000), a_cfg = blob("a", 10), b_cfg = blob("b", 20), a_top = blob("a-top", 100);
  push("acme/app", "a", {a_cfg, base, a_top});
  push("acme/app", "b", {b_cfg, base});
  push("acme/other", "c", {base});  // the same base layer in another package of the owner
  auto vs = versions("acme/app");
  ASSERT_EQ(vs.size(), 2u);
  const VersionRecord& b = vs[0].description == "about b" ? vs[0] : vs[1];
  const VersionRecord& a = &b == &vs[0] ? vs[1] : vs[0];
  EXPECT_EQ(a.size, 1110u);
  EXPECT_EQ(a.unique_size, 110u);  // base is held by b and by acme/other too
  EXPECT_EQ(b.size, 1020u);
  EXPECT_EQ(b.unique_size, 20u);
  EXPECT_EQ(package_size("acme/app"), 1130u);
  EXPECT_EQ(package_size("acme/other"), 1000u);
  EXPECT_EQ(*packages->owner_size("acme"), 1130u);

  ASSERT_TRUE(*packages->delete_version("acme/app", a.id, 2000));
  EXPECT_EQ(package_size("acme/app"), 1020u);
  EXPECT_EQ(*packages->owner_size("acme"), 1020u);
  EXPECT_EQ(only_version("acme/app").unique_size, 20u);  // base still in acme/other
  ASSERT_TRUE(*packages->delete_package("acme/other", 2000));
  EXPECT_EQ(only_version("acme/app").unique_size, 1020u);  // now b alone holds base
  EXPECT_EQ(*packages->owner_size("acme"), 1020u);
}

TEST_P(PackageSuite, DeletingAPlatformManifestOfALiveIndexIsRefused) {
  auto p1 = push("acme/app", "p1", {blob("c1", 1)});
  auto index = push("acme/app", "index", {}, {p1.digest}, std::nullopt, "v1");
  auto d = meta->delete_manifest("acme/app", p1.digest, 2000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->outcome, ManifestDeletion::Outcome::refused);
  EXPECT_EQ(d->listed_by, std::optional<oci::Digest>(index.digest));
  EXPECT_TRUE(live("acme/app", p1.digest));
  // Deleting the index by digest deletes the whole version.
  d = meta->delete_manifest("acme/app", index.digest, 2000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->outcome, ManifestDeletion::Outcome::deleted);
  EXPECT_FALSE(live("acme/app", p1.digest));
  EXPECT_EQ(versions("acme/app", VersionState::deleted).size(), 1u);
}

TEST_P(PackageSuite, APlatformManifestSharedByTwoIndexesStaysWhileOneOfThemLives) {
  auto shared = push("acme/app", "shared", {blob("s", 7)});
  auto only1 = push("acme/app", "only1", {blob("o1", 11)});
  auto i1 = push("acme/app", "i1", {}, {shared.digest, only1.digest}, std::nullopt, "one");
  auto i2 = push("acme/app", "i2", {}, {shared.digest}, std::nullopt, "two");
  auto vs = versions("acme/app");
  ASSERT_EQ(vs.size(), 2u);
  int64_t v1 = vs[0].digest == i1.digest ? vs[0].id : vs[1].id;
  int64_t v2 = vs[0].digest == i2.digest ? vs[0].id : vs[1].id;
  EXPECT_EQ((*packages->get_version("acme/app", v2))->size, 7u);

  ASSERT_TRUE(*packages->delete_version("acme/app", v1, 2000));
  EXPECT_FALSE(live("acme/app", i1.digest));
  EXPECT_FALSE(live("acme/app", only1.digest));
  EXPECT_TRUE(live("acme/app", shared.digest));  // i2 still lists it
  EXPECT_EQ(package_size("acme/app"), 7u);
  ASSERT_TRUE(*packages->delete_version("acme/app", v2, 2001));
  EXPECT_FALSE(live("acme/app", shared.digest));
  // Restoring the first brings its children back, the shared one included (an index is never live with
  // a child missing), even though the second's deletion took it.
  ASSERT_TRUE(packages->restore_version("acme/app", v1, 3000).ok());
  for (const auto& d : {i1.digest, only1.digest, shared.digest}) EXPECT_TRUE(live("acme/app", d));
  EXPECT_FALSE(live("acme/app", i2.digest));
  EXPECT_EQ(package_size("acme/app"), 18u);
}

TEST_P(PackageSuite, RestoreLeavesATagThatWasReusedWhereItIs) {
  auto old_image = push("acme/app", "old", {blob("old", 5)}, {}, std::nullopt, "v1");
  push("acme/app", "old", {blob("old", 5)}, {}, std::nullopt, "stable");
  int64_t id = only_version("acme/app").id;
  ASSERT_TRUE(*packages->delete_version("acme/app", id, 2000));
  auto new_image = push("acme/app", "new", {blob("new", 6)}, {}, std::nullopt, "v1");
  auto restored = packages->restore_version("acme/app", id, 3000);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->tags_not_restored, std::vector<std::string>{"v1"});
  EXPECT_EQ(meta->get_manifest_by_tag("acme/app", "v1")->value().digest, new_image.digest);
  EXPECT_EQ(meta->get_manifest_by_tag("acme/app", "stable")->value().digest, old_image.digest);
}

TEST_P(PackageSuite, ADeletedPackageGivesItsNameUpAndCannotBeRestoredOverANewOne) {
  auto image = push("acme/app", "image", {blob("l", 9)}, {}, std::nullopt, "v1");
  auto before = packages->get_package("acme/app");
  ASSERT_TRUE(before.ok() && before->has_value());
  int64_t old_id = (*before)->id;
  ASSERT_TRUE(*packages->delete_package("acme/app", 2000));
  EXPECT_EQ(*packages->get_package("acme/app"), std::nullopt);
  EXPECT_FALSE(live("acme/app", image.digest));
  EXPECT_FALSE(*meta->repository_exists("acme/app"));
  EXPECT_EQ(*meta->list_repositories("", 10), std::vector<std::string>{});
  EXPECT_FALSE(*packages->delete_package("acme/app", 2001));

  push("acme/app", "again", {blob("l2", 3)}, {}, std::nullopt, "v1");
  auto again = packages->get_package("acme/app");
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_NE((*again)->id, old_id);
  EXPECT_EQ(packages->restore_package("acme/app", 3000).code(), Errc::conflict);

  ASSERT_TRUE(*packages->delete_package("acme/app", 4000));
  ASSERT_TRUE(packages->restore_package("acme/app", 5000).ok());  // the newest deletion comes back
  auto restored = packages->get_package("acme/app");
  ASSERT_TRUE(restored.ok() && restored->has_value());
  EXPECT_NE((*restored)->id, old_id);
  EXPECT_FALSE(live("acme/app", image.digest));
}

TEST_P(PackageSuite, RestoringAPackageBringsBackOnlyTheVersionsDeletedWithIt) {
  auto a = push("acme/app", "a", {blob("a", 1)}, {}, std::nullopt, "a");
  auto b = push("acme/app", "b", {blob("b", 2)}, {}, std::nullopt, "b");
  auto vs = versions("acme/app");
  int64_t a_id = vs[0].digest == a.digest ? vs[0].id : vs[1].id;
  ASSERT_TRUE(*packages->delete_version("acme/app", a_id, 1500));
  ASSERT_TRUE(*packages->delete_package("acme/app", 2000));
  ASSERT_TRUE(packages->restore_package("acme/app", 3000).ok());
  EXPECT_TRUE(live("acme/app", b.digest));
  EXPECT_FALSE(live("acme/app", a.digest));
  EXPECT_EQ(versions("acme/app").size(), 1u);
  EXPECT_EQ(versions("acme/app", VersionState::deleted).size(), 1u);
  EXPECT_EQ(package_size("acme/app"), 2u);
}

TEST_P(PackageSuite, AReferrerPushedBeforeItsSubjectJoinsTheSubjectsVersion) {
  auto subject_content = std::string("{\"name\":\"image\"}");
  auto sig = push("acme/app", "sig", {blob("sig", 40)}, {}, oci::Digest::of(subject_content));
  EXPECT_TRUE(versions("acme/app").empty());  // a referrer is never a version of its own
  push("acme/app", "image", {blob("l", 60)});
  VersionRecord v = only_version("acme/app");
  ASSERT_EQ(v.parts.size(), 1u);
  EXPECT_EQ(v.parts[0].digest, sig.digest);
  EXPECT_EQ(v.size, 100u);
}

TEST_P(PackageSuite, DeletingAReferrerAloneShrinksItsVersion) {
  auto image = push("acme/app", "image", {blob("l", 60)}, {}, std::nullopt, "v1");
  auto sig = push("acme/app", "sig", {blob("sig", 40)}, {}, image.digest);
  EXPECT_EQ(only_version("acme/app").size, 100u);
  auto d = meta->delete_manifest("acme/app", sig.digest, 2000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->outcome, ManifestDeletion::Outcome::deleted);
  EXPECT_FALSE(live("acme/app", sig.digest));
  VersionRecord v = only_version("acme/app");
  EXPECT_TRUE(v.parts.empty());
  EXPECT_EQ(v.size, 60u);
  EXPECT_EQ(package_size("acme/app"), 60u);
}

TEST_P(PackageSuite, PushingADeletedVersionAgainBringsItBackUnderItsId) {
  auto image = push("acme/app", "image", {blob("l", 8)}, {}, std::nullopt, "v1");
  int64_t id = only_version("acme/app").id;
  ASSERT_TRUE(*packages->delete_version("acme/app", id, 2000));
  push("acme/app", "image", {blob("l", 8)}, {}, std::nullopt, "v2", 3000);
  VersionRecord v = only_version("acme/app");
  EXPECT_EQ(v.id, id);
  EXPECT_EQ(v.tags, std::vector<std::string>{"v2"});
  EXPECT_EQ(v.size, 8u);
  EXPECT_TRUE(versions("acme/app", VersionState::deleted).empty());
  EXPECT_TRUE(live("acme/app", image.digest));
}

TEST_P(PackageSuite, VersionsAreListedNewestFirstInPages) {
  auto l = blob("l", 1);
  for (int i = 0; i < 7; ++i) push("acme/app", "v" + std::to_string(i), {l}, {}, std::nullopt, std::nullopt, 1000 + i);
  auto first = packages->list_versions("acme/app", VersionState::active, 0, 3);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->total, 7u);
  ASSERT_EQ(first->items.size(), 3u);
  EXPECT_EQ(first->items[0].description, "about v6");
  EXPECT_EQ(first->items[2].description, "about v4");
  auto last = packages->list_versions("acme/app", VersionState::active, 6, 3);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->items.size(), 1u);
  EXPECT_EQ(last->items[0].description, "about v0");
  EXPECT_TRUE(packages->list_versions("acme/app", VersionState::active, 9, 3)->items.empty());
  EXPECT_EQ(packages->list_versions("acme/none", VersionState::active, 0, 3).status().code(), Errc::not_found);
}

TEST_P(PackageSuite, DownloadsCountForTopLevelManifestsOnly) {
  auto p1 = push("acme/app", "p1", {blob("c", 1)});
  auto index = push("acme/app", "index", {}, {p1.digest}, std::nullopt, "v1");
  ASSERT_TRUE(packages
                  ->add_downloads({{"acme/app", index.digest, 3}, {"acme/app", p1.digest, 5},
                                   {"acme/none", index.digest, 1}})
                  .ok());
  EXPECT_EQ(only_version("acme/app").downloads, 3u);
  EXPECT_EQ((*packages->get_package("acme/app"))->downloads, 3u);
}

TEST_P(PackageSuite, ListingPackagesFiltersByOwnerAndVisibility) {
  push("acme/b", "b", {blob("b", 1)});
  push("acme/a/nested", "a", {blob("a", 1)});
  push("acmeco/x", "x", {blob("x", 1)});  // another owner whose name starts the same
  auto all = packages->list_packages("acme", PackageFilter{}, 0, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total, 2u);
  ASSERT_EQ(all->items.size(), 2u);
  EXPECT_EQ(all->items[0].name, "acme/a/nested");
  EXPECT_EQ(all->items[1].name, "acme/b");
  EXPECT_EQ(all->items[0].visibility, "private");
  PackageFilter public_only;
  public_only.public_only = true;
  EXPECT_EQ(packages->list_packages("acme", public_only, 0, 10)->total, 0u);
  PackageFilter private_only;
  private_only.visibility = "private";
  EXPECT_EQ(packages->list_packages("acme", private_only, 0, 10)->total, 2u);
  EXPECT_EQ(packages->list_packages("acme", PackageFilter{}, 1, 10)->items.size(), 1u);
}

TEST_P(PackageSuite, PurgeRemovesWhatWasDeletedBeforeTheCutoffOnly) {
  auto old_image = push("acme/app", "old", {blob("o", 1)}, {}, std::nullopt, "old");
  auto p = push("acme/app", "p", {blob("p", 2)});
  auto index = push("acme/app", "index", {}, {p.digest}, std::nullopt, "idx");
  auto keep = push("acme/app", "keep", {blob("k", 3)}, {}, std::nullopt, "keep");
  auto vs = versions("acme/app");
  auto id_of = [&](const oci::Digest& d) {
    for (const auto& v : vs) {
      if (v.digest == d) return v.id;
    }
    return int64_t{0};
  };
  ASSERT_TRUE(*packages->delete_version("acme/app", id_of(old_image.digest), 1000));
  ASSERT_TRUE(*packages->delete_version("acme/app", id_of(index.digest), 1000));
  ASSERT_TRUE(*packages->delete_version("acme/app", id_of(keep.digest), 5000));
  auto purged = packages->purge(2000, 100);
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  EXPECT_EQ(purged->versions, 2u);
  EXPECT_EQ(purged->manifests, 3u);  // old, index, then its child
  auto deleted = versions("acme/app", VersionState::deleted);
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].digest, keep.digest);
  EXPECT_EQ(packages->restore_version("acme/app", id_of(old_image.digest), 6000).status().code(), Errc::not_found);
  ASSERT_TRUE(packages->restore_version("acme/app", id_of(keep.digest), 6000).ok());
  EXPECT_TRUE(live("acme/app", keep.digest));
  // Pushing a purged manifest again makes a new version.
  push("acme/app", "old", {blob("o", 1)}, {}, std::nullopt, "old", 7000);
  EXPECT_EQ(versions("acme/app").size(), 2u);
}

TEST_P(PackageSuite, PurgeRemovesADeletedPackageOnceItsContentIsGone) {
  push("acme/app", "image", {blob("l", 1)}, {}, std::nullopt, "v1");
  const int64_t old_package = (*packages->get_package("acme/app"))->id;
  const int64_t old_version = only_version("acme/app").id;
  ASSERT_TRUE(*packages->delete_package("acme/app", 1000));
  auto purged = packages->purge(2000, 100);
  ASSERT_TRUE(purged.ok()) << purged.status().message();
  EXPECT_EQ(purged->packages, 1u);
  EXPECT_EQ(packages->restore_package("acme/app", 3000).code(), Errc::not_found);
  EXPECT_EQ(packages->purge(2000, 100)->packages, 0u);  // nothing left to purge
  // The name is free, and nothing new takes an id a client may still hold.
  push("acme/app", "image", {blob("l", 1)}, {}, std::nullopt, "v1", 4000);
  EXPECT_NE((*packages->get_package("acme/app"))->id, old_package);
  EXPECT_NE(only_version("acme/app").id, old_version);
}

TEST_P(PackageSuite, TheIdOfAnAdoptedVersionIsNeverGivenToAnother) {
  auto p = push("acme/app", "p", {blob("p", 1)});
  const int64_t adopted = only_version("acme/app").id;  // the newest id so far
  push("acme/app", "index", {}, {p.digest}, std::nullopt, "v1");
  push("acme/app", "later", {blob("l", 1)});
  for (const auto& v : versions("acme/app")) EXPECT_NE(v.id, adopted) << v.description;
}

TEST_P(PackageSuite, AChildPushedAgainAfterItsIndexWasDeletedIsAVersionUntilTheIndexIsRestored) {
  auto p = push("acme/app", "p", {blob("p", 4)});
  auto index = push("acme/app", "index", {}, {p.digest}, std::nullopt, "v1");
  int64_t id = only_version("acme/app").id;
  ASSERT_TRUE(*packages->delete_version("acme/app", id, 2000));
  push("acme/app", "p", {blob("p", 4)}, {}, std::nullopt, "alone", 2500);
  VersionRecord alone = only_version("acme/app");
  EXPECT_EQ(alone.digest, p.digest);
  ASSERT_TRUE(packages->restore_version("acme/app", id, 3000).ok());
  VersionRecord v = only_version("acme/app");  // the index takes its child back
  EXPECT_EQ(v.digest, index.digest);
  EXPECT_EQ(v.size, 4u);
  EXPECT_EQ(package_size("acme/app"), 4u);
}

// Pushes from many threads at once, each referrer racing its subject (pushed by another thread at the
// same moment): the counts kept incrementally must come out as if the pushes had been made one by one.
TEST_P(PackageSuite, ConcurrentPushesOfImagesAndTheirReferrersKeepSizesExact) {
  constexpr int kImages = 16;
  auto base = blob("base", 1000);
  std::vector<oci::Digest> own, sig;
  for (int i = 0; i < kImages; ++i) {
    own.push_back(blob("own" + std::to_string(i), 10 + i));
    sig.push_back(blob("sig" + std::to_string(i), 100 + i));
  }
  std::latch start(2 * kImages);
  std::vector<std::thread> threads;
  for (int i = 0; i < kImages; ++i) {
    const std::string name = "image" + std::to_string(i);
    threads.emplace_back([&, i, name] {
      start.arrive_and_wait();
      push("acme/app", name, {own[i], base}, {}, std::nullopt, "t" + std::to_string(i));
    });
    threads.emplace_back([&, i, name] {
      start.arrive_and_wait();
      push("acme/app", "sig" + std::to_string(i), {sig[i]}, {}, oci::Digest::of("{\"name\":\"" + name + "\"}"));
    });
  }
  for (auto& t : threads) t.join();
  auto vs = versions("acme/app");
  ASSERT_EQ(vs.size(), size_t{kImages});
  uint64_t expected_package = 1000;
  for (const auto& v : vs) {
    ASSERT_EQ(v.tags.size(), 1u);
    int i = std::stoi(v.tags[0].substr(1));
    EXPECT_EQ(v.size, 1000u + 10 + i + 100 + i) << v.tags[0];
    EXPECT_EQ(v.unique_size, 10u + i + 100 + i) << v.tags[0];
    EXPECT_EQ(v.parts.size(), 1u) << v.tags[0];
    expected_package += 10 + i + 100 + i;
  }
  EXPECT_EQ(package_size("acme/app"), expected_package);
  EXPECT_EQ(*packages->owner_size("acme"), expected_package);
}

// Tag rules hold in every delete path of the store, not only in the /v2/ handlers.
TEST_P(PackageSuite, AVersionOrPackageWithAnImmutableTagIsNotDeleted) {
  auto layer = blob("immutable-layer", 10);
  push("acme/locked", "img", {layer}, {}, std::nullopt, std::string("v1"));
  auto rule = packages->add_tag_rule("acme", std::string("acme/locked"), "v*", "admin:test", 5);
  ASSERT_TRUE(rule.ok()) << rule.status().message();
  auto rules = packages->list_tag_rules("acme");
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_EQ((*rules)[0].package, std::optional<std::string>("acme/locked"));
  EXPECT_EQ((*rules)[0].pattern, "v*");
  const VersionRecord v = only_version("acme/locked");
  auto deleted = packages->delete_version("acme/locked", v.id, 10);
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.status().code(), Errc::denied) << deleted.status().message();
  auto whole = packages->delete_package("acme/locked", 10);
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(whole.status().code(), Errc::denied);
  EXPECT_EQ(versions("acme/locked").size(), 1u);
  EXPECT_EQ(packages->add_tag_rule("acme", std::nullopt, "bad pattern!", "admin:test", 5).status().code(),
            Errc::invalid_argument);
  ASSERT_TRUE(*packages->remove_tag_rule("acme", *rule));
  EXPECT_TRUE(*packages->delete_version("acme/locked", v.id, 10));
}

}  // namespace berth::meta::suite
