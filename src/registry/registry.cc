// Blobs, mounts, manifests, tags and referrers.
#include "registry/registry.h"

#include <ctime>

#include "oci/manifest.h"

namespace berth::registry {

Registry::Registry(storage::BlobStore& blobs, meta::MetadataStore& meta, RegistryOptions options, Clock clock)
    : blobs_(blobs), meta_(meta), options_(options), clock_(std::move(clock)) {}

int64_t Registry::now() const { return clock_ ? clock_() : static_cast<int64_t>(std::time(nullptr)); }

// ---- Blobs ----

Result<uint64_t> Registry::blob_size(const std::string& repository, const oci::Digest& digest) {
  auto size = meta_.linked_blob_size(repository, digest);
  if (!size.ok()) return size.status();
  if (!*size) return Status(Errc::blob_unknown, "blob unknown to registry: " + digest.str());
  return **size;
}

Result<storage::OpenBlob> Registry::open_blob(const std::string& repository, const oci::Digest& digest,
                                              uint64_t offset, uint64_t length) {
  auto size = blob_size(repository, digest);
  if (!size.ok()) return size.status();
  auto blob = blobs_.open(digest, offset, length);
  if (!blob.ok() && blob.status().code() == Errc::not_found) {
    return Status(Errc::blob_unknown, "blob content missing: " + digest.str());
  }
  return blob;
}

std::optional<std::string> Registry::blob_redirect(const oci::Digest& digest) {
  if (options_.redirect_blobs_seconds <= 0) return std::nullopt;
  return blobs_.direct_url(digest, static_cast<uint64_t>(options_.redirect_blobs_seconds));
}

Status Registry::delete_blob(const std::string& repository, const oci::Digest& digest) {
  auto removed = meta_.unlink_blob(repository, digest);
  if (!removed.ok()) return removed.status();
  if (!*removed) return Status(Errc::blob_unknown, "blob unknown to repository: " + digest.str());
  return Status::Ok();
}

Result<bool> Registry::mount_blob(const std::string& repository, const oci::Digest& digest, const std::string& from) {
  std::optional<uint64_t> size;
  if (from.empty()) {
    auto known = meta_.blob_size(digest);
    if (!known.ok()) return known.status();
    size = *known;
  } else {
    auto linked = meta_.linked_blob_size(from, digest);
    if (!linked.ok()) return linked.status();
    size = *linked;
  }
  if (!size) return false;
  // The bytes must really be there: metadata alone never makes a blob servable.
  auto stored = blobs_.stat(digest);
  if (!stored.ok()) return false;
  BERTH_RETURN_IF_ERROR(meta_.link_blob(repository, digest));
  return true;
}

// ---- Manifests ----

namespace {
bool is_foreign_layer(const oci::Descriptor& d) {
  // Non-distributable layers live elsewhere by design; registries do not hold them.
  return d.media_type.find("foreign") != std::string::npos || d.media_type.find("nondistributable") != std::string::npos;
}
}  // namespace

Result<PutManifestResult> Registry::put_manifest(const std::string& repository, const oci::Reference& reference,
                                                 const std::string& content_type, const std::string& body) {
  auto parsed = oci::parse_manifest(content_type, body);
  if (!parsed.ok()) return parsed.status();

  HashAlgorithm algorithm = reference.is_digest() ? reference.digest().algorithm() : HashAlgorithm::sha256;
  oci::Digest digest = oci::Digest::of(body, algorithm);
  if (reference.is_digest() && reference.digest() != digest) {
    return Status(Errc::digest_invalid, "manifest digest " + digest.str() + " does not match " + reference.str());
  }

  meta::ManifestRefs refs;
  for (const auto& blob : parsed->blobs) {
    if (is_foreign_layer(blob)) continue;
    auto size = meta_.linked_blob_size(repository, blob.digest);
    if (!size.ok()) return size.status();
    if (!*size) return Status(Errc::manifest_blob_unknown, "blob unknown to repository: " + blob.digest.str());
    if (**size != static_cast<uint64_t>(blob.size)) {
      return Status(Errc::manifest_invalid, "size of " + blob.digest.str() + " is " + std::to_string(**size) +
                                                ", the manifest says " + std::to_string(blob.size));
    }
    refs.blobs.push_back(blob.digest);
  }
  for (const auto& child : parsed->manifests) {
    auto found = meta_.manifest_exists(repository, child.digest);  // the content is not needed
    if (!found.ok()) return found.status();
    if (!*found) return Status(Errc::manifest_blob_unknown, "manifest unknown to repository: " + child.digest.str());
    refs.manifests.push_back(child.digest);
  }

  meta::ManifestRecord record{repository,
                              digest,
                              parsed->media_type,
                              parsed->artifact_type,
                              body,
                              parsed->subject ? std::optional<oci::Digest>(parsed->subject->digest) : std::nullopt,
                              parsed->annotations_json,
                              now()};
  std::optional<std::string> tag;
  if (reference.is_tag()) tag = reference.tag();
  BERTH_RETURN_IF_ERROR(meta_.put_manifest(record, refs, tag, now()));
  return PutManifestResult{digest, record.subject};
}

Result<meta::ManifestRecord> Registry::get_manifest(const std::string& repository, const oci::Reference& reference) {
  auto found = reference.is_digest() ? meta_.get_manifest(repository, reference.digest())
                                     : meta_.get_manifest_by_tag(repository, reference.tag());
  if (!found.ok()) return found.status();
  if (!*found) return Status(Errc::manifest_unknown, "manifest unknown: " + reference.str());
  return std::move(**found);
}

Status Registry::delete_manifest(const std::string& repository, const oci::Reference& reference) {
  auto removed = reference.is_digest() ? meta_.delete_manifest(repository, reference.digest())
                                       : meta_.delete_tag(repository, reference.tag());
  if (!removed.ok()) return removed.status();
  if (!*removed) return Status(Errc::manifest_unknown, "manifest unknown: " + reference.str());
  return Status::Ok();
}

// ---- Listings ----

namespace {
Page to_page(std::vector<std::string> items, size_t limit) {
  Page page;
  page.more = items.size() > limit;
  if (page.more) items.resize(limit);
  page.items = std::move(items);
  return page;
}
}  // namespace

Result<Page> Registry::list_tags(const std::string& repository, const std::string& after, size_t limit) {
  auto tags = meta_.list_tags(repository, after, limit + 1);
  if (!tags.ok()) return tags.status();
  return to_page(std::move(*tags), limit);
}

Result<int64_t> Registry::tag_version(const std::string& repository) {
  auto version = meta_.tag_version(repository);
  if (!version.ok()) return version.status();
  if (!*version) return Status(Errc::name_unknown, "repository name not known to registry: " + repository);
  return **version;
}

Result<Page> Registry::list_repositories(const std::string& after, size_t limit) {
  auto names = meta_.list_repositories(after, limit + 1);
  if (!names.ok()) return names.status();
  return to_page(std::move(*names), limit);
}

Result<std::vector<meta::Referrer>> Registry::referrers(const std::string& repository, const oci::Digest& subject,
                                                        const std::optional<std::string>& artifact_type) {
  return meta_.list_referrers(repository, subject, artifact_type);
}

}  // namespace berth::registry
