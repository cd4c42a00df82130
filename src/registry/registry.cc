// Blobs, mounts, manifests, tags and referrers.
#include "registry/registry.h"

#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "oci/manifest.h"

namespace berth::registry {

Registry::Registry(storage::BlobStore& blobs, meta::MetadataStore& meta, RegistryOptions options, Clock clock)
    : blobs_(blobs), meta_(meta), options_(options), clock_(std::move(clock)) {}

int64_t Registry::now() const { return clock_ ? clock_() : static_cast<int64_t>(std::time(nullptr)); }

// ---- Blobs ----

Result<uint64_t> Registry::blob_size(const std::string& repository, const oci::Digest& digest) {
  auto blob = meta_.linked_blob(repository, digest);
  if (!blob.ok()) return blob.status();
  if (!*blob) return Status(Errc::blob_unknown, "blob unknown to registry: " + digest.str());
  // A client that finds a blob here may name it in a manifest soon: keep it out of the collector's reach
  // for another grace period. One write per blob per quarter period, not one per read.
  if (options_.gc_grace_seconds > 0) {
    const int64_t t = now();
    const int64_t stale = t - std::max<int64_t>(1, options_.gc_grace_seconds / 4);
    if ((*blob)->last_seen_at < stale) (void)meta_.touch_blob(digest, t, stale);
  }
  return (*blob)->size;
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
  Status linked = meta_.link_blob(repository, digest);
  if (linked.code() == Errc::not_found) return false;  // being collected: the client uploads it instead
  BERTH_RETURN_IF_ERROR(linked);
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
                              now(),
                              {},
                              {},
                              {},
                              std::nullopt};
  if (!parsed->subject) {
    // A top-level manifest starts a version: what the packages API says of it.
    ImageInfo info = describe_image(repository, *parsed);
    record.description = std::move(info.description);
    record.source = std::move(info.source);
    record.licenses = std::move(info.licenses);
  }
  std::optional<std::string> tag;
  if (reference.is_tag()) tag = reference.tag();
  if (tag && !parsed->subject) record.attached_to = oci::tag_schema_subject(*tag);
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
  if (reference.is_tag()) {
    auto removed = meta_.delete_tag(repository, reference.tag());
    if (!removed.ok()) return removed.status();
    if (!*removed) return Status(Errc::manifest_unknown, "manifest unknown: " + reference.str());
    return Status::Ok();
  }
  auto deletion = meta_.delete_manifest(repository, reference.digest(), now());
  if (!deletion.ok()) return deletion.status();
  switch (deletion->outcome) {
    case meta::ManifestDeletion::Outcome::absent:
      return Status(Errc::manifest_unknown, "manifest unknown: " + reference.str());
    case meta::ManifestDeletion::Outcome::refused:
      // Deleting a platform manifest alone would leave the index that lists it broken.
      return Status(Errc::denied, "manifest " + reference.str() + " is part of index " +
                                      (deletion->listed_by ? deletion->listed_by->str() : std::string("?")) +
                                      ": delete the index instead");
    case meta::ManifestDeletion::Outcome::deleted: break;
  }
  return Status::Ok();
}

// ---- What the packages API shows of an image ----

namespace {
constexpr uint64_t kMaxConfigBytes = 1 << 20;  // image configs are a few KiB; never read a large blob whole

}  // namespace

std::optional<std::string> Registry::read_small_blob(const oci::Digest& digest, uint64_t size) {
  if (size > kMaxConfigBytes) return std::nullopt;
  auto blob = blobs_.open(digest, 0, size);
  if (!blob.ok()) return std::nullopt;
  std::string out(size, '\0');
  size_t got = 0;
  if (blob->fd() >= 0) {
    while (got < size) {
      ssize_t n = ::pread(blob->fd(), out.data() + got, size - got, static_cast<off_t>(blob->offset() + got));
      if (n <= 0) return std::nullopt;
      got += static_cast<size_t>(n);
    }
  } else {
    auto stream = blob->take_stream();
    while (stream && got < size) {
      auto n = stream->read(out.data() + got, size - got);
      if (!n.ok() || *n == 0) return std::nullopt;
      got += *n;
    }
  }
  return got == size ? std::optional<std::string>(std::move(out)) : std::nullopt;
}

ImageInfo Registry::describe_image(const std::string& repository, const oci::ParsedManifest& manifest) {
  ImageInfo info;
  add_annotations(info, manifest.annotations_json);
  if (info.complete()) return info;
  const oci::ParsedManifest* image = &manifest;
  std::optional<oci::ParsedManifest> first_platform;
  if (manifest.is_index) {
    // An index has no config: its first platform's stands for it.
    for (const auto& child : manifest.manifests) {
      if (child.attestation) continue;
      auto stored = meta_.get_manifest(repository, child.digest);
      if (!stored.ok() || !*stored) break;
      auto parsed = oci::parse_manifest((*stored)->media_type, (*stored)->content);
      if (parsed.ok() && !parsed->is_index) {
        add_annotations(info, parsed->annotations_json);
        first_platform = std::move(*parsed);
      }
      break;
    }
    if (!first_platform) return info;
    image = &*first_platform;
  }
  if (info.complete() || image->blobs.empty()) return info;
  const oci::Descriptor& config = image->blobs.front();  // parse_manifest puts the config first
  if (auto json = read_small_blob(config.digest, static_cast<uint64_t>(std::max<int64_t>(config.size, 0)))) {
    if (config.media_type == kHelmConfigMediaType) {
      add_helm_chart(info, *json);
    } else {
      add_config_labels(info, *json);
    }
  }
  return info;
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
