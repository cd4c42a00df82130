#include "registry_ops.h"

#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace bench {

namespace {
std::string describe(const char* what, const Response& r) {
  if (!r.ok) return std::string(what) + ": " + r.error;
  std::string body = r.body.substr(0, 200);
  for (char& ch : body) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return std::string(what) + " -> " + std::to_string(r.status) + (body.empty() ? "" : " " + body);
}

std::string with_digest(const std::string& target, const std::string& digest) {
  return target + (target.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest;
}
}  // namespace

void BlobView::slice(uint64_t from, uint64_t to, Request& req) const {
  req.body1 = req.body2 = nullptr;
  req.body1_len = req.body2_len = 0;
  auto put = [&](const char* p, size_t n) {
    if (!req.body1) {
      req.body1 = p;
      req.body1_len = n;
    } else {
      req.body2 = p;
      req.body2_len = n;
    }
  };
  if (from < n1) put(p1 + from, size_t(std::min<uint64_t>(to, n1) - from));
  if (to > n1 && n2) {
    uint64_t a = from > n1 ? from - n1 : 0, b = to - n1;
    put(p2 + a, size_t(b - a));
  }
}

BlobFactory::BlobFactory(uint64_t size, uint64_t nonce) : size_(size), nonce_(nonce) {
  if (size < 64 || size % 64 != 0) throw std::invalid_argument("blob size must be a multiple of 64");
  prefix_.resize(size - 64);
  uint64_t x = nonce ^ (size * 0x9E3779B97F4A7C15ull);
  for (size_t i = 0; i + 8 <= prefix_.size(); i += 8) {  // splitmix64: fast, incompressible enough
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    memcpy(prefix_.data() + i, &z, 8);
  }
  prefix_ctx_ = EVP_MD_CTX_new();
  EVP_DigestInit_ex(prefix_ctx_, EVP_sha256(), nullptr);
  EVP_DigestUpdate(prefix_ctx_, prefix_.data(), prefix_.size());
}

BlobFactory::~BlobFactory() { EVP_MD_CTX_free(prefix_ctx_); }

BlobFactory::Blob BlobFactory::make(uint64_t counter) const {
  Blob b;
  b.tail.fill('\n');
  snprintf(b.tail.data(), b.tail.size(), "berth-bench nonce=%016llx size=%llu n=%llu", (unsigned long long)nonce_,
           (unsigned long long)size_, (unsigned long long)counter);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_MD_CTX_copy_ex(ctx, prefix_ctx_);
  EVP_DigestUpdate(ctx, b.tail.data(), b.tail.size());
  unsigned char d[32];
  EVP_DigestFinal_ex(ctx, d, nullptr);
  EVP_MD_CTX_free(ctx);
  b.digest = "sha256:" + hex32(d);
  return b;
}

BlobView BlobFactory::view(const Blob& b) const {
  return BlobView{prefix_.data(), prefix_.size(), b.tail.data(), b.tail.size(), b.digest};
}

std::string sha256_digest(const std::string& bytes) {
  unsigned char d[32];
  EVP_Digest(bytes.data(), bytes.size(), d, nullptr, EVP_sha256(), nullptr);
  return "sha256:" + hex32(d);
}

std::string target_of(const std::string& location) {
  auto scheme = location.find("://");
  if (scheme == std::string::npos) return location;
  auto slash = location.find('/', scheme + 3);
  return slash == std::string::npos ? "/" : location.substr(slash);
}

std::string next_link_target(const std::string& link) {
  if (link.empty() || link.find("rel=\"next\"") == std::string::npos) return "";
  auto a = link.find('<'), b = link.find('>');
  if (a == std::string::npos || b == std::string::npos || b < a) return "";
  return target_of(link.substr(a + 1, b - a - 1));
}

std::string build_head(const Endpoint& ep, const char* method, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers, int64_t content_length) {
  std::string h;
  h.reserve(256 + target.size());
  h += method;
  h += ' ';
  h += target;
  h += " HTTP/1.1\r\nHost: ";
  h += ep.host_header;
  h += "\r\nUser-Agent: berth-loadgen\r\n";
  for (const auto& [k, v] : headers) {
    h += k;
    h += ": ";
    h += v;
    h += "\r\n";
  }
  if (content_length >= 0) {
    h += "Content-Length: ";
    h += std::to_string(content_length);
    h += "\r\n";
  }
  h += "\r\n";
  return h;
}

std::string make_config(uint64_t n) {
  return "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Labels\":{\"berth.bench\":\"" + std::to_string(n) +
         "\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
}

std::string make_manifest(const std::string& config_digest, uint64_t config_size, const std::string& layer_digest,
                          uint64_t layer_size, const std::string& annotation) {
  std::string m = "{\"schemaVersion\":2,\"mediaType\":\"";
  m += kOciManifest;
  m += "\",\"config\":{\"mediaType\":\"";
  m += kOciConfig;
  m += "\",\"digest\":\"" + config_digest + "\",\"size\":" + std::to_string(config_size) + "},\"layers\":[{\"mediaType\":\"";
  m += kOciLayer;
  m += "\",\"digest\":\"" + layer_digest + "\",\"size\":" + std::to_string(layer_size) + "}]";
  if (!annotation.empty()) m += ",\"annotations\":{\"org.example.bench\":\"" + annotation + "\"}";
  m += "}";
  return m;
}

Co<Outcome> push_blob_monolithic(Conn& c, const Endpoint& ep, const std::string& repo, const BlobView& blob) {
  Request post;
  post.head = build_head(ep, "POST", "/v2/" + repo + "/blobs/uploads/", {}, 0);
  Response r = co_await c.roundtrip(post);
  if (!r.ok || r.status != 202 || r.location.empty()) co_return Outcome::fail(describe("POST upload", r));
  Request put;
  put.head = build_head(ep, "PUT", with_digest(target_of(r.location), blob.digest),
                        {{"Content-Type", "application/octet-stream"}}, int64_t(blob.size()));
  blob.slice(0, blob.size(), put);
  r = co_await c.roundtrip(put);
  if (!r.ok || r.status != 201) co_return Outcome::fail(describe("PUT upload", r));
  if (!r.docker_content_digest.empty() && r.docker_content_digest != blob.digest) {
    co_return Outcome::fail("PUT upload: Docker-Content-Digest " + r.docker_content_digest + " != " + blob.digest);
  }
  co_return Outcome{};
}

Co<Outcome> push_blob_chunked(Conn& c, const Endpoint& ep, const std::string& repo, const BlobView& blob,
                              uint64_t chunk) {
  Request req;
  req.head = build_head(ep, "POST", "/v2/" + repo + "/blobs/uploads/", {}, 0);
  Response r = co_await c.roundtrip(req);
  if (!r.ok || r.status != 202 || r.location.empty()) co_return Outcome::fail(describe("POST upload", r));
  std::string location = target_of(r.location);
  for (uint64_t off = 0; off < blob.size(); off += chunk) {
    uint64_t end = std::min(blob.size(), off + chunk);
    req.head = build_head(ep, "PATCH", location,
                          {{"Content-Type", "application/octet-stream"},
                           {"Content-Range", std::to_string(off) + "-" + std::to_string(end - 1)}},
                          int64_t(end - off));
    blob.slice(off, end, req);
    r = co_await c.roundtrip(req);
    if (!r.ok || r.status != 202 || r.location.empty()) co_return Outcome::fail(describe("PATCH upload", r));
    location = target_of(r.location);
  }
  req = Request{};
  req.head = build_head(ep, "PUT", with_digest(location, blob.digest), {}, 0);
  r = co_await c.roundtrip(req);
  if (!r.ok || r.status != 201) co_return Outcome::fail(describe("PUT upload (close)", r));
  co_return Outcome{};
}

Co<Outcome> put_manifest(Conn& c, const Endpoint& ep, const std::string& repo, const std::string& reference,
                         const std::string& manifest, const std::string& digest) {
  Request req;
  req.head = build_head(ep, "PUT", "/v2/" + repo + "/manifests/" + reference, {{"Content-Type", kOciManifest}},
                        int64_t(manifest.size()));
  req.body1 = manifest.data();
  req.body1_len = manifest.size();
  Response r = co_await c.roundtrip(req);
  if (!r.ok || r.status != 201) co_return Outcome::fail(describe("PUT manifest", r));
  if (r.docker_content_digest != digest) {
    co_return Outcome::fail("PUT manifest: Docker-Content-Digest '" + r.docker_content_digest + "' != " + digest);
  }
  co_return Outcome{};
}

Co<Outcome> get_blob(Conn& c, const Endpoint& ep, const std::string& repo, const std::string& digest, uint64_t size) {
  Request req;
  req.head = build_head(ep, "GET", "/v2/" + repo + "/blobs/" + digest, {}, -1);
  req.hash_body = true;
  req.keep_body = false;
  Response r = co_await c.roundtrip(req);
  if (!r.ok || r.status != 200) co_return Outcome::fail(describe("GET blob", r));
  if (r.body_bytes != size) co_return Outcome::fail("GET blob: got " + std::to_string(r.body_bytes) + " bytes");
  if ("sha256:" + hex32(r.sha256) != digest) co_return Outcome::fail("GET blob: sha256 mismatch");
  co_return Outcome{};
}

Co<Outcome> get_manifest(Conn& c, const Endpoint& ep, const std::string& repo, const std::string& tag,
                         const std::string& digest) {
  Request req;
  req.head = build_head(ep, "GET", "/v2/" + repo + "/manifests/" + tag, {{"Accept", kManifestAccept}}, -1);
  req.hash_body = true;
  Response r = co_await c.roundtrip(req);
  if (!r.ok || r.status != 200) co_return Outcome::fail(describe("GET manifest", r));
  if ("sha256:" + hex32(r.sha256) != digest) co_return Outcome::fail("GET manifest: sha256 mismatch");
  co_return Outcome{};
}

}  // namespace bench
