// The MetadataStore contract as tests, written once and run against every driver (as CNCF Distribution's
// storage driver test suite is): a driver's test file includes this header once and instantiates it:
//
//   using berth::meta::suite::MetaStoreSuite;  // the macro pastes the name: it must be unqualified
//   INSTANTIATE_TEST_SUITE_P(Sqlite, MetaStoreSuite,
//                            ::testing::Values(berth::meta::suite::StoreDriver{"sqlite", make_sqlite}),
//                            berth::meta::suite::DriverName());
//
// Every test gets a fresh, empty store from the driver's factory. Nothing here may depend on one driver.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "meta/metadata_store.h"

namespace berth::meta::suite {

struct StoreUnderTest {
  std::unique_ptr<MetadataStore> store;
  // Whatever the store needs to outlive it (a temporary directory, a scratch database); released after
  // the store is destroyed.
  std::shared_ptr<void> resources;
};

struct StoreDriver {
  std::string name;
  std::function<StoreUnderTest()> make;
};

inline void PrintTo(const StoreDriver& d, std::ostream* os) { *os << d.name; }

struct DriverName {
  std::string operator()(const ::testing::TestParamInfo<StoreDriver>& info) const { return info.param.name; }
};

inline oci::Digest digest_of(const std::string& s) { return oci::Digest::of(s); }

class MetaStoreSuite : public ::testing::TestWithParam<StoreDriver> {
 protected:
  void SetUp() override {
    under_test_ = GetParam().make();
    ASSERT_NE(under_test_.store, nullptr);
    store = under_test_.store.get();
  }
  void TearDown() override {
    under_test_.store.reset();
    under_test_.resources.reset();
  }

  // A manifest whose digest really is the digest of its content, as the registry guarantees.
  static ManifestRecord manifest(const std::string& repo, const std::string& content,
                                 std::optional<oci::Digest> subject = std::nullopt,
                                 std::optional<std::string> artifact_type = std::nullopt) {
    return ManifestRecord{.repository = repo,
                          .digest = digest_of(content),
                          .media_type = "application/vnd.oci.image.manifest.v1+json",
                          .artifact_type = std::move(artifact_type),
                          .content = content,
                          .subject = std::move(subject),
                          .annotations_json = "",
                          .created_at = 0,
                          .description = {},
                          .source = {},
                          .licenses = {}};
  }

  // delete_manifest's outcome: deleted (true), or nothing there (false); a refusal fails the test.
  bool deleted(const std::string& repo, const oci::Digest& digest) {
    auto d = store->delete_manifest(repo, digest, 5000);
    EXPECT_TRUE(d.ok()) << d.status().message();
    if (!d.ok()) return false;
    EXPECT_NE(d->outcome, ManifestDeletion::Outcome::refused);
    return d->outcome == ManifestDeletion::Outcome::deleted;
  }

  void put(const ManifestRecord& m, std::optional<std::string> tag = std::nullopt, int64_t now = 1000) {
    Status s = store->put_manifest(m, ManifestRefs{}, tag, now);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  static UploadRecord upload(const std::string& id, const std::string& repo, int64_t at) {
    return UploadRecord{.id = id,
                        .repository = repo,
                        .offset = 0,
                        .hash_state = "h0",
                        .storage_state = "s0",
                        .started_at = at,
                        .updated_at = at};
  }

  MetadataStore* store = nullptr;

 private:
  StoreUnderTest under_test_;
};

// ---- Repositories ----

TEST_P(MetaStoreSuite, EnsureRepositoryIsIdempotentAndMakesItExist) {
  EXPECT_FALSE(*store->repository_exists("acme/app"));
  ASSERT_TRUE(store->ensure_repository("acme/app").ok());
  ASSERT_TRUE(store->ensure_repository("acme/app").ok());
  EXPECT_TRUE(*store->repository_exists("acme/app"));
  EXPECT_FALSE(*store->repository_exists("acme/other"));
  auto all = store->list_repositories("", 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, std::vector<std::string>{"acme/app"});
}

TEST_P(MetaStoreSuite, ListRepositoriesPaginatesStrictlyAfterCursor) {
  for (const char* n : {"d", "a", "c", "e", "b"}) ASSERT_TRUE(store->ensure_repository(n).ok());
  EXPECT_EQ(*store->list_repositories("", 2), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*store->list_repositories("b", 2), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(*store->list_repositories("d", 2), (std::vector<std::string>{"e"}));
  EXPECT_TRUE(store->list_repositories("e", 2)->empty());
  // A cursor that is not itself a name still resumes at the next name after it.
  EXPECT_EQ(*store->list_repositories("bb", 10), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_TRUE(store->list_repositories("", 0)->empty());
}

TEST_P(MetaStoreSuite, ListRepositoriesUsesByteOrder) {
  // Byte order puts '-' (0x2d) before '.' (0x2e) before '/' (0x2f) before digits before '_' before
  // lowercase; a locale-aware collation would not.
  std::vector<std::string> names = {"a_b", "a/b", "a.b", "a-b", "a0", "ab", "a"};
  for (const auto& n : names) ASSERT_TRUE(store->ensure_repository(n).ok());
  std::sort(names.begin(), names.end());  // std::string compares bytes
  EXPECT_EQ(*store->list_repositories("", 100), names);
}

// ---- Blobs ----

TEST_P(MetaStoreSuite, RecordBlobIsIdempotentAndReportsSize) {
  auto d = digest_of("layer");
  EXPECT_EQ(*store->blob_size(d), std::nullopt);
  ASSERT_TRUE(store->record_blob(d, 5).ok());
  ASSERT_TRUE(store->record_blob(d, 5).ok());
  EXPECT_EQ(*store->blob_size(d), std::optional<uint64_t>(5));
}

TEST_P(MetaStoreSuite, LinkUnrecordedBlobIsNotFoundAndCreatesNothing) {
  Status s = store->link_blob("acme/app", digest_of("nope"));
  EXPECT_EQ(s.code(), Errc::not_found);
  EXPECT_FALSE(*store->repository_exists("acme/app"));
}

TEST_P(MetaStoreSuite, LinkedBlobSizeOnlyInLinkedRepositories) {
  auto d = digest_of("layer");
  ASSERT_TRUE(store->record_blob(d, 123).ok());
  EXPECT_EQ(*store->linked_blob_size("acme/app", d), std::nullopt);
  ASSERT_TRUE(store->link_blob("acme/app", d).ok());
  ASSERT_TRUE(store->link_blob("acme/app", d).ok());  // idempotent
  EXPECT_TRUE(*store->repository_exists("acme/app"));  // created by the link
  EXPECT_EQ(*store->linked_blob_size("acme/app", d), std::optional<uint64_t>(123));
  EXPECT_EQ(*store->linked_blob_size("acme/other", d), std::nullopt);
}

TEST_P(MetaStoreSuite, UnlinkRemovesOnlyThatLink) {
  auto d = digest_of("layer");
  ASSERT_TRUE(store->record_blob(d, 1).ok());
  ASSERT_TRUE(store->link_blob("a", d).ok());
  ASSERT_TRUE(store->link_blob("b", d).ok());
  EXPECT_TRUE(*store->unlink_blob("a", d));
  EXPECT_FALSE(*store->unlink_blob("a", d));
  EXPECT_FALSE(*store->unlink_blob("nonexistent", d));
  EXPECT_EQ(*store->linked_blob_size("a", d), std::nullopt);
  EXPECT_EQ(*store->linked_blob_size("b", d), std::optional<uint64_t>(1));
  EXPECT_EQ(*store->blob_size(d), std::optional<uint64_t>(1));  // the blob record stays
}

// ---- Upload sessions ----

TEST_P(MetaStoreSuite, CreateAndGetUploadRoundTrips) {
  UploadRecord u = upload("u1", "acme/app", 100);
  u.hash_state = std::string("\0\x01\xff", 3);  // opaque bytes, NULs included
  u.storage_state = "";
  ASSERT_TRUE(store->create_upload(u).ok());
  EXPECT_TRUE(*store->repository_exists("acme/app"));
  auto got = store->get_upload("u1");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  const UploadRecord& g = **got;
  EXPECT_EQ(g.id, "u1");
  EXPECT_EQ(g.repository, "acme/app");
  EXPECT_EQ(g.offset, 0u);
  EXPECT_EQ(g.hash_state, u.hash_state);
  EXPECT_EQ(g.storage_state, "");
  EXPECT_EQ(g.started_at, 100);
  EXPECT_EQ(g.updated_at, 100);
  EXPECT_EQ(*store->get_upload("missing"), std::nullopt);
}

TEST_P(MetaStoreSuite, CreateUploadWithExistingIdIsAlreadyExists) {
  ASSERT_TRUE(store->create_upload(upload("u1", "r", 100)).ok());
  EXPECT_EQ(store->create_upload(upload("u1", "other", 200)).code(), Errc::already_exists);
  EXPECT_EQ((**store->get_upload("u1")).repository, "r");
}

TEST_P(MetaStoreSuite, AdvanceUploadSucceedsAtExpectedOffset) {
  ASSERT_TRUE(store->create_upload(upload("u1", "r", 100)).ok());
  Status s = store->advance_upload("u1", 0, 10, "h1", "s1", 200);
  ASSERT_TRUE(s.ok()) << s.message();
  s = store->advance_upload("u1", 10, 25, "h2", "s2", 300);
  ASSERT_TRUE(s.ok()) << s.message();
  auto g = **store->get_upload("u1");
  EXPECT_EQ(g.offset, 25u);
  EXPECT_EQ(g.hash_state, "h2");
  EXPECT_EQ(g.storage_state, "s2");
  EXPECT_EQ(g.started_at, 100);
  EXPECT_EQ(g.updated_at, 300);
}

TEST_P(MetaStoreSuite, AdvanceUploadAtStaleOffsetIsConflictAndChangesNothing) {
  ASSERT_TRUE(store->create_upload(upload("u1", "r", 100)).ok());
  ASSERT_TRUE(store->advance_upload("u1", 0, 10, "h1", "s1", 200).ok());
  Status s = store->advance_upload("u1", 0, 20, "hx", "sx", 300);
  EXPECT_EQ(s.code(), Errc::conflict);
  auto g = **store->get_upload("u1");
  EXPECT_EQ(g.offset, 10u);
  EXPECT_EQ(g.hash_state, "h1");
  EXPECT_EQ(g.updated_at, 200);
}

TEST_P(MetaStoreSuite, AdvanceMissingUploadIsNotFound) {
  EXPECT_EQ(store->advance_upload("nope", 0, 1, "h", "s", 1).code(), Errc::not_found);
}

TEST_P(MetaStoreSuite, DeleteUploadIsIdempotent) {
  ASSERT_TRUE(store->create_upload(upload("u1", "r", 100)).ok());
  ASSERT_TRUE(store->delete_upload("u1").ok());
  EXPECT_EQ(*store->get_upload("u1"), std::nullopt);
  EXPECT_TRUE(store->delete_upload("u1").ok());
  EXPECT_TRUE(store->delete_upload("never").ok());
  EXPECT_EQ(store->advance_upload("u1", 0, 1, "h", "s", 1).code(), Errc::not_found);
}

TEST_P(MetaStoreSuite, UploadsIdleSinceListsOnlyThoseUpdatedBefore) {
  ASSERT_TRUE(store->create_upload(upload("old", "r", 100)).ok());
  ASSERT_TRUE(store->create_upload(upload("edge", "r", 200)).ok());
  ASSERT_TRUE(store->create_upload(upload("fresh", "r", 100)).ok());
  ASSERT_TRUE(store->advance_upload("fresh", 0, 5, "h", "s", 500).ok());  // activity makes it not idle
  auto idle = store->uploads_idle_since(200);
  ASSERT_TRUE(idle.ok());
  std::vector<std::string> ids;
  for (const auto& u : *idle) ids.push_back(u.id);
  EXPECT_EQ(ids, std::vector<std::string>{"old"});  // strictly before: "edge" at 200 is not idle
  EXPECT_EQ(store->uploads_idle_since(1000)->size(), 3u);
}

TEST_P(MetaStoreSuite, TouchUploadSetsOnlyUpdatedAt) {
  ASSERT_TRUE(store->create_upload(upload("u1", "r", 100)).ok());
  ASSERT_TRUE(store->advance_upload("u1", 0, 5, "h1", "s1", 200).ok());
  auto touched = store->touch_upload("u1", 300);
  ASSERT_TRUE(touched.ok()) << touched.status().message();
  EXPECT_TRUE(*touched);
  auto g = **store->get_upload("u1");
  EXPECT_EQ(g.updated_at, 300);
  EXPECT_EQ(g.started_at, 100);
  EXPECT_EQ(g.offset, 5u);
  EXPECT_EQ(g.hash_state, "h1");
  EXPECT_EQ(g.storage_state, "s1");
  EXPECT_TRUE(store->uploads_idle_since(300)->empty());  // a touched upload is not idle
  // The offset's compare-and-set is unaffected by a touch.
  EXPECT_TRUE(store->advance_upload("u1", 5, 9, "h2", "s2", 400).ok());
  auto missing = store->touch_upload("missing", 300);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(*missing);
}

TEST_P(MetaStoreSuite, DeleteUploadIfIdleKeepsAnUploadTouchedSinceItWasListed) {
  ASSERT_TRUE(store->create_upload(upload("busy", "r", 100)).ok());
  ASSERT_TRUE(store->create_upload(upload("idle", "r", 100)).ok());
  ASSERT_EQ(store->uploads_idle_since(200)->size(), 2u);  // the sweeper's list
  ASSERT_TRUE(*store->touch_upload("busy", 250));         // a request on another node writes to it meanwhile

  auto busy = store->delete_upload_if_idle("busy", 200);
  ASSERT_TRUE(busy.ok()) << busy.status().message();
  EXPECT_FALSE(*busy);
  EXPECT_NE(*store->get_upload("busy"), std::nullopt);
  auto idle = store->delete_upload_if_idle("idle", 200);
  ASSERT_TRUE(idle.ok()) << idle.status().message();
  EXPECT_TRUE(*idle);
  EXPECT_EQ(*store->get_upload("idle"), std::nullopt);
  EXPECT_FALSE(*store->delete_upload_if_idle("idle", 200));  // already gone

  // An advance counts as activity too; strictly before, as uploads_idle_since.
  ASSERT_TRUE(store->advance_upload("busy", 0, 3, "h", "s", 300).ok());
  EXPECT_FALSE(*store->delete_upload_if_idle("busy", 300));
  EXPECT_TRUE(*store->delete_upload_if_idle("busy", 301));
  EXPECT_EQ(*store->get_upload("busy"), std::nullopt);
}

// ---- Manifests and tags ----

TEST_P(MetaStoreSuite, PutManifestThenGetByDigestAndByTag) {
  auto subject = digest_of("subject");
  ManifestRecord m = manifest("acme/app", std::string("{\"a\":1}\0bin", 11), subject, "application/x-sig");
  m.annotations_json = R"({"k":"v"})";
  for (const char* b : {"cfg", "l1"}) {
    ASSERT_TRUE(store->record_blob(digest_of(b), 10).ok());
    ASSERT_TRUE(store->link_blob("acme/app", digest_of(b)).ok());
  }
  ASSERT_TRUE(store->put_manifest(m, ManifestRefs{.blobs = {digest_of("cfg"), digest_of("l1")}, .manifests = {}}, "v1", 1234).ok());
  EXPECT_TRUE(*store->repository_exists("acme/app"));

  for (auto got : {store->get_manifest("acme/app", m.digest), store->get_manifest_by_tag("acme/app", "v1")}) {
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_TRUE(got->has_value());
    const ManifestRecord& g = **got;
    EXPECT_EQ(g.repository, "acme/app");
    EXPECT_EQ(g.digest, m.digest);
    EXPECT_EQ(g.media_type, m.media_type);
    EXPECT_EQ(g.artifact_type, std::optional<std::string>("application/x-sig"));
    EXPECT_EQ(g.content, m.content);
    EXPECT_EQ(g.subject, std::optional<oci::Digest>(subject));
    EXPECT_EQ(g.annotations_json, R"({"k":"v"})");
    EXPECT_EQ(g.created_at, 1234);
  }
  EXPECT_EQ(*store->get_manifest("acme/other", m.digest), std::nullopt);
  EXPECT_EQ(*store->get_manifest("acme/app", digest_of("x")), std::nullopt);
  EXPECT_EQ(*store->get_manifest_by_tag("acme/app", "v2"), std::nullopt);
}

TEST_P(MetaStoreSuite, ManifestWithoutOptionalFieldsRoundTrips) {
  ManifestRecord m = manifest("r", "{}");
  put(m);
  auto g = **store->get_manifest("r", m.digest);
  EXPECT_EQ(g.artifact_type, std::nullopt);
  EXPECT_EQ(g.subject, std::nullopt);
  EXPECT_EQ(g.annotations_json, "");
}

TEST_P(MetaStoreSuite, PutSameManifestTwiceIsIdempotent) {
  ManifestRecord m = manifest("r", "{\"x\":1}");
  ManifestRefs refs{.blobs = {digest_of("l")}, .manifests = {}};
  ASSERT_TRUE(store->record_blob(digest_of("l"), 10).ok());
  ASSERT_TRUE(store->link_blob("r", digest_of("l")).ok());
  ASSERT_TRUE(store->put_manifest(m, refs, "a", 100).ok());
  ASSERT_TRUE(store->put_manifest(m, refs, "b", 200).ok());
  ASSERT_TRUE(store->put_manifest(m, refs, std::nullopt, 300).ok());
  auto g = **store->get_manifest("r", m.digest);
  EXPECT_EQ(g.content, m.content);
  EXPECT_EQ(g.created_at, 100);  // the first push stands
  EXPECT_EQ(*store->list_tags("r", "", 10), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(deleted("r", m.digest));
  EXPECT_EQ(*store->get_manifest("r", m.digest), std::nullopt);
}

TEST_P(MetaStoreSuite, RetagMovesTheTag) {
  ManifestRecord m1 = manifest("r", "one"), m2 = manifest("r", "two");
  put(m1, "latest");
  put(m2, "latest");
  EXPECT_EQ((**store->get_manifest_by_tag("r", "latest")).digest, m2.digest);
  EXPECT_EQ(*store->list_tags("r", "", 10), std::vector<std::string>{"latest"});
  EXPECT_TRUE(store->get_manifest("r", m1.digest)->has_value());  // the untagged one stays
}

TEST_P(MetaStoreSuite, DeleteManifestRemovesItsTagsOnly) {
  ManifestRecord m1 = manifest("r", "one"), m2 = manifest("r", "two");
  put(m1, "a");
  put(m1, "b");
  put(m2, "c");
  EXPECT_TRUE(deleted("r", m1.digest));
  EXPECT_EQ(*store->get_manifest("r", m1.digest), std::nullopt);
  EXPECT_EQ(*store->get_manifest_by_tag("r", "a"), std::nullopt);
  EXPECT_EQ(*store->list_tags("r", "", 10), std::vector<std::string>{"c"});
  EXPECT_FALSE(deleted("r", m1.digest));
  EXPECT_FALSE(deleted("nonexistent", m1.digest));
}

TEST_P(MetaStoreSuite, DeleteManifestInOneRepositoryKeepsItInAnother) {
  ManifestRecord a = manifest("a", "same"), b = manifest("b", "same");
  put(a, "t");
  put(b, "t");
  EXPECT_TRUE(deleted("a", a.digest));
  EXPECT_TRUE(store->get_manifest("b", b.digest)->has_value());
  EXPECT_TRUE(store->get_manifest_by_tag("b", "t")->has_value());
}

TEST_P(MetaStoreSuite, ManifestExistsPerRepositoryAndDigest) {
  ManifestRecord m = manifest("acme/app", "index-child");
  EXPECT_FALSE(*store->manifest_exists("acme/app", m.digest));  // no repository yet
  put(m);  // untagged, as an index's children often are
  EXPECT_TRUE(*store->manifest_exists("acme/app", m.digest));
  EXPECT_FALSE(*store->manifest_exists("acme/app", digest_of("other")));
  EXPECT_FALSE(*store->manifest_exists("acme", m.digest));  // no prefix matching
  ASSERT_TRUE(store->ensure_repository("acme/other").ok());
  EXPECT_FALSE(*store->manifest_exists("acme/other", m.digest));  // per repository
  put(manifest("acme/other", "index-child"));
  EXPECT_TRUE(*store->manifest_exists("acme/other", m.digest));
  EXPECT_TRUE(deleted("acme/app", m.digest));
  EXPECT_FALSE(*store->manifest_exists("acme/app", m.digest));
  EXPECT_TRUE(*store->manifest_exists("acme/other", m.digest));
}

TEST_P(MetaStoreSuite, DeleteTagKeepsTheManifest) {
  ManifestRecord m = manifest("r", "one");
  put(m, "v1");
  EXPECT_TRUE(*store->delete_tag("r", "v1"));
  EXPECT_FALSE(*store->delete_tag("r", "v1"));
  EXPECT_FALSE(*store->delete_tag("nonexistent", "v1"));
  EXPECT_EQ(*store->get_manifest_by_tag("r", "v1"), std::nullopt);
  EXPECT_TRUE(store->get_manifest("r", m.digest)->has_value());
}

TEST_P(MetaStoreSuite, TagVersionChangesWithEveryTagChangeAndOnlyThen) {
  EXPECT_EQ(*store->tag_version("r"), std::nullopt);  // no such repository
  ManifestRecord m1 = manifest("r", "one"), m2 = manifest("r", "two");
  put(m1);  // creates the repository, no tag
  auto v = [&] {
    auto version = store->tag_version("r");
    EXPECT_TRUE(version.ok() && version->has_value());
    return version.ok() && version->has_value() ? **version : -1;
  };
  int64_t v0 = v();
  put(m2);  // an untagged manifest changes no tag
  EXPECT_EQ(v(), v0);
  put(m1, "a");  // new tag
  int64_t v1 = v();
  EXPECT_NE(v1, v0);
  put(m2, "a");  // moved tag
  int64_t v2 = v();
  EXPECT_NE(v2, v1);
  EXPECT_FALSE(*store->delete_tag("r", "missing"));  // nothing removed
  EXPECT_EQ(v(), v2);
  put(m1, "b");
  int64_t v3 = v();
  EXPECT_TRUE(*store->delete_tag("r", "b"));  // removed tag
  int64_t v4 = v();
  EXPECT_NE(v4, v3);
  EXPECT_TRUE(deleted("r", m2.digest));  // took tag "a" with it
  int64_t v5 = v();
  EXPECT_NE(v5, v4);
  EXPECT_TRUE(deleted("r", m1.digest));  // no tags left to take
  EXPECT_EQ(v(), v5);
  // Another repository's tags do not move this one's version.
  put(manifest("other", "x"), "t");
  EXPECT_EQ(v(), v5);
}

TEST_P(MetaStoreSuite, ListTagsPaginatesThroughAThousandTags) {
  std::vector<std::string> expected;
  ManifestRecord m = manifest("r", "one");
  put(m);
  for (int i = 0; i < 1000; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "t%04d", (i * 7919) % 1000);  // inserted out of order
    put(m, std::string(name));
    expected.push_back(name);
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  while (true) {
    auto page = store->list_tags("r", after, 64);
    ASSERT_TRUE(page.ok()) << page.status().message();
    if (page->empty()) break;
    ASSERT_LE(page->size(), 64u);
    for (const auto& t : *page) EXPECT_GT(t, after);
    seen.insert(seen.end(), page->begin(), page->end());
    after = page->back();
    ++pages;
  }
  EXPECT_EQ(pages, 16);  // 15 full pages of 64 and one of 40
  EXPECT_EQ(seen, expected);
  EXPECT_TRUE(store->list_tags("other", "", 10)->empty());
}

TEST_P(MetaStoreSuite, ListTagsUsesByteOrder) {
  ManifestRecord m = manifest("r", "one");
  std::vector<std::string> tags = {"v1.0", "V1.0", "v1-0", "v1_0", "v10", "v1", "_x"};
  for (const auto& t : tags) put(m, t);
  std::sort(tags.begin(), tags.end());
  EXPECT_EQ(*store->list_tags("r", "", 100), tags);
}

TEST_P(MetaStoreSuite, ListReferrersWithAndWithoutArtifactTypeFilter) {
  ManifestRecord target = manifest("r", "target");
  put(target, "v1");
  ManifestRecord sig = manifest("r", "sig", target.digest, "application/vnd.sig");
  sig.annotations_json = R"({"org.opencontainers.image.created":"2024"})";
  ManifestRecord sbom1 = manifest("r", "sbom-1", target.digest, "application/spdx");
  ManifestRecord sbom2 = manifest("r", "sbom-2", target.digest, "application/spdx");
  ManifestRecord untyped = manifest("r", "untyped", target.digest);
  ManifestRecord elsewhere = manifest("r", "other-subject", digest_of("unrelated"), "application/spdx");
  for (const auto* m : {&sig, &sbom1, &sbom2, &untyped, &elsewhere}) put(*m);

  auto all = store->list_referrers("r", target.digest, std::nullopt);
  ASSERT_TRUE(all.ok()) << all.status().message();
  std::vector<oci::Digest> expected = {sig.digest, sbom1.digest, sbom2.digest, untyped.digest};
  std::sort(expected.begin(), expected.end());
  std::vector<oci::Digest> got;
  for (const auto& r : *all) got.push_back(r.digest);
  EXPECT_EQ(got, expected);  // ordered by digest, the other subject's referrer absent
  for (const auto& r : *all) {
    if (r.digest == sig.digest) {
      EXPECT_EQ(r.media_type, sig.media_type);
      EXPECT_EQ(r.size, sig.content.size());
      EXPECT_EQ(r.artifact_type, std::optional<std::string>("application/vnd.sig"));
      EXPECT_EQ(r.annotations_json, sig.annotations_json);
    }
    if (r.digest == untyped.digest) {
      EXPECT_EQ(r.artifact_type, std::nullopt);
    }
  }

  auto spdx = store->list_referrers("r", target.digest, std::string("application/spdx"));
  ASSERT_TRUE(spdx.ok());
  std::vector<oci::Digest> expected_spdx = {sbom1.digest, sbom2.digest};
  std::sort(expected_spdx.begin(), expected_spdx.end());
  got.clear();
  for (const auto& r : *spdx) got.push_back(r.digest);
  EXPECT_EQ(got, expected_spdx);

  EXPECT_TRUE(store->list_referrers("r", target.digest, std::string("application/none"))->empty());
  EXPECT_TRUE(store->list_referrers("r", digest_of("no referrers"), std::nullopt)->empty());
}

TEST_P(MetaStoreSuite, ReferrersFromAnotherRepositoryAreNotListed) {
  ManifestRecord target = manifest("a", "target");
  put(target);
  put(manifest("b", "sig-in-b", target.digest, "application/vnd.sig"));
  EXPECT_TRUE(store->list_referrers("a", target.digest, std::nullopt)->empty());
  EXPECT_EQ(store->list_referrers("b", target.digest, std::nullopt)->size(), 1u);
}

TEST_P(MetaStoreSuite, DeletedReferrerIsNoLongerListed) {
  ManifestRecord target = manifest("r", "target");
  ManifestRecord sig = manifest("r", "sig", target.digest, "application/vnd.sig");
  put(target);
  put(sig);
  ASSERT_TRUE(deleted("r", sig.digest));
  EXPECT_TRUE(store->list_referrers("r", target.digest, std::nullopt)->empty());
}

// ---- Concurrency ----

TEST_P(MetaStoreSuite, ConcurrentPutsAllSucceedAndAllArePresent) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  ASSERT_TRUE(store->record_blob(digest_of("l"), 10).ok());
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(store->link_blob(t % 2 == 0 ? "shared" : "own-" + std::to_string(t), digest_of("l")).ok());
  }
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads share one repository (contending for the same rows), half use their own.
      std::string repo = t % 2 == 0 ? "shared" : "own-" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        ManifestRecord m = manifest(repo, "m-" + std::to_string(t) + "-" + std::to_string(i));
        std::string tag = "t" + std::to_string(t) + "-" + std::to_string(i);
        Status s = store->put_manifest(m, ManifestRefs{.blobs = {digest_of("l")}, .manifests = {}}, tag, 1000 + i);
        if (s.ok()) s = store->put_manifest(m, ManifestRefs{}, std::string("latest-") + std::to_string(t), 1000 + i);
        if (!s.ok()) {
          errors[t] = s.message();
          ++failures;
          return;
        }
        auto got = store->get_manifest_by_tag(repo, tag);
        if (!got.ok() || !got->has_value()) {
          errors[t] = "read back failed";
          ++failures;
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0) << [&] {
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    return all;
  }();
  for (int t = 0; t < kThreads; ++t) {
    std::string repo = t % 2 == 0 ? "shared" : "own-" + std::to_string(t);
    for (int i = 0; i < kPerThread; ++i) {
      auto m = manifest(repo, "m-" + std::to_string(t) + "-" + std::to_string(i));
      auto got = store->get_manifest_by_tag(repo, "t" + std::to_string(t) + "-" + std::to_string(i));
      ASSERT_TRUE(got.ok() && got->has_value());
      EXPECT_EQ((**got).digest, m.digest);
    }
    auto latest = store->get_manifest_by_tag(repo, "latest-" + std::to_string(t));
    ASSERT_TRUE(latest.ok() && latest->has_value());
    EXPECT_EQ((**latest).digest, manifest(repo, "m-" + std::to_string(t) + "-" + std::to_string(kPerThread - 1)).digest);
  }
  // 4 threads x 25 tags + 4 "latest-" tags in the shared repository.
  EXPECT_EQ(store->list_tags("shared", "", 1000)->size(), 4u * kPerThread + 4u);
}

}  // namespace berth::meta::suite
