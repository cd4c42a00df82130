// The behaviour every BlobStore must have, written once and run against each implementation (the
// filesystem store now, an S3 store later), as Distribution does with its storage driver test suites.
//
// Use: in one test file per implementation, include this header and instantiate it with a factory
// that makes a fresh, empty store and cleans up after it:
//
//   INSTANTIATE_BLOB_STORE_SUITE(Fs, [] { return std::make_unique<MyFixtureEnv>(); });
//
// The header defines tests (TEST_P), so include it in exactly one translation unit per executable.
// Nothing here may assume a filesystem: blobs are read back through OpenBlob's fd when it has one and
// through its stream otherwise.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "common/hasher.h"
#include "oci/digest.h"
#include "storage/blob_store.h"

namespace berth::storage::testing {

// Owns one store and whatever it lives in (a temp dir, a bucket prefix); destroying it cleans up.
class BlobStoreEnv {
 public:
  virtual ~BlobStoreEnv() = default;
  virtual BlobStore& store() = 0;
};

struct BlobStoreSuiteParam {
  std::string name;  // a gtest name: letters, digits, underscores
  std::function<std::unique_ptr<BlobStoreEnv>()> make;
};
inline void PrintTo(const BlobStoreSuiteParam& p, std::ostream* os) { *os << p.name; }

// Deterministic, non-repeating-looking bytes (xorshift), so a misplaced chunk changes the digest.
inline std::string pattern_bytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

// Reads every byte of an opened blob: pread on the fd when there is one (as sendfile would), the stream
// otherwise.
inline Result<std::string> read_all(OpenBlob& blob) {
  std::string out;
  if (blob.fd() >= 0) {
    out.resize(blob.length());
    uint64_t done = 0;
    while (done < blob.length()) {
      ssize_t n = ::pread(blob.fd(), out.data() + done, blob.length() - done, static_cast<off_t>(blob.offset() + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Status(Errc::io_error, "short pread in test");
      done += static_cast<uint64_t>(n);
    }
    return out;
  }
  auto stream = blob.take_stream();
  if (!stream) return Status(Errc::internal, "OpenBlob has neither fd nor stream");
  char buf[65536];
  for (;;) {
    auto n = stream->read(buf, sizeof buf);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    out.append(buf, *n);
  }
  if (out.size() != blob.length()) return Status(Errc::io_error, "stream length differs from OpenBlob::length");
  return out;
}

// The sha256 of an opened blob, read in bounded pieces rather than into one string.
inline Result<std::string> hash_blob(OpenBlob& blob) {
  Hasher h(HashAlgorithm::sha256);
  std::string buf(1 << 20, '\0');
  uint64_t done = 0;
  if (blob.fd() >= 0) {
    while (done < blob.length()) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), blob.length() - done));
      ssize_t n = ::pread(blob.fd(), buf.data(), want, static_cast<off_t>(blob.offset() + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Status(Errc::io_error, "short pread in test");
      h.update(buf.data(), static_cast<size_t>(n));
      done += static_cast<uint64_t>(n);
    }
  } else {
    auto stream = blob.take_stream();
    if (!stream) return Status(Errc::internal, "OpenBlob has neither fd nor stream");
    for (;;) {
      auto n = stream->read(buf.data(), buf.size());
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      h.update(buf.data(), *n);
      done += *n;
    }
  }
  if (done != blob.length()) return Status(Errc::io_error, "blob length differs from OpenBlob::length");
  return h.hex_digest();
}

inline Result<std::string> read_all(ByteSource& source) {
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = source.read(buf, sizeof buf);
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buf, *n);
  }
}

class BlobStoreSuite : public ::testing::TestWithParam<BlobStoreSuiteParam> {
 protected:
  void SetUp() override {
    env_ = GetParam().make();
    ASSERT_NE(env_, nullptr);
  }
  void TearDown() override { env_.reset(); }

  BlobStore& store() { return env_->store(); }

  // Appends `data` at `offset` with one writer; returns the new state.
  std::string append(const std::string& id, const std::string& state, uint64_t offset, const std::string& data) {
    auto w = store().append_upload(id, state, offset);
    EXPECT_TRUE(w.ok()) << w.status().message();
    if (!w.ok()) return state;
    EXPECT_TRUE((*w)->write(data.data(), data.size()).ok());
    auto next = (*w)->close();
    EXPECT_TRUE(next.ok()) << next.status().message();
    return next.ok() ? *next : state;
  }

  // Begins an upload, writes `data` in one append and commits it under its digest.
  oci::Digest put(const std::string& data, HashAlgorithm alg = HashAlgorithm::sha256) {
    std::string id = new_upload_id();
    auto state = store().begin_upload(id);
    EXPECT_TRUE(state.ok()) << state.status().message();
    std::string s = append(id, state.ok() ? *state : "", 0, data);
    oci::Digest d = oci::Digest::of(data, alg);
    Status c = store().commit_upload(id, s, d, data.size());
    EXPECT_TRUE(c.ok()) << c.message();
    return d;
  }

  Result<std::string> get(const oci::Digest& d) {
    auto size = store().stat(d);
    if (!size.ok()) return size.status();
    auto blob = store().open(d, 0, *size);
    if (!blob.ok()) return blob.status();
    return read_all(*blob);
  }

  // Walks a listing as garbage collection does: pages of at most `page` entries, each after the last
  // entry of the previous one, until a short page. Returns the keys of every entry seen.
  template <class Entry>
  std::vector<std::string> walk(size_t page, Result<std::vector<Entry>> (BlobStore::*list)(const std::string&, size_t),
                                std::string (*key)(const Entry&)) {
    std::vector<std::string> seen;
    std::string after;
    for (int pages = 0; pages < 1000; ++pages) {
      auto r = (store().*list)(after, page);
      EXPECT_TRUE(r.ok()) << r.status().message();
      if (!r.ok()) break;
      EXPECT_LE(r->size(), page);
      for (const auto& e : *r) seen.push_back(key(e));
      if (r->size() < page) break;
      after = seen.back();
    }
    return seen;
  }
  std::vector<std::string> all_blob_pages(size_t page) {
    return walk<StoredObject>(page, &BlobStore::list_blobs, [](const StoredObject& o) { return o.digest.str(); });
  }
  std::vector<std::string> all_upload_pages(size_t page) {
    return walk<StoredUpload>(page, &BlobStore::list_uploads, [](const StoredUpload& u) { return u.id; });
  }

  // Begins an upload and appends `data`; returns the id and the state.
  std::pair<std::string, std::string> start_upload(const std::string& data) {
    std::string id = new_upload_id();
    auto s0 = store().begin_upload(id);
    EXPECT_TRUE(s0.ok()) << s0.status().message();
    return {id, append(id, s0.ok() ? *s0 : "", 0, data)};
  }

  // Store clocks (an S3 server's) and ours may differ a little; "recent" is within minutes.
  static void expect_recent(int64_t t) {
    const int64_t now = std::time(nullptr);
    EXPECT_GE(t, now - 600);
    EXPECT_LE(t, now + 120);
  }

  std::unique_ptr<BlobStoreEnv> env_;
};

TEST_P(BlobStoreSuite, StatOfAbsentBlobIsNotFound) {
  auto r = store().stat(oci::Digest::of("never stored"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::not_found);
}

TEST_P(BlobStoreSuite, OpenOfAbsentBlobIsNotFound) {
  auto r = store().open(oci::Digest::of("never stored"), 0, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::not_found);
}

TEST_P(BlobStoreSuite, UploadRoundTripAcrossSeveralWriters) {
  const std::string data = pattern_bytes(300000, 1);
  const std::string id = new_upload_id();
  auto begun = store().begin_upload(id);
  ASSERT_TRUE(begun.ok()) << begun.status().message();
  std::string state = *begun;
  // Uneven chunks, several write() calls per writer, one writer per chunk at the offset reached so far.
  const size_t cuts[] = {0, 1, 4096, 100001, 250000, data.size()};
  for (size_t i = 0; i + 1 < std::size(cuts); ++i) {
    auto w = store().append_upload(id, state, cuts[i]);
    ASSERT_TRUE(w.ok()) << w.status().message();
    size_t mid = cuts[i] + (cuts[i + 1] - cuts[i]) / 2;
    ASSERT_TRUE((*w)->write(data.data() + cuts[i], mid - cuts[i]).ok());
    ASSERT_TRUE((*w)->write(data.data() + mid, cuts[i + 1] - mid).ok());
    auto next = (*w)->close();
    ASSERT_TRUE(next.ok()) << next.status().message();
    state = *next;
  }
  const oci::Digest d = oci::Digest::of(data);
  ASSERT_TRUE(store().commit_upload(id, state, d, data.size()).ok());

  auto size = store().stat(d);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, data.size());
  auto blob = store().open(d, 0, data.size());
  ASSERT_TRUE(blob.ok()) << blob.status().message();
  EXPECT_EQ(blob->length(), data.size());
  auto back = read_all(*blob);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(*back == data) << "bytes read back differ from bytes written";
}

TEST_P(BlobStoreSuite, OpenWithRangeReturnsThoseBytes) {
  const std::string data = pattern_bytes(10000, 2);
  const oci::Digest d = put(data);
  auto blob = store().open(d, 1234, 5000);
  ASSERT_TRUE(blob.ok()) << blob.status().message();
  EXPECT_EQ(blob->length(), 5000u);
  auto back = read_all(*blob);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == data.substr(1234, 5000));
}

TEST_P(BlobStoreSuite, AppendAtSmallerOffsetDiscardsTheTail) {
  const std::string id = new_upload_id();
  auto s0 = store().begin_upload(id);
  ASSERT_TRUE(s0.ok());
  // An interrupted append left "garbage" after byte 5; the caller only recorded offset 5.
  std::string s1 = append(id, *s0, 0, "hello");
  append(id, s1, 5, "garbage");
  std::string s3 = append(id, s1, 5, " world");

  auto reader = store().read_upload(id, s3, 11);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  auto bytes = read_all(**reader);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "hello world");
  // Nothing past the new end survives: the whole upload commits as exactly these 11 bytes.
  const oci::Digest d = oci::Digest::of("hello world");
  ASSERT_TRUE(store().commit_upload(id, s3, d, 11).ok());
  auto back = get(d);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "hello world");
}

TEST_P(BlobStoreSuite, AppendPastTheStoredBytesIsBlobUploadInvalid) {
  const std::string id = new_upload_id();
  auto s0 = store().begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(id, *s0, 0, "abc");
  auto w = store().append_upload(id, s1, 10);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Errc::blob_upload_invalid);
}

TEST_P(BlobStoreSuite, ReadUploadReturnsTheFirstSizeBytes) {
  const std::string data = pattern_bytes(20000, 3);
  const std::string id = new_upload_id();
  auto s0 = store().begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(id, *s0, 0, data);
  auto reader = store().read_upload(id, s1, 12345);
  ASSERT_TRUE(reader.ok());
  auto bytes = read_all(**reader);
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(*bytes == data.substr(0, 12345));

  auto too_far = store().read_upload(id, s1, data.size() + 1);
  ASSERT_FALSE(too_far.ok());
  EXPECT_EQ(too_far.status().code(), Errc::blob_upload_invalid);
}

TEST_P(BlobStoreSuite, BeginUploadTwiceIsAlreadyExists) {
  const std::string id = new_upload_id();
  ASSERT_TRUE(store().begin_upload(id).ok());
  auto again = store().begin_upload(id);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Errc::already_exists);
}

TEST_P(BlobStoreSuite, UploadThatWasNeverStartedIsNotFound) {
  const std::string id = new_upload_id();
  auto w = store().append_upload(id, "", 0);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Errc::not_found);
  auto r = store().read_upload(id, "", 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::not_found);
  Status c = store().commit_upload(id, "", oci::Digest::of(""), 0);
  EXPECT_EQ(c.code(), Errc::not_found);
}

TEST_P(BlobStoreSuite, CommitPublishesOnlyTheFirstSizeBytes) {
  const std::string id = new_upload_id();
  auto s0 = store().begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(id, *s0, 0, "layer-bytes+trailing");
  const oci::Digest d = oci::Digest::of("layer-bytes");
  ASSERT_TRUE(store().commit_upload(id, s1, d, 11).ok());
  auto back = get(d);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "layer-bytes");
}

TEST_P(BlobStoreSuite, CommitOfShortUploadIsBlobUploadInvalidAndPublishesNothing) {
  const std::string id = new_upload_id();
  auto s0 = store().begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(id, *s0, 0, "short");
  const oci::Digest d = oci::Digest::of("short but claimed longer");
  Status c = store().commit_upload(id, s1, d, 24);
  EXPECT_EQ(c.code(), Errc::blob_upload_invalid);
  auto st = store().stat(d);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), Errc::not_found);
}

TEST_P(BlobStoreSuite, CommitOfExistingDigestKeepsOneIntactCopyAndRemovesTheUpload) {
  const std::string data = pattern_bytes(50000, 4);
  const oci::Digest d = put(data);
  const std::string id = new_upload_id();
  auto s0 = store().begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(id, *s0, 0, data);
  ASSERT_TRUE(store().commit_upload(id, s1, d, data.size()).ok());

  auto back = get(d);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == data);
  auto w = store().append_upload(id, s1, data.size());
  ASSERT_FALSE(w.ok()) << "the second upload should be gone after its commit";
  EXPECT_EQ(w.status().code(), Errc::not_found);
  // One copy: removing it once leaves nothing behind.
  ASSERT_TRUE(store().remove(d).ok());
  EXPECT_EQ(store().stat(d).status().code(), Errc::not_found);
}

TEST_P(BlobStoreSuite, AbortRemovesTheUploadData) {
  const std::string id = new_upload_id();
  auto s0 = store().begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(id, *s0, 0, "to be discarded");
  ASSERT_TRUE(store().abort_upload(id, s1).ok());

  EXPECT_EQ(store().read_upload(id, s1, 0).status().code(), Errc::not_found);
  EXPECT_EQ(store().append_upload(id, s1, 0).status().code(), Errc::not_found);
  EXPECT_EQ(store().commit_upload(id, s1, oci::Digest::of("to be discarded"), 15).code(), Errc::not_found);
  EXPECT_TRUE(store().abort_upload(id, s1).ok()) << "aborting twice is ok";
  // The id is free again.
  EXPECT_TRUE(store().begin_upload(id).ok());
}

TEST_P(BlobStoreSuite, OpenWithRangePastTheEndIsRangeInvalid) {
  const oci::Digest d = put("0123456789");
  EXPECT_EQ(store().open(d, 0, 11).status().code(), Errc::range_invalid);
  EXPECT_EQ(store().open(d, 5, 6).status().code(), Errc::range_invalid);
  EXPECT_EQ(store().open(d, 11, 0).status().code(), Errc::range_invalid);
  // offset + length would wrap around 2^64.
  EXPECT_EQ(store().open(d, 2, UINT64_MAX).status().code(), Errc::range_invalid);
  EXPECT_EQ(store().open(d, UINT64_MAX, 2).status().code(), Errc::range_invalid);
  // The boundaries themselves are fine.
  EXPECT_TRUE(store().open(d, 0, 10).ok());
  EXPECT_TRUE(store().open(d, 10, 0).ok());
}

TEST_P(BlobStoreSuite, InvalidUploadIdsAreRejectedAsInvalidArgument) {
  const std::string bad[] = {
      "",
      "../x",
      "../../etc/passwd",
      std::string(31, 'a'),
      std::string(33, 'a'),
      "0123456789ABCDEF0123456789abcdef",      // uppercase hex
      "0123456789abcdef0123456789abcdeg",      // not hex
      "01234567-89AB-cdef-0123-456789abcdef",  // uppercase UUID
      "012345678-9abc-def0-1234-56789abcdef",  // UUID length, dashes misplaced
      std::string("0123456789abcdef\0" "123456789abcdef", 32),
  };
  const oci::Digest d = oci::Digest::of("x");
  for (const std::string& id : bad) {
    SCOPED_TRACE("upload id: \"" + id + "\"");
    EXPECT_FALSE(is_valid_upload_id(id));
    // invalid_argument rather than not_found / ok: the store refused the id before looking anything up.
    EXPECT_EQ(store().begin_upload(id).status().code(), Errc::invalid_argument);
    EXPECT_EQ(store().append_upload(id, "", 0).status().code(), Errc::invalid_argument);
    EXPECT_EQ(store().read_upload(id, "", 0).status().code(), Errc::invalid_argument);
    EXPECT_EQ(store().commit_upload(id, "", d, 1).code(), Errc::invalid_argument);
    EXPECT_EQ(store().abort_upload(id, "").code(), Errc::invalid_argument);
  }
}

TEST_P(BlobStoreSuite, ConcurrentCommitsOfTheSameDigestAllSucceed) {
  const std::string data = pattern_bytes(1 << 20, 5);
  const oci::Digest d = oci::Digest::of(data);
  constexpr int kThreads = 8;
  std::vector<std::string> ids(kThreads), states(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    ids[i] = new_upload_id();
    auto s0 = store().begin_upload(ids[i]);
    ASSERT_TRUE(s0.ok());
    states[i] = append(ids[i], *s0, 0, data);
  }
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[i] = store().commit_upload(ids[i], states[i], d, data.size()); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_TRUE(results[i].ok()) << "thread " << i << ": " << results[i].message();

  auto back = get(d);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(*back == data) << "the published blob is not intact";
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(store().read_upload(ids[i], states[i], 0).status().code(), Errc::not_found);
}

TEST_P(BlobStoreSuite, LargeUploadInOneMiBChunks) {
  constexpr size_t kChunk = 1 << 20;
  constexpr size_t kChunks = 64;
  const std::string id = new_upload_id();
  auto s0 = store().begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string state = *s0;
  Hasher written(HashAlgorithm::sha256);
  for (size_t i = 0; i < kChunks; ++i) {
    const std::string chunk = pattern_bytes(kChunk, 100 + i);
    written.update(chunk);
    state = append(id, state, i * kChunk, chunk);
    ASSERT_FALSE(HasFailure());
  }
  const oci::Digest d = oci::Digest::from_hasher(written);
  ASSERT_TRUE(store().commit_upload(id, state, d, kChunk * kChunks).ok());
  auto size = store().stat(d);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, kChunk * kChunks);

  auto blob = store().open(d, 0, *size);
  ASSERT_TRUE(blob.ok());
  auto read_back = hash_blob(*blob);
  ASSERT_TRUE(read_back.ok()) << read_back.status().message();
  EXPECT_EQ(*read_back, written.hex_digest());
}

TEST_P(BlobStoreSuite, RemoveIsIdempotent) {
  const oci::Digest d = put("remove me");
  ASSERT_TRUE(store().remove(d).ok());
  EXPECT_EQ(store().stat(d).status().code(), Errc::not_found);
  EXPECT_TRUE(store().remove(d).ok());
  EXPECT_TRUE(store().remove(oci::Digest::of("never stored")).ok());
}

TEST_P(BlobStoreSuite, RemoveManyRemovesExactlyTheGivenBlobsAndToleratesAbsentOnes) {
  std::vector<oci::Digest> gone;
  for (int i = 0; i < 12; ++i) gone.push_back(put("remove many " + std::to_string(i)));
  const oci::Digest kept = put("keep me");
  gone.push_back(oci::Digest::of("never stored either"));
  ASSERT_TRUE(store().remove_many(gone).ok());
  for (const auto& d : gone) EXPECT_EQ(store().stat(d).status().code(), Errc::not_found) << d.str();
  EXPECT_TRUE(store().stat(kept).ok());
  EXPECT_TRUE(store().remove_many(gone).ok()) << "already gone is ok";
  EXPECT_TRUE(store().remove_many({}).ok());
}

TEST_P(BlobStoreSuite, EmptyBlobRoundTrips) {
  const oci::Digest d = put("");
  auto size = store().stat(d);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0u);
  auto blob = store().open(d, 0, 0);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->length(), 0u);
}

TEST_P(BlobStoreSuite, Sha512BlobRoundTrips) {
  const std::string data = pattern_bytes(4096, 6);
  const oci::Digest d = oci::Digest::of(data, HashAlgorithm::sha512);
  const std::string id = new_upload_id();
  auto s0 = store().begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(id, *s0, 0, data);
  ASSERT_TRUE(store().commit_upload(id, s1, d, data.size()).ok());
  auto back = get(d);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == data);
  // The same bytes under sha256 are a different blob, not yet stored.
  EXPECT_EQ(store().stat(oci::Digest::of(data)).status().code(), Errc::not_found);
}

TEST_P(BlobStoreSuite, ListBlobsReturnsPublishedBlobsSortedWithSizesAndRecentTimes) {
  std::vector<std::pair<std::string, uint64_t>> expect;  // digest, size
  for (size_t i = 0; i < 5; ++i) {
    const std::string data = pattern_bytes(100 + 37 * i, 200 + i);
    expect.emplace_back(put(data).str(), data.size());
  }
  const std::string big = pattern_bytes(70000, 210);
  expect.emplace_back(put(big, HashAlgorithm::sha512).str(), big.size());
  std::sort(expect.begin(), expect.end());
  ASSERT_EQ(expect.back().first.rfind("sha512:", 0), 0u) << "sha512 digests sort after every sha256 one";

  auto listed = store().list_blobs("", 100);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), expect.size());
  for (size_t i = 0; i < expect.size(); ++i) {
    SCOPED_TRACE(expect[i].first);
    EXPECT_EQ((*listed)[i].digest.str(), expect[i].first);
    EXPECT_EQ((*listed)[i].size, expect[i].second);
    expect_recent((*listed)[i].modified_at);
  }
  // Strictly after: the last one listed, or anything past it, yields nothing.
  auto rest = store().list_blobs(expect.back().first, 100);
  ASSERT_TRUE(rest.ok());
  EXPECT_TRUE(rest->empty());
  auto none = store().list_blobs("", 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(BlobStoreSuite, ListBlobsPagesVisitEveryBlobExactlyOnce) {
  std::vector<std::string> expect;
  for (size_t i = 0; i < 25; ++i) {
    // A few sha512 blobs, so that a page boundary can fall between the algorithms.
    HashAlgorithm alg = i % 8 == 7 ? HashAlgorithm::sha512 : HashAlgorithm::sha256;
    expect.push_back(put("page blob " + std::to_string(i), alg).str());
  }
  std::sort(expect.begin(), expect.end());
  EXPECT_EQ(all_blob_pages(7), expect);
  EXPECT_EQ(all_blob_pages(25), expect);  // a full last page, then an empty one
  EXPECT_EQ(all_blob_pages(1), expect);
  // Starting in the middle: exactly the digests after that one.
  auto tail = store().list_blobs(expect[10], 100);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 14u);
  EXPECT_EQ(tail->front().digest.str(), expect[11]);
}

TEST_P(BlobStoreSuite, UploadsInProgressAreNotListedAsBlobs) {
  const oci::Digest published = put("published");
  start_upload("still uploading");
  start_upload(pattern_bytes(6u << 20, 211));  // past an S3 part: a multipart upload exists too
  auto listed = store().list_blobs("", 100);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().digest, published);
}

TEST_P(BlobStoreSuite, RemovedBlobDisappearsFromTheListing) {
  std::vector<oci::Digest> ds = {put("first"), put("second"), put("third")};
  std::sort(ds.begin(), ds.end());
  ASSERT_TRUE(store().remove(ds[1]).ok());
  auto listed = store().list_blobs("", 100);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].digest, ds[0]);
  EXPECT_EQ((*listed)[1].digest, ds[2]);
}

TEST_P(BlobStoreSuite, ListUploadsShowsUploadsUntilCommitOrAbort) {
  auto [a, sa] = start_upload("to commit");
  auto [b, sb] = start_upload("to abort");
  auto listed = store().list_uploads("", 100);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, std::min(a, b));
  EXPECT_EQ((*listed)[1].id, std::max(a, b));
  for (const auto& u : *listed) expect_recent(u.modified_at);

  ASSERT_TRUE(store().commit_upload(a, sa, oci::Digest::of("to commit"), 9).ok());
  listed = store().list_uploads("", 100);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, b);
  ASSERT_TRUE(store().abort_upload(b, sb).ok());
  listed = store().list_uploads("", 100);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

TEST_P(BlobStoreSuite, ListUploadsPagesVisitEveryUploadExactlyOnce) {
  std::vector<std::string> expect;
  for (int i = 0; i < 5; ++i) expect.push_back(start_upload("upload " + std::to_string(i)).first);
  std::sort(expect.begin(), expect.end());
  EXPECT_EQ(all_upload_pages(2), expect);
  EXPECT_EQ(all_upload_pages(5), expect);
  auto tail = store().list_uploads(expect[2], 100);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ(tail->front().id, expect[3]);
}

TEST_P(BlobStoreSuite, RemoveUploadLeftoversRemovesAListedUpload) {
  auto [keep, keep_state] = start_upload("kept");
  // More than an S3 part, so that there is a multipart upload to abort as well as staged bytes.
  const std::string data = pattern_bytes(6u << 20, 212);
  auto [gone, gone_state] = start_upload(data);
  auto listed = store().list_uploads("", 100);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 2u);

  ASSERT_TRUE(store().remove_upload_leftovers(gone).ok());
  listed = store().list_uploads("", 100);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, keep);
  EXPECT_EQ(store().append_upload(gone, gone_state, data.size()).status().code(), Errc::not_found);
  EXPECT_TRUE(store().remove_upload_leftovers(gone).ok()) << "already gone is ok";
  EXPECT_EQ(store().remove_upload_leftovers("../" + keep).code(), Errc::invalid_argument);
  // The other upload is untouched and still commits.
  ASSERT_TRUE(store().commit_upload(keep, keep_state, oci::Digest::of("kept"), 4).ok());
}

}  // namespace berth::storage::testing

// gtest pastes the suite name into identifiers, so the instantiation must sit in the suite's namespace.
#define INSTANTIATE_BLOB_STORE_SUITE(prefix, ...)                                                    \
  namespace berth::storage::testing {                                                               \
  INSTANTIATE_TEST_SUITE_P(prefix, BlobStoreSuite, ::testing::Values(BlobStoreSuiteParam{#prefix, __VA_ARGS__}), \
                           [](const auto& info) { return info.param.name; });                       \
  }
