// Source: reads another registry through the distribution API — tags, manifests, blobs (streamed), and
// referrers — answering its authentication challenges as Docker's client does: Basic credentials when
// it asks for Basic, and for a Bearer challenge a token from its realm (anonymous, or with the
// credentials), asked for `repository:NAME:pull`. Blob downloads follow redirects (object stores, CDNs)
// without sending the registry's credentials there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "http/client.h"
#include "oci/digest.h"

namespace berth::importer {

struct SourceOptions {
  std::string registry;  // host[:port]
  bool plain_http = false;
  std::string username;  // empty: anonymous
  std::string password;
  std::string ca_file;  // PEM roots to trust instead of the system's
  int64_t timeout_seconds = 60;
};

struct SourceManifest {
  std::string media_type;
  std::string content;  // the exact bytes
  oci::Digest digest;   // of the bytes (checked against what the source says)
};

class Source {
 public:
  explicit Source(SourceOptions options);

  // Every tag of the repository (all pages).
  Result<std::vector<std::string>> tags(const std::string& repository);
  // By tag or digest; a digest reference must match the bytes (digest_invalid otherwise).
  Result<SourceManifest> manifest(const std::string& repository, const std::string& reference);
  // Streams the blob's bytes into `sink`. The caller checks the digest (the upload it writes does).
  Status blob(const std::string& repository, const oci::Digest& digest, const http::ResponseSink& sink);
  // The manifests whose subject is `subject`; empty when the source has no referrers API.
  Result<std::vector<oci::Digest>> referrers(const std::string& repository, const oci::Digest& subject);

 private:
  // GET of a path under /v2/, authenticated as the source asks (one retry after a challenge).
  Result<http::ClientResponse> get(const std::string& repository, const std::string& path, const std::string& accept,
                                   const http::ResponseSink& sink = {});
  Status answer_challenge(const std::string& challenge, const std::string& repository);

  SourceOptions options_;
  std::string origin_;         // scheme://host[:port]
  std::string authorization_;  // the Authorization header that works, once found
  std::string authorized_for_;  // the repository a Bearer token was issued for
};

}  // namespace berth::importer
