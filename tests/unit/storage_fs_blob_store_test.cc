// FsBlobStore: the shared BlobStore suite, plus what only a filesystem store promises (its layout on
// disk, what commit leaves behind, what its errors reveal).
#include "storage/fs_blob_store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "unit/storage_blob_store_suite.h"

namespace berth::storage {
namespace {

namespace fs = std::filesystem;
using testing::BlobStoreEnv;
using testing::pattern_bytes;

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-blobstore-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    if (made) path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class FsEnv final : public BlobStoreEnv {
 public:
  FsEnv() {
    auto opened = FsBlobStore::open(dir_.path());
    if (opened.ok()) store_ = std::move(*opened);
  }
  BlobStore& store() override { return *store_; }
  bool ok() const { return !dir_.path().empty() && store_ != nullptr; }

 private:
  TempDir dir_;
  std::unique_ptr<FsBlobStore> store_;
};

}  // namespace
}  // namespace berth::storage

INSTANTIATE_BLOB_STORE_SUITE(Fs, []() -> std::unique_ptr<berth::storage::testing::BlobStoreEnv> {
  auto env = std::make_unique<berth::storage::FsEnv>();
  return env->ok() ? std::move(env) : nullptr;
});

namespace berth::storage {
namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

std::vector<fs::path> regular_files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(it->path());
  }
  return out;
}

class FsBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty()) << "mkdtemp failed";
    root_ = dir_.path();
    auto opened = FsBlobStore::open(root_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(*opened);
  }

  // Begins an upload and writes `data` into it; returns the upload id.
  std::string stage(const std::string& data) {
    std::string id = new_upload_id();
    EXPECT_TRUE(store_->begin_upload(id).ok());
    auto w = store_->append_upload(id, "", 0);
    EXPECT_TRUE(w.ok()) << w.status().message();
    if (!w.ok()) return id;
    EXPECT_TRUE((*w)->write(data.data(), data.size()).ok());
    EXPECT_TRUE((*w)->close().ok());
    return id;
  }

  oci::Digest put(const std::string& data, HashAlgorithm alg = HashAlgorithm::sha256) {
    std::string id = stage(data);
    oci::Digest d = oci::Digest::of(data, alg);
    Status s = store_->commit_upload(id, "", d, data.size());
    EXPECT_TRUE(s.ok()) << s.message();
    return d;
  }

  TempDir dir_;
  fs::path root_;
  std::unique_ptr<FsBlobStore> store_;
};

TEST_F(FsBlobStoreTest, OpenCreatesTheRootAndItsBlobsAndUploadsDirectories) {
  const fs::path nested = root_ / "a" / "b" / "store";
  auto opened = FsBlobStore::open(nested);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_TRUE(fs::is_directory(nested / "blobs"));
  EXPECT_TRUE(fs::is_directory(nested / "uploads"));
  EXPECT_TRUE((*opened)->root().is_absolute());
}

TEST_F(FsBlobStoreTest, OpenOnARegularFileIsIoError) {
  write_file(root_ / "not-a-dir", "x");
  auto opened = FsBlobStore::open(root_ / "not-a-dir");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Errc::io_error);
}

TEST_F(FsBlobStoreTest, BlobFileIsAtAlgorithmPrefixHexPath) {
  // Per-algorithm directories appear only when a blob needs them.
  EXPECT_FALSE(fs::exists(root_ / "blobs" / "sha256"));
  const std::string data = "layout check";
  const oci::Digest d256 = put(data);
  const oci::Digest d512 = put(data, HashAlgorithm::sha512);
  const std::string h256(d256.hex()), h512(d512.hex());

  const fs::path p256 = root_ / "blobs" / "sha256" / h256.substr(0, 2) / h256;
  const fs::path p512 = root_ / "blobs" / "sha512" / h512.substr(0, 2) / h512;
  ASSERT_TRUE(fs::is_regular_file(p256));
  ASSERT_TRUE(fs::is_regular_file(p512));
  EXPECT_EQ(read_file(p256), data);
  EXPECT_EQ(read_file(p512), data);
  EXPECT_EQ(regular_files_under(root_ / "blobs").size(), 2u);
}

TEST_F(FsBlobStoreTest, BeginUploadCreatesAnEmptyFileUnderUploads) {
  const std::string id = new_upload_id();
  ASSERT_TRUE(store_->begin_upload(id).ok());
  const fs::path p = root_ / "uploads" / id;
  ASSERT_TRUE(fs::is_regular_file(p));
  EXPECT_EQ(fs::file_size(p), 0u);
}

TEST_F(FsBlobStoreTest, BeginUploadRecreatesAMissingUploadsDirectory) {
  fs::remove_all(root_ / "uploads");
  const std::string id = new_upload_id();
  ASSERT_TRUE(store_->begin_upload(id).ok());
  EXPECT_TRUE(fs::is_regular_file(root_ / "uploads" / id));
}

TEST_F(FsBlobStoreTest, AppendAtSmallerOffsetTruncatesTheFile) {
  const std::string id = stage("0123456789");
  auto w = store_->append_upload(id, "", 4);
  ASSERT_TRUE(w.ok());
  // Truncation happens when the writer opens, before any byte is written.
  EXPECT_EQ(fs::file_size(root_ / "uploads" / id), 4u);
  ASSERT_TRUE((*w)->write("ab", 2).ok());
  ASSERT_TRUE((*w)->close().ok());
  EXPECT_EQ(read_file(root_ / "uploads" / id), "0123ab");
}

TEST_F(FsBlobStoreTest, NoFileRemainsInUploadsAfterCommit) {
  put(pattern_bytes(70000, 7));
  EXPECT_TRUE(fs::is_empty(root_ / "uploads"));
}

TEST_F(FsBlobStoreTest, CommitOfAnExistingDigestLeavesOneFile) {
  const std::string data = pattern_bytes(9000, 8);
  put(data);
  put(data);
  auto files = regular_files_under(root_ / "blobs");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(read_file(files[0]) == data);
  EXPECT_TRUE(fs::is_empty(root_ / "uploads"));
}

TEST_F(FsBlobStoreTest, CommitWithAShortUploadIsBlobUploadInvalidAndPublishesNothing) {
  const std::string id = stage("12345");
  Status s = store_->commit_upload(id, "", oci::Digest::of("1234567890"), 10);
  EXPECT_EQ(s.code(), Errc::blob_upload_invalid);
  EXPECT_TRUE(regular_files_under(root_ / "blobs").empty());
  // The upload is left for the caller to abort (or to continue).
  EXPECT_EQ(read_file(root_ / "uploads" / id), "12345");
}

TEST_F(FsBlobStoreTest, ConcurrentCommitsOfTheSameDigestLeaveExactlyOneFile) {
  const std::string data = pattern_bytes(512 * 1024, 9);
  const oci::Digest d = oci::Digest::of(data);
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) ids.push_back(stage(data));
  std::vector<Status> results(ids.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = store_->commit_upload(ids[i], "", d, data.size()); });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.message();
  auto files = regular_files_under(root_ / "blobs");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(read_file(files[0]) == data);
  EXPECT_TRUE(fs::is_empty(root_ / "uploads"));
}

TEST_F(FsBlobStoreTest, CommitReplacesADamagedBlobOfTheWrongSize) {
  const std::string data = "the real bytes";
  const oci::Digest d = oci::Digest::of(data);
  const std::string hex(d.hex());
  const fs::path dir = root_ / "blobs" / "sha256" / hex.substr(0, 2);
  fs::create_directories(dir);
  write_file(dir / hex, "trunc");
  const std::string id = stage(data);
  ASSERT_TRUE(store_->commit_upload(id, "", d, data.size()).ok());
  EXPECT_EQ(read_file(dir / hex), data);
  EXPECT_TRUE(fs::is_empty(root_ / "uploads"));
}

TEST_F(FsBlobStoreTest, InvalidUploadIdNeverReachesTheFilesystem) {
  // "../victim" from uploads/ would name <root>/victim.
  write_file(root_ / "victim", "keep me");
  const oci::Digest d = oci::Digest::of("keep me");
  EXPECT_EQ(store_->abort_upload("../victim", "").code(), Errc::invalid_argument);
  EXPECT_EQ(store_->commit_upload("../victim", "", d, 7).code(), Errc::invalid_argument);
  EXPECT_EQ(store_->append_upload("../victim", "", 0).status().code(), Errc::invalid_argument);
  EXPECT_EQ(store_->begin_upload("../created").status().code(), Errc::invalid_argument);

  EXPECT_EQ(read_file(root_ / "victim"), "keep me");
  EXPECT_FALSE(fs::exists(root_ / "created"));
  EXPECT_TRUE(regular_files_under(root_ / "blobs").empty());
  EXPECT_TRUE(fs::is_empty(root_ / "uploads"));
}

TEST_F(FsBlobStoreTest, IoErrorMessagesNameOnlyPathsRelativeToTheRoot) {
  // A regular file where the sha256 directory should be makes the commit fail inside the store.
  write_file(root_ / "blobs" / "sha256", "");
  const std::string id = stage("data");
  Status s = store_->commit_upload(id, "", oci::Digest::of("data"), 4);
  ASSERT_EQ(s.code(), Errc::io_error);
  EXPECT_EQ(s.message().find(root_.string()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("blobs/sha256"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("uploads/" + id), std::string::npos) << s.message();
  // Nothing was published, and the upload can be committed once the disk is repaired.
  fs::remove(root_ / "blobs" / "sha256");
  EXPECT_TRUE(store_->commit_upload(id, "", oci::Digest::of("data"), 4).ok());
}

TEST_F(FsBlobStoreTest, OpenBlobOwnsItsFd) {
  const oci::Digest d = put("fd owner");
  int fd = -1;
  {
    auto blob = store_->open(d, 2, 3);
    ASSERT_TRUE(blob.ok());
    OpenBlob moved(std::move(*blob));
    EXPECT_EQ(blob->fd(), -1) << "the moved-from blob no longer owns the fd";
    fd = moved.fd();
    ASSERT_GE(fd, 0);
    EXPECT_EQ(moved.offset(), 2u);
    EXPECT_EQ(moved.length(), 3u);
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0) << "blob fds must not leak into child processes";
  }
  errno = 0;
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(FsBlobStoreTest, ReleasedFdIsNotClosedByOpenBlob) {
  const oci::Digest d = put("released");
  int fd = -1;
  {
    auto blob = store_->open(d, 0, 8);
    ASSERT_TRUE(blob.ok());
    fd = blob->release_fd();
  }
  EXPECT_NE(::fcntl(fd, F_GETFD), -1);
  ::close(fd);
}

TEST_F(FsBlobStoreTest, ListingSkipsNamesThatAreNotDigestsOrUploads) {
  const oci::Digest a = put("first real blob");
  const oci::Digest b = put("second real blob", HashAlgorithm::sha512);
  const std::string ha(a.hex());
  const fs::path dir = root_ / "blobs" / "sha256" / ha.substr(0, 2);
  // Strays an operator, a crash or another tool could leave in the blob area.
  write_file(dir / "not-a-digest", "x");
  write_file(dir / (ha + ".tmp"), "x");
  write_file(dir / std::string(64, 'A'), "x");  // uppercase hex is not a digest
  fs::create_directories(dir / (ha.substr(0, 2) + std::string(62, 'e')));  // a directory, not a file
  fs::create_directories(root_ / "blobs" / "md5" / "ab");
  write_file(root_ / "blobs" / "md5" / "ab" / ("ab" + std::string(30, '0')), "x");
  fs::create_directories(root_ / "blobs" / "sha256" / "zz");
  write_file(root_ / "blobs" / "sha256" / "zz" / ("zz" + std::string(62, '0')), "x");
  // A valid digest in the wrong <xx> directory: stat() would not find it there.
  const std::string misplaced = (ha.substr(0, 2) == "00" ? "11" : "00") + std::string(62, '0');
  write_file(dir / misplaced, "x");
  write_file(root_ / "blobs" / "README", "x");
  write_file(root_ / "uploads" / "not-an-upload-id", "x");
  fs::create_directories(root_ / "uploads" / new_upload_id());

  std::vector<oci::Digest> expect = {a, b};
  std::sort(expect.begin(), expect.end());
  auto all = store_->list_blobs("", 100);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].digest, expect[0]);
  EXPECT_EQ((*all)[1].digest, expect[1]);
  // Skipped names do not shorten a page: a page of one is still one while blobs remain.
  auto first = store_->list_blobs("", 1);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ(first->front().digest, expect[0]);
  auto second = store_->list_blobs(expect[0].str(), 1);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ(second->front().digest, expect[1]);

  const std::string id = stage("in progress");
  auto uploads = store_->list_uploads("", 100);
  ASSERT_TRUE(uploads.ok()) << uploads.status().message();
  ASSERT_EQ(uploads->size(), 1u);
  EXPECT_EQ(uploads->front().id, id);
}

TEST_F(FsBlobStoreTest, ListingReportsTheFileSizeAndMtime) {
  const oci::Digest d = put("dated");
  const std::string hex(d.hex());
  const fs::path p = root_ / "blobs" / "sha256" / hex.substr(0, 2) / hex;
  const auto when = fs::file_time_type::clock::now() - std::chrono::hours(48);
  fs::last_write_time(p, when);
  const std::string id = stage("old upload");
  fs::last_write_time(root_ / "uploads" / id, when);
  const int64_t expect = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::file_clock::to_sys(when).time_since_epoch()).count();
  auto blobs = store_->list_blobs("", 10);
  ASSERT_TRUE(blobs.ok());
  ASSERT_EQ(blobs->size(), 1u);
  EXPECT_EQ(blobs->front().size, 5u);
  EXPECT_EQ(blobs->front().modified_at, expect);
  auto uploads = store_->list_uploads("", 10);
  ASSERT_TRUE(uploads.ok());
  ASSERT_EQ(uploads->size(), 1u);
  EXPECT_EQ(uploads->front().modified_at, expect);
}

TEST(UploadIdTest, NewUploadIdsAre32LowercaseHexAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_upload_id();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ASSERT_TRUE(is_valid_upload_id(id));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(UploadIdTest, CanonicalLowercaseUuidIsValid) {
  EXPECT_TRUE(is_valid_upload_id("123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_FALSE(is_valid_upload_id("123E4567-E89B-12D3-A456-426614174000"));
  EXPECT_FALSE(is_valid_upload_id("{123e4567-e89b-12d3-a456-426614174000}"));
  EXPECT_FALSE(is_valid_upload_id("123e4567e89b-12d3-a456-426614174000-"));
}

}  // namespace
}  // namespace berth::storage
