// S3BlobStore against a real S3 server: the shared BlobStore suite, plus what only an S3 store has
// (multipart parts from small chunks, an upload continued by another instance from its saved state,
// presigned URLs, unreachable endpoints).
//
// The server is Ceph's radosgw on 127.0.0.1, from `scripts/start-s3.sh --shared`: ctest runs every test
// case of this executable in its own process, so they share one cluster (started by the first, about
// 17 s) which stops itself 20 s after the last of them exits. To use a server that is already running
// instead, set
// BERTH_S3_ENDPOINT, BERTH_S3_BUCKET, BERTH_S3_ACCESS_KEY and BERTH_S3_SECRET_KEY (and BERTH_S3_REGION).
// Every store made here writes under its own random prefix and removes it when done.
#include "storage/s3_blob_store.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "unit/storage_blob_store_suite.h"

namespace berth::storage {
namespace {

namespace fs = std::filesystem;
using testing::pattern_bytes;

const fs::path kRepo = fs::path(__FILE__).parent_path().parent_path().parent_path();

std::string run(const std::string& cmd, int* exit_code) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    *exit_code = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// The server for the whole executable.
class S3Server : public ::testing::Environment {
 public:
  static S3Server* instance;
  std::map<std::string, std::string> vars;
  std::string skip_reason;

  void SetUp() override {
    if (const char* ep = std::getenv("BERTH_S3_ENDPOINT"); ep && *ep) {
      for (const char* k : {"BERTH_S3_ENDPOINT", "BERTH_S3_BUCKET", "BERTH_S3_ACCESS_KEY", "BERTH_S3_SECRET_KEY",
                            "BERTH_S3_REGION"}) {
        if (const char* v = std::getenv(k)) vars[k] = v;
      }
      return;
    }
    int code = 0;
    std::string out = run("BERTH_S3_WATCH_PID=" + std::to_string(::getpid()) + " bash " +
                              (kRepo / "scripts/start-s3.sh").string() + " --shared",
                          &code);
    if (code == 2) {
      skip_reason = "no S3 server here: scripts/install-deps.sh test installs radosgw";
      return;
    }
    ASSERT_EQ(code, 0) << "scripts/start-s3.sh failed (its stderr is above)";
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("export ", 0) != 0) continue;
      size_t eq = line.find('=');
      vars[line.substr(7, eq - 7)] = line.substr(eq + 1);
    }
  }

  S3Options options(const std::string& prefix) const {
    S3Options o;
    o.endpoint = vars.at("BERTH_S3_ENDPOINT");
    o.bucket = vars.at("BERTH_S3_BUCKET");
    o.access_key = vars.at("BERTH_S3_ACCESS_KEY");
    o.secret_key = vars.at("BERTH_S3_SECRET_KEY");
    if (auto it = vars.find("BERTH_S3_REGION"); it != vars.end()) o.region = it->second;
    o.prefix = prefix;
    o.part_size = 5ull << 20;  // the S3 minimum, so that the tests cross part boundaries quickly
    return o;
  }
};
S3Server* S3Server::instance = nullptr;

// Deletes every object and multipart upload under the store's prefix.
void clear_prefix(S3Client& c) {
  const std::string& prefix = c.options().prefix;
  if (auto mps = c.call("GET", "", {{"uploads", ""}, {"prefix", prefix}}); mps.ok()) {
    auto keys = xml_all(mps->body, "Key");
    auto ids = xml_all(mps->body, "UploadId");
    for (size_t i = 0; i < std::min(keys.size(), ids.size()); ++i) (void)c.call("DELETE", keys[i], {{"uploadId", ids[i]}});
  }
  if (auto list = c.call("GET", "", {{"list-type", "2"}, {"prefix", prefix}}); list.ok()) {
    for (const auto& k : xml_all(list->body, "Key")) (void)c.call("DELETE", k, {});
  }
}

std::vector<std::string> keys_under(S3Client& c, const std::string& prefix) {
  auto list = c.call("GET", "", {{"list-type", "2"}, {"prefix", prefix}});
  return list.ok() ? xml_all(list->body, "Key") : std::vector<std::string>{"<list failed>"};
}

std::unique_ptr<S3BlobStore> make_store(const std::string& prefix) {
  auto s = S3BlobStore::open(S3Server::instance->options(prefix));
  return s.ok() ? std::move(*s) : nullptr;
}

std::string random_prefix() { return "t-" + new_upload_id().substr(0, 12) + "/"; }

class S3Env final : public testing::BlobStoreEnv {
 public:
  S3Env() : store_(make_store(random_prefix())) {}
  ~S3Env() override {
    if (store_) clear_prefix(store_->client());
  }
  BlobStore& store() override { return *store_; }
  bool ok() const { return store_ != nullptr; }

 private:
  std::unique_ptr<S3BlobStore> store_;
};

}  // namespace
}  // namespace berth::storage

INSTANTIATE_BLOB_STORE_SUITE(S3, []() -> std::unique_ptr<berth::storage::testing::BlobStoreEnv> {
  auto* server = berth::storage::S3Server::instance;
  if (!server->skip_reason.empty() || server->vars.empty()) return nullptr;
  auto env = std::make_unique<berth::storage::S3Env>();
  return env->ok() ? std::move(env) : nullptr;
});

namespace berth::storage {
namespace {

class S3BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!S3Server::instance->skip_reason.empty()) GTEST_SKIP() << S3Server::instance->skip_reason;
    ASSERT_FALSE(S3Server::instance->vars.empty()) << "no S3 server";
    store_ = make_store(random_prefix());
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    if (store_) clear_prefix(store_->client());
  }

  std::string append(BlobStore& s, const std::string& id, const std::string& state, uint64_t offset,
                     std::string_view data) {
    auto w = s.append_upload(id, state, offset);
    EXPECT_TRUE(w.ok()) << w.status().message();
    if (!w.ok()) return state;
    // Written as a registry handler would: in pieces of at most 64 KiB.
    for (size_t i = 0; i < data.size(); i += 65536) {
      Status ws = (*w)->write(data.data() + i, std::min<size_t>(65536, data.size() - i));
      EXPECT_TRUE(ws.ok()) << ws.message();
    }
    auto next = (*w)->close();
    EXPECT_TRUE(next.ok()) << next.status().message();
    return next.ok() ? *next : state;
  }

  Result<std::string> get(BlobStore& s, const oci::Digest& d, uint64_t offset, uint64_t length) {
    auto blob = s.open(d, offset, length);
    if (!blob.ok()) return blob.status();
    return testing::read_all(*blob);
  }

  static size_t parts_in(const std::string& state) { return nlohmann::json::parse(state)["parts"].size(); }

  std::unique_ptr<S3BlobStore> store_;
};

TEST_F(S3BlobStoreTest, ChunksSmallerThanAPartBecomeMultipartParts) {
  const std::string data = pattern_bytes((12u << 20) + 123, 11);
  const std::string id = new_upload_id();
  auto s0 = store_->begin_upload(id);
  ASSERT_TRUE(s0.ok()) << s0.status().message();
  std::string state = *s0;
  constexpr size_t kChunk = 700 * 1024;  // well under S3's 5 MiB minimum part size
  for (size_t off = 0; off < data.size(); off += kChunk) {
    state = append(*store_, id, state, off, std::string_view(data).substr(off, kChunk));
    ASSERT_FALSE(HasFailure());
  }
  EXPECT_EQ(parts_in(state), 2u) << "two 5 MiB parts, the rest staged: " << state;
  const oci::Digest d = oci::Digest::of(data);
  Status c = store_->commit_upload(id, state, d, data.size());
  ASSERT_TRUE(c.ok()) << c.message();

  auto whole = get(*store_, d, 0, data.size());
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  EXPECT_TRUE(*whole == data);
  // A range across the first part boundary.
  auto across = get(*store_, d, (5u << 20) - 10, 20);
  ASSERT_TRUE(across.ok());
  EXPECT_TRUE(*across == data.substr((5u << 20) - 10, 20));
  // The blob is at <prefix>blobs/<alg>/<hex> and nothing of the upload remains.
  const std::string prefix = store_->client().options().prefix;
  EXPECT_EQ(keys_under(store_->client(), prefix), std::vector<std::string>{prefix + "blobs/sha256/" + std::string(d.hex())});
  auto mps = store_->client().call("GET", "", {{"uploads", ""}, {"prefix", prefix}});
  ASSERT_TRUE(mps.ok());
  EXPECT_TRUE(xml_all(mps->body, "UploadId").empty()) << mps->body;
}

TEST_F(S3BlobStoreTest, OneWriteLargerThanAPartIsSentAsParts) {
  // 1 MiB staged first, then 11 MiB in a single write(): part 1 joins the staged bytes and 4 MiB of the
  // write, part 2 comes straight from the caller's buffer, 2 MiB remain staged.
  const std::string data = pattern_bytes(12u << 20, 16);
  const std::string id = new_upload_id();
  auto s0 = store_->begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(*store_, id, *s0, 0, std::string_view(data).substr(0, 1u << 20));
  EXPECT_EQ(parts_in(s1), 0u);
  auto w = store_->append_upload(id, s1, 1u << 20);
  ASSERT_TRUE(w.ok()) << w.status().message();
  Status ws = (*w)->write(data.data() + (1u << 20), data.size() - (1u << 20));
  ASSERT_TRUE(ws.ok()) << ws.message();
  auto s2 = (*w)->close();
  ASSERT_TRUE(s2.ok()) << s2.status().message();
  EXPECT_EQ(parts_in(*s2), 2u) << *s2;
  const oci::Digest d = oci::Digest::of(data);
  Status c = store_->commit_upload(id, *s2, d, data.size());
  ASSERT_TRUE(c.ok()) << c.message();
  auto back = get(*store_, d, 0, data.size());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(*back == data);
}

TEST_F(S3BlobStoreTest, AnotherInstanceContinuesTheUploadFromItsState) {
  // Two "nodes": separate stores, separate connection pools, sharing only the bucket and the state.
  auto node_b = make_store(store_->client().options().prefix);
  ASSERT_NE(node_b, nullptr);
  const std::string data = pattern_bytes((11u << 20) + 7, 12);
  const std::string id = new_upload_id();
  auto s0 = store_->begin_upload(id);
  ASSERT_TRUE(s0.ok());
  const size_t cut1 = (6u << 20) + 5, cut2 = (9u << 20) + 1;
  std::string s1 = append(*store_, id, *s0, 0, std::string_view(data).substr(0, cut1));
  std::string s2 = append(*node_b, id, s1, cut1, std::string_view(data).substr(cut1, cut2 - cut1));
  std::string s3 = append(*store_, id, s2, cut2, std::string_view(data).substr(cut2));
  EXPECT_EQ(parts_in(s3), 2u);

  // Node B reads it back (as the registry does to hash with a second algorithm), then commits.
  auto reader = node_b->read_upload(id, s3, data.size());
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  Hasher h(HashAlgorithm::sha512);
  char buf[65536];
  for (;;) {
    auto n = (*reader)->read(buf, sizeof buf);
    ASSERT_TRUE(n.ok()) << n.status().message();
    if (*n == 0) break;
    h.update(buf, *n);
  }
  EXPECT_EQ(h.hex_digest(), sha512_hex(data));
  const oci::Digest d = oci::Digest::of(data);
  Status c = node_b->commit_upload(id, s3, d, data.size());
  ASSERT_TRUE(c.ok()) << c.message();
  auto back = get(*store_, d, 0, data.size());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(*back == data);
}

TEST_F(S3BlobStoreTest, RewindWorksToAPartBoundaryButNotIntoAPart) {
  const std::string data = pattern_bytes(6u << 20, 13);
  const std::string id = new_upload_id();
  auto s0 = store_->begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(*store_, id, *s0, 0, data);
  ASSERT_EQ(parts_in(s1), 1u);
  auto into = store_->append_upload(id, s1, 1000);
  ASSERT_FALSE(into.ok());
  EXPECT_EQ(into.status().code(), Errc::blob_upload_invalid);
  // Back to the end of part 1, then different bytes: the commit holds only the new ones after it.
  const std::string tail = "a different tail";
  std::string s2 = append(*store_, id, s1, 5u << 20, tail);
  const std::string expect = data.substr(0, 5u << 20) + tail;
  const oci::Digest d = oci::Digest::of(expect);
  ASSERT_TRUE(store_->commit_upload(id, s2, d, expect.size()).ok());
  auto back = get(*store_, d, 0, expect.size());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == expect);
}

TEST_F(S3BlobStoreTest, CommitOfFewerBytesThanThePartsHoldCopiesARange) {
  const std::string data = pattern_bytes((5u << 20) + 4096, 14);
  const std::string id = new_upload_id();
  auto s0 = store_->begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(*store_, id, *s0, 0, data);
  const std::string head = data.substr(0, 3u << 20);
  const oci::Digest d = oci::Digest::of(head);
  Status c = store_->commit_upload(id, s1, d, head.size());
  ASSERT_TRUE(c.ok()) << c.message();
  auto size = store_->stat(d);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, head.size());
  auto back = get(*store_, d, 0, head.size());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == head);
}

TEST_F(S3BlobStoreTest, PresignedGetUrlWorksWithCurl) {
  const std::string data = pattern_bytes(100000, 15);
  const std::string id = new_upload_id();
  auto s0 = store_->begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(*store_, id, *s0, 0, data);
  const oci::Digest d = oci::Digest::of(data);
  ASSERT_TRUE(store_->commit_upload(id, s1, d, data.size()).ok());

  const fs::path out = fs::temp_directory_path() / ("berth-presign-" + id);
  int code = 0;
  std::string status = run("curl -s -o " + out.string() + " -w '%{http_code}' '" + store_->presign_get(d, 300) + "'", &code);
  ASSERT_EQ(code, 0);
  EXPECT_EQ(status, "200");
  std::ifstream in(out, std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(in)), {});
  fs::remove(out);
  EXPECT_TRUE(got == data);

  // Signed an hour ago for 60 seconds: expired.
  status = run("curl -s -o /dev/null -w '%{http_code}' '" + store_->presign_get(d, 60, std::time(nullptr) - 3600) + "'",
               &code);
  EXPECT_EQ(status, "403");
}

TEST_F(S3BlobStoreTest, UnreachableEndpointIsUnavailable) {
  S3Options o = S3Server::instance->options("x/");
  o.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  o.connect_timeout_ms = 2000;
  auto s = S3BlobStore::open(o);
  ASSERT_TRUE(s.ok());
  auto st = (*s)->stat(oci::Digest::of("x"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), Errc::unavailable) << st.status().message();
  EXPECT_EQ((*s)->check().code(), Errc::unavailable);
  EXPECT_EQ((*s)->begin_upload(new_upload_id()).status().code(), Errc::unavailable);
}

TEST_F(S3BlobStoreTest, WrongSecretFailsWithoutRevealingTheSecret) {
  S3Options o = S3Server::instance->options("x/");
  o.secret_key = "not-the-secret-0123456789";
  auto s = S3BlobStore::open(o);
  ASSERT_TRUE(s.ok());
  Status c = (*s)->check();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.message().find(o.secret_key), std::string::npos) << c.message();
  EXPECT_NE(c.message().find("HTTP 403"), std::string::npos) << c.message();
  EXPECT_TRUE(store_->check().ok());
}

TEST(S3BlobStoreOptions, RejectsWhatCannotWork) {
  S3Options o;
  o.endpoint = "http://127.0.0.1:9";
  o.bucket = "b";
  o.access_key = "a";
  o.secret_key = "s";
  o.part_size = 1 << 20;
  EXPECT_EQ(S3BlobStore::open(o).status().code(), Errc::invalid_argument) << "parts under 5 MiB";
  o.part_size = 8 << 20;
  o.endpoint = "127.0.0.1:9";
  EXPECT_EQ(S3BlobStore::open(o).status().code(), Errc::invalid_argument) << "no scheme";
  o.endpoint = "http://127.0.0.1:9/path";
  EXPECT_EQ(S3BlobStore::open(o).status().code(), Errc::invalid_argument) << "a path";
  o.endpoint = "http://127.0.0.1:9";
  o.bucket = "";
  EXPECT_EQ(S3BlobStore::open(o).status().code(), Errc::invalid_argument) << "no bucket";
  o.bucket = "b";
  o.prefix = "reg";
  auto s = S3BlobStore::open(o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->blob_key(oci::Digest::of("")),
            "reg/blobs/sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Virtual-hosted style puts the bucket in the host name; the default port is left out, as curl does.
  o.endpoint = "https://s3.eu-west-1.amazonaws.com:443";
  o.path_style = false;
  auto v = S3BlobStore::open(o);
  ASSERT_TRUE(v.ok());
  const std::string url = (*v)->presign_get(oci::Digest::of(""), 60, 1369353600);
  EXPECT_EQ(url.rfind("https://b.s3.eu-west-1.amazonaws.com/reg/blobs/sha256/e3b0c442", 0), 0u) << url;
  EXPECT_NE(url.find("X-Amz-Credential=a%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"), std::string::npos) << url;
  EXPECT_EQ(url.find("&X-Amz-Signature="), url.size() - 81) << url;
}

}  // namespace
}  // namespace berth::storage

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  berth::storage::S3Server::instance = new berth::storage::S3Server;
  ::testing::AddGlobalTestEnvironment(berth::storage::S3Server::instance);
  return RUN_ALL_TESTS();
}
