// S3BlobStore against a real S3 server: the shared BlobStore suite, plus what only an S3 store has
// (multipart parts from small chunks, an upload continued by another instance from its saved state,
// presigned URLs, unreachable endpoints). The suite and the S3-specific upload tests run twice: with
// path-style addressing (http://127.0.0.1:PORT/BUCKET/KEY) and virtual-hosted addressing
// (http://BUCKET.localhost:PORT/KEY; libcurl resolves *.localhost to loopback by itself, and
// scripts/start-s3.sh sets radosgw's `rgw dns name = localhost`).
//
// The server is Ceph's radosgw on 127.0.0.1, from `scripts/start-s3.sh --shared`: one cluster for this
// executable and whatever else runs meanwhile (the e2e tests, a run per test case with --gtest_filter),
// started by the first (about 17 s), stopping itself 20 s after the last exits. To use a server that is
// already running instead, set BERTH_S3_ENDPOINT, BERTH_S3_BUCKET, BERTH_S3_ACCESS_KEY and
// BERTH_S3_SECRET_KEY (and BERTH_S3_REGION), and BERTH_S3_VHOST_ENDPOINT for the virtual-hosted runs
// (default: BERTH_S3_ENDPOINT with 127.0.0.1 replaced by localhost); BERTH_S3_DIR, if it names the
// start-s3.sh directory of that server, lets one test read radosgw's log (else that test is skipped).
// Every store made here writes under its own random prefix and removes it when done.
#include "storage/s3_blob_store.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <nlohmann/json.hpp>

#include "support/run_command.h"
#include "unit/storage_blob_store_suite.h"

namespace berth::storage {
namespace {

namespace fs = std::filesystem;
using testing::pattern_bytes;


using test::run_command;

// The server for the whole executable.
class S3Server : public ::testing::Environment {
 public:
  static S3Server* instance;
  std::map<std::string, std::string> vars;
  std::string skip_reason;

  void SetUp() override {
    if (const char* ep = std::getenv("BERTH_S3_ENDPOINT"); ep && *ep) {
      for (const char* k : {"BERTH_S3_ENDPOINT", "BERTH_S3_BUCKET", "BERTH_S3_ACCESS_KEY", "BERTH_S3_SECRET_KEY",
                            "BERTH_S3_REGION", "BERTH_S3_VHOST_ENDPOINT", "BERTH_S3_DIR"}) {
        if (const char* v = std::getenv(k); v && *v) vars[k] = v;
      }
      if (!vars.count("BERTH_S3_VHOST_ENDPOINT")) {
        std::string vh = vars["BERTH_S3_ENDPOINT"];
        if (size_t at = vh.find("://127.0.0.1"); at != std::string::npos) vh.replace(at + 3, 9, "localhost");
        vars["BERTH_S3_VHOST_ENDPOINT"] = vh;
      }
      return;
    }
    int code = 0;
    std::string out = run_command("BERTH_S3_WATCH_PID=" + std::to_string(::getpid()) + " bash " +
                              (test::scripts_dir() / "start-s3.sh").string() + " --shared",
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

  // virtual_hosted: the bucket in the host name (BERTH_S3_VHOST_ENDPOINT), not in the path.
  S3Options options(const std::string& prefix, bool virtual_hosted = false) const {
    S3Options o;
    o.endpoint = vars.at(virtual_hosted ? "BERTH_S3_VHOST_ENDPOINT" : "BERTH_S3_ENDPOINT");
    o.path_style = !virtual_hosted;
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

std::unique_ptr<S3BlobStore> make_store(const std::string& prefix, bool virtual_hosted = false) {
  auto s = S3BlobStore::open(S3Server::instance->options(prefix, virtual_hosted));
  return s.ok() ? std::move(*s) : nullptr;
}

std::string random_prefix() { return "t-" + new_upload_id().substr(0, 12) + "/"; }

class S3Env final : public testing::BlobStoreEnv {
 public:
  explicit S3Env(bool virtual_hosted) : store_(make_store(random_prefix(), virtual_hosted)) {}
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

namespace berth::storage {
namespace {
std::unique_ptr<testing::BlobStoreEnv> make_env(bool virtual_hosted) {
  auto* server = S3Server::instance;
  if (!server->skip_reason.empty() || server->vars.empty()) return nullptr;
  auto env = std::make_unique<S3Env>(virtual_hosted);
  if (!env->ok()) return nullptr;
  // The addressing the suite claims to run with is the one the requests use.
  const S3Client& client = static_cast<S3BlobStore&>(env->store()).client();
  const std::string url = client.url("k"), bucket = client.options().bucket;
  if (virtual_hosted != (url.find("://" + bucket + ".") == url.find("://"))) {
    ADD_FAILURE() << "the store is not " << (virtual_hosted ? "virtual-hosted" : "path-style") << ": " << url;
    return nullptr;
  }
  return env;
}
}  // namespace
}  // namespace berth::storage

INSTANTIATE_BLOB_STORE_SUITE(S3, [] { return berth::storage::make_env(false); });
INSTANTIATE_BLOB_STORE_SUITE(S3VirtualHosted, [] { return berth::storage::make_env(true); });

namespace berth::storage {
namespace {

// The parameter: true for virtual-hosted addressing, false for path-style.
class S3BlobStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (!S3Server::instance->skip_reason.empty()) GTEST_SKIP() << S3Server::instance->skip_reason;
    ASSERT_FALSE(S3Server::instance->vars.empty()) << "no S3 server";
    store_ = make_store(random_prefix(), virtual_hosted());
    ASSERT_NE(store_, nullptr);
    // The addressing this instance claims is the one its requests use.
    const std::string url = store_->client().url("k");
    const std::string bucket = store_->client().options().bucket;
    if (virtual_hosted()) {
      ASSERT_EQ(url.find("://" + bucket + "."), url.find("://")) << url;
      ASSERT_EQ(url.find("/" + bucket + "/"), std::string::npos) << url;
    } else {
      ASSERT_NE(url.find("/" + bucket + "/k"), std::string::npos) << url;
    }
  }
  bool virtual_hosted() const { return GetParam(); }
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

TEST_P(S3BlobStoreTest, ChunksSmallerThanAPartBecomeMultipartParts) {
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

TEST_P(S3BlobStoreTest, OneWriteLargerThanAPartIsSentAsParts) {
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

TEST_P(S3BlobStoreTest, AnotherInstanceContinuesTheUploadFromItsState) {
  // Two "nodes": separate stores, separate connection pools, sharing only the bucket and the state.
  auto node_b = make_store(store_->client().options().prefix, virtual_hosted());
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

TEST_P(S3BlobStoreTest, RewindWorksToAPartBoundaryButNotIntoAPart) {
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

TEST_P(S3BlobStoreTest, CommitOfFewerBytesThanThePartsHoldCopiesARange) {
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

TEST_P(S3BlobStoreTest, PresignedGetUrlWorksWithCurl) {
  const std::string data = pattern_bytes(100000, 15);
  const std::string id = new_upload_id();
  auto s0 = store_->begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(*store_, id, *s0, 0, data);
  const oci::Digest d = oci::Digest::of(data);
  ASSERT_TRUE(store_->commit_upload(id, s1, d, data.size()).ok());

  const fs::path out = fs::temp_directory_path() / ("berth-presign-" + id);
  const std::string url = store_->presign_get(d, 300);
  EXPECT_EQ(url.rfind(store_->client().url(store_->blob_key(d)) + "?", 0), 0u) << url;
  int code = 0;
  std::string status = run_command("curl -s -o " + out.string() + " -w '%{http_code}' '" + url + "'", &code);
  ASSERT_EQ(code, 0);
  EXPECT_EQ(status, "200");
  std::ifstream in(out, std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(in)), {});
  fs::remove(out);
  EXPECT_TRUE(got == data);

  // Signed an hour ago for 60 seconds: expired.
  status = run_command("curl -s -o /dev/null -w '%{http_code}' '" + store_->presign_get(d, 60, std::time(nullptr) - 3600) + "'",
               &code);
  EXPECT_EQ(status, "403");
}

TEST_P(S3BlobStoreTest, UnreachableEndpointIsUnavailable) {
  S3Options o = S3Server::instance->options("x/", virtual_hosted());
  // Nothing listens on port 1.
  o.endpoint = virtual_hosted() ? "http://localhost:1" : "http://127.0.0.1:1";
  o.connect_timeout_ms = 2000;
  auto s = S3BlobStore::open(o);
  ASSERT_TRUE(s.ok());
  auto st = (*s)->stat(oci::Digest::of("x"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), Errc::unavailable) << st.status().message();
  EXPECT_EQ((*s)->check().code(), Errc::unavailable);
  EXPECT_EQ((*s)->begin_upload(new_upload_id()).status().code(), Errc::unavailable);
}

TEST_P(S3BlobStoreTest, WrongSecretFailsWithoutRevealingTheSecret) {
  S3Options o = S3Server::instance->options("x/", virtual_hosted());
  o.secret_key = "not-the-secret-0123456789";
  auto s = S3BlobStore::open(o);
  ASSERT_TRUE(s.ok());
  Status c = (*s)->check();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.message().find(o.secret_key), std::string::npos) << c.message();
  EXPECT_NE(c.message().find("HTTP 403"), std::string::npos) << c.message();
  EXPECT_TRUE(store_->check().ok());
}

// What the server received, from its own access log: radosgw (start-s3.sh) logs each request's line,
// "PUT /URI HTTP/1.1", but not its Host header. Path-style requests name the bucket first in the path;
// virtual-hosted ones must not, and still succeed: radosgw took the bucket from the Host header. The
// path-style run is the control that shows this check tells the two apart.
TEST_P(S3BlobStoreTest, RadosgwSeesTheAddressingStyleInItsRequests) {
  auto it = S3Server::instance->vars.find("BERTH_S3_DIR");
  const fs::path log = it == S3Server::instance->vars.end() ? fs::path() : fs::path(it->second) / "log/client.rgw.berth.log";
  if (log.empty() || !fs::exists(log)) GTEST_SKIP() << "no radosgw log to read (not started by scripts/start-s3.sh)";

  const std::string data = pattern_bytes((5u << 20) + 100, 17);  // one part and a staged tail
  const std::string id = new_upload_id();
  auto s0 = store_->begin_upload(id);
  ASSERT_TRUE(s0.ok()) << s0.status().message();
  std::string s1 = append(*store_, id, *s0, 0, data);
  const oci::Digest d = oci::Digest::of(data);
  ASSERT_TRUE(store_->commit_upload(id, s1, d, data.size()).ok());
  auto part = get(*store_, d, 10, 20);
  ASSERT_TRUE(part.ok()) << part.status().message();
  EXPECT_TRUE(*part == data.substr(10, 20));

  const std::string bucket = store_->client().options().bucket;
  const std::string prefix = store_->client().options().prefix;  // random: only this test's requests
  const std::string tag = prefix.substr(0, prefix.size() - 1);     // also found URL-encoded in queries
  std::vector<std::string> requests;  // "METHOD URI" of every logged request naming the prefix
  size_t bucket_first = 0, key_first = 0, ok_puts = 0;
  // The log is written by a background thread: wait for the last request (the ranged GET, status 206).
  for (int tries = 0; tries < 50; ++tries) {
    requests.clear();
    bucket_first = key_first = ok_puts = 0;
    std::ifstream in(log);
    bool saw_get = false;
    for (std::string line; std::getline(in, line);) {
      if (line.find(" beast: ") == std::string::npos || line.find(tag) == std::string::npos) continue;
      size_t q = line.find('"');
      size_t sp1 = line.find(' ', q);
      size_t sp2 = line.find(' ', sp1 + 1);
      if (q == std::string::npos || sp1 == std::string::npos || sp2 == std::string::npos) continue;
      const std::string method = line.substr(q + 1, sp1 - q - 1);
      const std::string uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
      const std::string status = line.substr(line.find("\" ", sp2) + 2, 3);
      requests.push_back(method + " " + uri + " " + status);
      if (uri.rfind("/" + bucket + "/", 0) == 0 || uri.rfind("/" + bucket + "?", 0) == 0) ++bucket_first;
      // A key first, or the bucket itself ("/?list-type=2&prefix=..."): what virtual-hosted requests ask.
      if (uri.rfind("/" + prefix, 0) == 0 || uri.rfind("/?", 0) == 0) ++key_first;
      if (method == "PUT" && status == "200") ++ok_puts;
      if (method == "GET" && status == "206") saw_get = true;
    }
    if (saw_get) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string all;
  for (const auto& r : requests) all += "\n  " + r;
  ASSERT_GE(ok_puts, 2u) << "an upload's part and its staged tail, at least:" << all;
  if (virtual_hosted()) {
    EXPECT_EQ(bucket_first, 0u) << "virtual-hosted requests with the bucket in the path:" << all;
    EXPECT_EQ(key_first, requests.size()) << "every request path starts with the key (or is the bucket's):" << all;
  } else {
    EXPECT_EQ(bucket_first, requests.size()) << "path-style requests without the bucket in the path:" << all;
    EXPECT_EQ(key_first, 0u) << all;
  }
}

TEST_P(S3BlobStoreTest, ListingSkipsForeignKeysAndFindsMultipartUploadsWithoutObjects) {
  S3Client& c = store_->client();
  const std::string prefix = c.options().prefix;
  std::vector<oci::Digest> blobs;
  for (int i = 0; i < 3; ++i) {
    const std::string data = "listed " + std::to_string(i);
    const std::string id = new_upload_id();
    auto s0 = store_->begin_upload(id);
    ASSERT_TRUE(s0.ok());
    blobs.push_back(oci::Digest::of(data));
    ASSERT_TRUE(store_->commit_upload(id, append(*store_, id, *s0, 0, data), blobs.back(), data.size()).ok());
  }
  std::sort(blobs.begin(), blobs.end());
  // Keys this store never writes, some sorting between the blobs'.
  for (const std::string& k : std::vector<std::string>{"blobs/README", "blobs/sha256/not-a-digest", "blobs/sha256/" +
                               std::string(blobs[0].hex()) + "/nested", "blobs/md5/" + std::string(32, 'a'),
                               "uploads/not-an-id/info", "uploads/" + new_upload_id()}) {
    auto r = c.call("PUT", prefix + k, {}, {}, "x");
    ASSERT_TRUE(r.ok() && r->status == 200) << k;
  }
  std::string after;
  for (const auto& expect : blobs) {
    auto page = store_->list_blobs(after, 1);
    ASSERT_TRUE(page.ok()) << page.status().message();
    ASSERT_EQ(page->size(), 1u) << "skipped keys must not shorten a page";
    EXPECT_EQ(page->front().digest, expect);
    after = expect.str();
  }
  auto end = store_->list_blobs(after, 1);
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(end->empty());

  // An upload whose objects are gone but whose multipart upload (one part sent) remains.
  const std::string id = new_upload_id();
  auto s0 = store_->begin_upload(id);
  ASSERT_TRUE(s0.ok());
  std::string s1 = append(*store_, id, *s0, 0, pattern_bytes(6u << 20, 18));
  ASSERT_EQ(parts_in(s1), 1u);
  for (const auto& k : keys_under(c, store_->upload_prefix(id))) ASSERT_TRUE(c.call("DELETE", k, {}).ok());
  auto uploads = store_->list_uploads("", 10);
  ASSERT_TRUE(uploads.ok()) << uploads.status().message();
  ASSERT_EQ(uploads->size(), 1u);
  EXPECT_EQ(uploads->front().id, id);
  EXPECT_GT(uploads->front().modified_at, std::time(nullptr) - 600);
  ASSERT_TRUE(store_->remove_upload_leftovers(id).ok());
  auto mps = c.list_multipart_uploads(prefix, "", "", 100);
  ASSERT_TRUE(mps.ok()) << mps.status().message();
  EXPECT_TRUE(mps->uploads.empty());
  uploads = store_->list_uploads("", 10);
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty());
}

INSTANTIATE_TEST_SUITE_P(Addressing, S3BlobStoreTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "VirtualHosted" : "PathStyle"; });

TEST(S3BlobStoreOptions, VirtualHostedUrlsHaveTheBucketOnlyInTheHost) {
  S3Options o;
  o.endpoint = "http://localhost:7480";
  o.bucket = "berth-test";
  o.access_key = "a";
  o.secret_key = "s";
  o.path_style = false;
  auto vh = S3Client::create(o);
  ASSERT_TRUE(vh.ok()) << vh.status().message();
  EXPECT_EQ((*vh)->url("reg/blobs/sha256/ab"), "http://berth-test.localhost:7480/reg/blobs/sha256/ab");
  EXPECT_EQ((*vh)->url("", {{"list-type", "2"}}), "http://berth-test.localhost:7480/?list-type=2");
  const std::string presigned = (*vh)->presign_get("reg/k", 60, 1369353600);
  EXPECT_EQ(presigned.rfind("http://berth-test.localhost:7480/reg/k?X-Amz-", 0), 0u) << presigned;
  o.path_style = true;
  auto ps = S3Client::create(o);
  ASSERT_TRUE(ps.ok());
  EXPECT_EQ((*ps)->url("reg/blobs/sha256/ab"), "http://localhost:7480/berth-test/reg/blobs/sha256/ab");
  EXPECT_EQ((*ps)->url("", {{"list-type", "2"}}), "http://localhost:7480/berth-test/?list-type=2");
}

TEST(S3BlobStoreOptions, PayloadIsSignedOverHttpAndUnsignedOnlyOverHttps) {
  S3Options o;
  o.endpoint = "http://127.0.0.1:7480";
  o.bucket = "b";
  o.access_key = "a";
  o.secret_key = "s";
  auto plain = S3Client::create(o);
  ASSERT_TRUE(plain.ok());
  // SHA-256 of "abc" (FIPS 180-2 example): the body itself is signed.
  EXPECT_EQ((*plain)->payload_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  o.endpoint = "https://s3.example.test";
  auto tls = S3Client::create(o);
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ((*tls)->payload_hash("abc"), "UNSIGNED-PAYLOAD");
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
  // A bucket cannot be a subdomain of an IP address, nor a host label when it is not a DNS name.
  o.endpoint = "http://127.0.0.1:7480";
  EXPECT_EQ(S3BlobStore::open(o).status().code(), Errc::invalid_argument) << "virtual-hosted on an IPv4 address";
  o.endpoint = "http://[::1]:7480";
  EXPECT_EQ(S3BlobStore::open(o).status().code(), Errc::invalid_argument) << "virtual-hosted on an IPv6 address";
  o.endpoint = "http://localhost:7480";
  for (const char* bad : {"Upper", "under_score", "-dash", "dot.", "two..dots"}) {
    o.bucket = bad;
    EXPECT_EQ(S3BlobStore::open(o).status().code(), Errc::invalid_argument) << bad;
  }
  o.bucket = "my.bucket-1";
  EXPECT_TRUE(S3BlobStore::open(o).ok());
  o.path_style = true;
  o.endpoint = "http://127.0.0.1:7480";
  o.bucket = "Upper_Case";  // path-style: the server decides
  EXPECT_TRUE(S3BlobStore::open(o).ok());
}

}  // namespace
}  // namespace berth::storage

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  berth::storage::S3Server::instance = new berth::storage::S3Server;
  ::testing::AddGlobalTestEnvironment(berth::storage::S3Server::instance);
  return RUN_ALL_TESTS();
}
