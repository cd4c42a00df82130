// Registry API operations for the load generator, as awaitable coroutines over bench::Conn, plus the
// content they push: blobs of a given size made unique by a counter in their last 64 bytes, so that
// one random buffer per size serves every blob and each digest costs one 64-byte hash step.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <coroutine>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "http_client.h"

namespace bench {

// A lazily started coroutine returning T, awaited by another coroutine (symmetric transfer).
template <class T>
class [[nodiscard]] Co {
 public:
  struct promise_type {
    T value{};
    std::coroutine_handle<> continuation;
    Co get_return_object() { return Co{std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct Final {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        auto c = h.promise().continuation;
        return c ? c : std::noop_coroutine();
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    void return_value(T v) { value = std::move(v); }
    void unhandled_exception() { std::terminate(); }
  };
  explicit Co(std::coroutine_handle<promise_type> h) : h_(h) {}
  Co(Co&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  ~Co() {
    if (h_) h_.destroy();
  }
  bool await_ready() { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> c) {
    h_.promise().continuation = c;
    return h_;
  }
  T await_resume() { return std::move(h_.promise().value); }

 private:
  std::coroutine_handle<promise_type> h_;
};

struct Outcome {
  bool ok = true;
  std::string error;
  static Outcome fail(std::string e) { return Outcome{false, std::move(e)}; }
};

// Bytes of one blob as up to two pieces of memory owned elsewhere.
struct BlobView {
  const char* p1 = nullptr;
  size_t n1 = 0;
  const char* p2 = nullptr;
  size_t n2 = 0;
  std::string digest;  // "sha256:<hex>"
  uint64_t size() const { return n1 + n2; }
  // The pieces covering [from, to) of the blob.
  void slice(uint64_t from, uint64_t to, Request& req) const;
};

// Blobs of one size: a random prefix shared by all, and a 64-byte tail unique per (nonce, counter).
class BlobFactory {
 public:
  BlobFactory(uint64_t size, uint64_t nonce);
  ~BlobFactory();
  struct Blob {
    std::array<char, 64> tail{};
    std::string digest;
  };
  Blob make(uint64_t counter) const;
  BlobView view(const Blob& b) const;
  uint64_t size() const { return size_; }

 private:
  uint64_t size_;
  uint64_t nonce_;
  std::vector<char> prefix_;
  EVP_MD_CTX* prefix_ctx_ = nullptr;
};

std::string sha256_digest(const std::string& bytes);  // "sha256:<hex>"

// The request target for a Location header (absolute URLs are cut to their path and query).
std::string target_of(const std::string& location);
// The target of a Link header's next page, or "" when there is none.
std::string next_link_target(const std::string& link);

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string host_header;  // "host:port"
};

std::string build_head(const Endpoint& ep, const char* method, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers, int64_t content_length);

inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

// A small image: a config blob and one layer, and its manifest bytes.
struct Image {
  std::string config;
  std::string config_digest;
  std::string layer_digest;
  uint64_t layer_size = 0;
  std::string manifest;
  std::string manifest_digest;
};
std::string make_config(uint64_t n);
std::string make_manifest(const std::string& config_digest, uint64_t config_size, const std::string& layer_digest,
                          uint64_t layer_size, const std::string& annotation);

// POST /blobs/uploads/ then PUT <location>&digest= with the whole body (the "two-step monolithic" push).
Co<Outcome> push_blob_monolithic(Conn& c, const Endpoint& ep, const std::string& repo, const BlobView& blob);
// POST, PATCH chunks of `chunk` bytes with Content-Range, then PUT ?digest= with no body.
Co<Outcome> push_blob_chunked(Conn& c, const Endpoint& ep, const std::string& repo, const BlobView& blob,
                              uint64_t chunk);
Co<Outcome> put_manifest(Conn& c, const Endpoint& ep, const std::string& repo, const std::string& reference,
                         const std::string& manifest, const std::string& digest);
// GET the blob and check its size and sha256.
Co<Outcome> get_blob(Conn& c, const Endpoint& ep, const std::string& repo, const std::string& digest,
                     uint64_t size);
// GET a manifest by tag and check its sha256 against the expected digest.
Co<Outcome> get_manifest(Conn& c, const Endpoint& ep, const std::string& repo, const std::string& tag,
                         const std::string& digest);

}  // namespace bench
