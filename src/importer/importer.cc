#include "importer/importer.h"

#include <algorithm>

#include "oci/manifest.h"
#include "oci/name.h"

namespace berth::importer {

namespace {
constexpr int kMaxDepth = 8;  // index → manifest → referrer → … : deeper is no image anyone pushed
}

Importer::Importer(Source& source, registry::Registry& registry, std::string source_repository, std::string target,
                   Progress progress)
    : source_(source),
      registry_(registry),
      from_(std::move(source_repository)),
      to_(std::move(target)),
      progress_(std::move(progress)) {}

Result<ImportReport> Importer::run(const std::vector<std::string>& tags) {
  // Signature tags (sha256-<hex>.sig, …) after the images they name, so that they attach to them here
  // (docs/packages.md) rather than arrive first as versions of their own.
  std::vector<std::string> ordered = tags;
  std::stable_partition(ordered.begin(), ordered.end(),
                        [](const std::string& t) { return !oci::tag_schema_subject(t).has_value(); });
  for (const auto& tag : ordered) {
    BERTH_RETURN_IF_ERROR(copy_manifest(tag, &tag, 0));
    ++report_.tags;
    if (progress_) progress_("tag " + tag + " done");
  }
  return report_;
}

Status Importer::copy_blob(const oci::Descriptor& blob) {
  // Here already, in this repository or (mounted) in another one.
  if (registry_.blob_size(to_, blob.digest).ok()) {
    ++report_.blobs_present;
    return Status::Ok();
  }
  auto mounted = registry_.mount_blob(to_, blob.digest, "");
  if (mounted.ok() && *mounted) {
    ++report_.blobs_present;
    return Status::Ok();
  }
  auto upload = registry_.start_upload(to_);
  if (!upload.ok()) return upload.status();
  auto appender = registry_.begin_append(to_, upload->id);
  if (!appender.ok()) return appender.status();
  uint64_t received = 0;
  Status fetched = source_.blob(from_, blob.digest, [&](const char* data, size_t size) {
    received += size;
    return (*appender)->write(data, size);
  });
  auto finished = (*appender)->finish();
  if (fetched.ok() && !finished.ok()) fetched = finished.status();
  if (!fetched.ok()) {
    (void)registry_.cancel_upload(to_, upload->id);
    return Status(fetched.code(), "blob " + blob.digest.str() + ": " + fetched.message());
  }
  // Verifies the bytes against the digest before anything may name them.
  auto completed = registry_.complete_upload(to_, upload->id, blob.digest);
  if (!completed.ok()) return Status(completed.status().code(), "blob " + blob.digest.str() + ": " + completed.status().message());
  ++report_.blobs_copied;
  report_.bytes_copied += received;
  return Status::Ok();
}

Status Importer::copy_referrers(const oci::Digest& subject, int depth) {
  auto referrers = source_.referrers(from_, subject);
  if (!referrers.ok()) return referrers.status();
  for (const auto& r : *referrers) BERTH_RETURN_IF_ERROR(copy_manifest(r.str(), nullptr, depth + 1));
  return Status::Ok();
}

Status Importer::copy_manifest(const std::string& reference, const std::string* tag, int depth) {
  if (depth > kMaxDepth) return Status(Errc::invalid_argument, "manifests nest deeper than " + std::to_string(kMaxDepth));
  if (!tag && done_.count(reference)) return Status::Ok();
  auto m = source_.manifest(from_, reference);
  if (!m.ok()) return Status(m.status().code(), "manifest " + reference + ": " + m.status().message());
  const std::string digest = m->digest.str();
  const auto target_reference = tag ? oci::Reference::parse(*tag) : oci::Reference::parse(digest);
  if (!target_reference.ok()) return target_reference.status();
  if (done_.count(digest) || registry_.get_manifest(to_, *oci::Reference::parse(digest)).ok()) {
    // Stored whole already (a manifest is stored only with all it names): only the tag may be missing.
    if (tag) {
      auto put = registry_.put_manifest(to_, *target_reference, m->media_type, m->content);
      if (!put.ok()) return Status(put.status().code(), "tag " + *tag + ": " + put.status().message());
    }
    if (done_.insert(digest).second) {
      ++report_.manifests_present;
      BERTH_RETURN_IF_ERROR(copy_referrers(m->digest, depth));
    }
    return Status::Ok();
  }
  auto parsed = oci::parse_manifest(m->media_type, m->content);
  if (!parsed.ok()) return Status(parsed.status().code(), "manifest " + reference + ": " + parsed.status().message());
  for (const auto& child : parsed->manifests) BERTH_RETURN_IF_ERROR(copy_manifest(child.digest.str(), nullptr, depth + 1));
  for (const auto& blob : parsed->blobs) {
    if (blob.media_type.find("foreign") != std::string::npos ||
        blob.media_type.find("nondistributable") != std::string::npos) {
      continue;  // lives elsewhere by design: no registry holds it
    }
    BERTH_RETURN_IF_ERROR(copy_blob(blob));
  }
  auto put = registry_.put_manifest(to_, *target_reference, m->media_type, m->content);
  if (!put.ok()) return Status(put.status().code(), "manifest " + reference + ": " + put.status().message());
  done_.insert(digest);
  ++report_.manifests_copied;
  return copy_referrers(m->digest, depth);
}

}  // namespace berth::importer
