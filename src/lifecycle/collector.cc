#include "lifecycle/collector.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <sstream>
#include <vector>

namespace berth::lifecycle {

namespace {
constexpr const char* kLease = "gc";
// Blobs marked in one transaction and then deleted together (S3 allows 1,000 keys per DeleteObjects; a
// transaction holding 100 rows keeps the uploads that wait for one of them short).
constexpr size_t kDeleteBatch = 100;

enum class Phase : int { blobs = 0, links = 1, objects = 2, uploads = 3, done = 4 };
}  // namespace

// Where a pass is: the phase and the position of its walk. Kept with the lease as
// "phase\tblob-cursor\tlink-repository\tlink-digest\tupload-cursor" so another node can go on.
struct Collector::Walk {
  Phase phase = Phase::blobs;
  std::string blob_after;  // blob rows, then objects: digests in byte order
  int64_t link_repository = 0;
  std::string link_digest;
  std::string upload_after;

  int64_t idle_since = 0;  // set between passes: when the last one ended

  static Walk parse(const std::string& text) {
    Walk w;
    if (text.starts_with("idle\t")) {
      try {
        w.idle_since = std::stoll(text.substr(5));
      } catch (...) {
      }
      return w;
    }
    std::istringstream in(text);
    std::string field;
    std::vector<std::string> f;
    while (std::getline(in, field, '\t')) f.push_back(field);
    if (f.size() != 5) return w;  // empty or from another version: start over, which is always safe
    try {
      int phase = std::stoi(f[0]);
      if (phase < 0 || phase > static_cast<int>(Phase::done)) return Walk{};
      w.phase = static_cast<Phase>(phase);
      w.link_repository = std::stoll(f[2]);
    } catch (...) {
      return Walk{};
    }
    w.blob_after = f[1];
    w.link_digest = f[3];
    w.upload_after = f[4];
    return w;
  }
  std::string str() const {
    return std::to_string(static_cast<int>(phase)) + '\t' + blob_after + '\t' + std::to_string(link_repository) +
           '\t' + link_digest + '\t' + upload_after;
  }
  void next_phase() {
    phase = static_cast<Phase>(static_cast<int>(phase) + 1);
    blob_after.clear();
  }
};

void CollectorStats::add(const CollectorStats& o) {
  examined += o.examined;
  blobs_deleted += o.blobs_deleted;
  bytes_deleted += o.bytes_deleted;
  orphans_deleted += o.orphans_deleted;
  links_removed += o.links_removed;
  uploads_removed += o.uploads_removed;
  blobs_in_grace += o.blobs_in_grace;
  bytes_in_grace += o.bytes_in_grace;
  seconds += o.seconds;
}

std::string CollectorMetrics::render() const {
  std::ostringstream out;
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n" << name << ' ' << value << '\n';
  };
  auto gauge = [&](const char* name, const char* help, auto value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n" << name << ' ' << value << '\n';
  };
  counter("berth_gc_passes_total", "Garbage collection passes completed by this node.", passes.load());
  counter("berth_gc_reclaimed_objects_total", "Blob objects deleted by garbage collection on this node.",
          blobs_deleted.load());
  counter("berth_gc_reclaimed_bytes_total", "Bytes of blob objects deleted by garbage collection on this node.",
          bytes_deleted.load());
  counter("berth_gc_links_removed_total", "Repository blob links no manifest used, removed.", links_removed.load());
  counter("berth_gc_uploads_removed_total", "Upload leftovers without a session, removed.", uploads_removed.load());
  gauge("berth_gc_blobs_pending", "Unreferenced blobs waiting out the grace period (last complete pass).",
        blobs_in_grace.load());
  gauge("berth_gc_bytes_pending", "Bytes of unreferenced blobs waiting out the grace period (last complete pass).",
        bytes_in_grace.load());
  gauge("berth_gc_last_pass_seconds", "Duration of the last complete pass (sum of its steps).",
        last_pass_seconds.load());
  gauge("berth_gc_last_pass_end_timestamp_seconds", "When the last complete pass ended.", last_pass_end.load());
  return out.str();
}

Collector::Collector(storage::BlobStore& blobs, meta::MetadataStore& meta, meta::CollectorStore& store,
                     CollectorOptions options, Clock clock)
    : blobs_(blobs), meta_(meta), store_(store), options_(std::move(options)), clock_(std::move(clock)) {
  if (options_.page == 0) options_.page = 1;
}

int64_t Collector::now() const { return clock_ ? clock_() : static_cast<int64_t>(std::time(nullptr)); }

void Collector::set_pass_listener(PassListener listener) { on_pass_ = std::move(listener); }

// ---- Entry points ----

Result<CollectorStats> Collector::run() {
  auto held = store_.acquire_lease(kLease, options_.holder, now(), options_.lease_seconds);
  if (!held.ok()) return held.status();
  if (!*held) {
    auto holder = store_.lease_holder(kLease, now());
    std::string who = holder.ok() && *holder ? (*holder)->holder : std::string("another node");
    bool taken = false;
    if (holder.ok() && *holder && options_.holder_gone && options_.holder_gone(who)) {
      auto took = store_.take_over_lease(kLease, who, options_.holder, now(), options_.lease_seconds);
      taken = took.ok() && *took;
    }
    if (!taken) return Status(Errc::unavailable, "garbage collection is running on " + who + "; try again later");
  }
  auto progress = store_.lease_progress(kLease);
  if (!progress.ok()) return progress.status();
  Walk walk = Walk::parse(*progress);
  CollectorStats total;
  for (;;) {
    auto part = advance(walk, SIZE_MAX, true);
    if (!part.ok()) {
      (void)store_.release_lease(kLease, options_.holder);
      return part.status();
    }
    total.add(*part);
    if (part->complete) break;
  }
  total.complete = true;
  record_pass(total);
  (void)store_.release_lease(kLease, options_.holder);
  return total;
}

Result<CollectorStats> Collector::dry_run() {
  Walk walk;
  CollectorStats total;
  for (;;) {
    auto part = advance(walk, SIZE_MAX, false);
    if (!part.ok()) return part.status();
    total.add(*part);
    if (part->complete) break;
  }
  total.complete = true;
  return total;
}

Result<CollectorStats> Collector::step(size_t budget) {
  auto held = store_.acquire_lease(kLease, options_.holder, now(), options_.lease_seconds);
  if (!held.ok()) return held.status();
  if (!*held) return CollectorStats{};
  auto progress = store_.lease_progress(kLease);
  if (!progress.ok()) return progress.status();
  Walk walk = Walk::parse(*progress);
  if (walk.idle_since > 0 && now() < walk.idle_since + options_.pass_interval_seconds) {
    (void)store_.release_lease(kLease, options_.holder);
    return CollectorStats{};
  }
  auto part = advance(walk, budget, true);
  // Released between steps (the position stays with it): any node, or `berth gc`, may take the next one.
  (void)store_.release_lease(kLease, options_.holder);
  if (!part.ok()) return part.status();
  pass_so_far_.add(*part);
  if (part->complete) {
    CollectorStats pass = pass_so_far_;
    pass.complete = true;
    pass_so_far_ = CollectorStats{};
    record_pass(pass);
  }
  return part;
}

void Collector::record_pass(const CollectorStats& pass) {
  metrics_.passes.fetch_add(1);
  metrics_.blobs_deleted.fetch_add(pass.blobs_deleted);
  metrics_.bytes_deleted.fetch_add(pass.bytes_deleted);
  metrics_.links_removed.fetch_add(pass.links_removed);
  metrics_.uploads_removed.fetch_add(pass.uploads_removed);
  metrics_.blobs_in_grace.store(pass.blobs_in_grace);
  metrics_.bytes_in_grace.store(pass.bytes_in_grace);
  metrics_.last_pass_seconds.store(pass.seconds);
  metrics_.last_pass_end.store(now());
  if (on_pass_) on_pass_(pass);
}

// ---- A pass ----

Result<CollectorStats> Collector::advance(Walk& walk, size_t budget, bool collect) {
  const auto started = std::chrono::steady_clock::now();
  CollectorStats stats;
  // What a pass that died left marked is finished first: those rows block uploads of their digests.
  if (collect) BERTH_RETURN_IF_ERROR(finish_deleting(stats));
  while (walk.phase != Phase::done && budget > 0) {
    switch (walk.phase) {
      case Phase::blobs: BERTH_RETURN_IF_ERROR(walk_blobs(walk, budget, collect, stats)); break;
      case Phase::links: BERTH_RETURN_IF_ERROR(walk_links(walk, budget, collect, stats)); break;
      case Phase::objects: BERTH_RETURN_IF_ERROR(walk_objects(walk, budget, collect, stats)); break;
      case Phase::uploads: BERTH_RETURN_IF_ERROR(walk_uploads(walk, budget, collect, stats)); break;
      case Phase::done: break;
    }
    if (collect) {
      // Renewing the lease after every page: a node that stops renewing (it died) loses it to another.
      auto held = store_.acquire_lease(kLease, options_.holder, now(), options_.lease_seconds);
      if (!held.ok()) return held.status();
      if (!*held) return Status(Errc::unavailable, "the garbage collection lease was taken by another node");
      BERTH_RETURN_IF_ERROR(store_.save_lease_progress(
          kLease, options_.holder, walk.phase == Phase::done ? "idle\t" + std::to_string(now()) : walk.str()));
    }
  }
  stats.complete = walk.phase == Phase::done;
  if (stats.complete) walk = Walk{};
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return stats;
}

Status Collector::finish_deleting(CollectorStats& stats) {
  for (;;) {
    auto marked = store_.blobs_in_state(meta::BlobState::deleting, options_.page);
    if (!marked.ok()) return marked.status();
    std::vector<Doomed> doomed;
    for (const auto& blob : *marked) doomed.push_back({blob.digest, blob.size});
    BERTH_RETURN_IF_ERROR(delete_marked(doomed, stats));
    if (marked->size() < options_.page) return Status::Ok();
  }
}

// The objects go first, the rows after: a row without an object is finished by the next pass, an object
// without a row would be an orphan found only by the object walk. In batches: one transaction and (on
// S3) one request for many blobs, so that a pass costs the registry's other work little.
Status Collector::delete_marked(const std::vector<Doomed>& doomed, CollectorStats& stats) {
  if (doomed.empty()) return Status::Ok();
  std::vector<oci::Digest> digests;
  digests.reserve(doomed.size());
  for (const auto& d : doomed) digests.push_back(d.digest);
  BERTH_RETURN_IF_ERROR(blobs_.remove_many(digests));
  BERTH_RETURN_IF_ERROR(store_.forget_blobs(digests));
  for (const auto& d : doomed) {
    ++stats.blobs_deleted;
    stats.bytes_deleted += d.size;
  }
  return Status::Ok();
}

Status Collector::walk_blobs(Walk& walk, size_t& budget, bool collect, CollectorStats& stats) {
  auto page = store_.scan_blobs(walk.blob_after, options_.page);
  if (!page.ok()) return page.status();
  const int64_t t = now();
  const int64_t seen_before = t - options_.grace_seconds;
  const int64_t pending_before = t - options_.stale_upload_seconds;
  std::vector<Doomed> to_delete;
  for (const auto& blob : *page) {
    ++stats.examined;
    const bool unreferenced_live =
        (blob.state == meta::BlobState::live || blob.state == meta::BlobState::damaged) && !blob.referenced;
    const bool due = unreferenced_live ? blob.last_seen_at < seen_before
                                       : blob.state == meta::BlobState::pending && blob.last_seen_at < pending_before;
    if (unreferenced_live && !due) {
      ++stats.blobs_in_grace;
      stats.bytes_in_grace += blob.size;
    }
    if (!due) continue;
    if (!collect) {
      ++stats.blobs_deleted;
      stats.bytes_deleted += blob.size;
      continue;
    }
    to_delete.push_back({blob.digest, blob.size});
  }
  for (size_t first = 0; first < to_delete.size(); first += kDeleteBatch) {
    const size_t end = std::min(to_delete.size(), first + kDeleteBatch);
    std::vector<oci::Digest> batch;
    for (size_t i = first; i < end; ++i) batch.push_back(to_delete[i].digest);
    // Decided again inside the transaction, with the rows held: a push since the scan keeps its blob.
    auto marked = store_.mark_for_deletion(batch, seen_before, pending_before);
    if (!marked.ok()) return marked.status();
    std::vector<Doomed> doomed;  // the marked ones, which come back in the order asked
    for (size_t i = first, m = 0; i < end && m < marked->size(); ++i) {
      if (to_delete[i].digest == (*marked)[m]) {
        doomed.push_back(to_delete[i]);
        ++m;
      }
    }
    BERTH_RETURN_IF_ERROR(delete_marked(doomed, stats));
  }
  budget -= std::min(budget, page->size() + 1);
  if (page->size() < options_.page) {
    walk.next_phase();
  } else {
    walk.blob_after = page->back().digest.str();
  }
  return Status::Ok();
}

Status Collector::walk_links(Walk& walk, size_t& budget, bool collect, CollectorStats& stats) {
  auto page = store_.scan_links(walk.link_repository, walk.link_digest, options_.page);
  if (!page.ok()) return page.status();
  const int64_t before = now() - options_.grace_seconds;
  for (const auto& link : *page) {
    ++stats.examined;
    if (link.referenced_here || link.linked_at >= before || link.last_seen_at >= before) continue;
    if (!collect) {
      ++stats.links_removed;
      continue;
    }
    auto removed = store_.remove_unused_link(link.repository_id, link.digest, before);
    if (!removed.ok()) return removed.status();
    if (*removed) ++stats.links_removed;
  }
  budget -= std::min(budget, page->size() + 1);
  if (page->size() < options_.page) {
    walk.next_phase();
    walk.link_repository = 0;
    walk.link_digest.clear();
  } else {
    walk.link_repository = page->back().repository_id;
    walk.link_digest = page->back().digest.str();
  }
  return Status::Ok();
}

// Objects and rows are both in digest order: one merge finds the objects without a row.
Status Collector::walk_objects(Walk& walk, size_t& budget, bool collect, CollectorStats& stats) {
  auto objects = blobs_.list_blobs(walk.blob_after, options_.page);
  if (!objects.ok()) return objects.status();
  std::vector<meta::BlobEntry> rows;
  if (!objects->empty()) {
    const std::string last = objects->back().digest.str();
    std::string after = walk.blob_after;
    for (;;) {
      auto page = store_.scan_blobs(after, options_.page);
      if (!page.ok()) return page.status();
      if (page->empty()) break;
      const std::string page_end = page->back().digest.str();
      for (auto& row : *page) {
        if (row.digest.str() > last) break;
        rows.push_back(std::move(row));
      }
      if (page->size() < options_.page || page_end > last) break;
      after = page_end;
    }
  }
  const int64_t before = now() - options_.grace_seconds;
  size_t r = 0;
  std::vector<Doomed> orphans;
  for (const auto& object : *objects) {
    ++stats.examined;
    const std::string d = object.digest.str();
    while (r < rows.size() && rows[r].digest.str() < d) ++r;
    if (r < rows.size() && rows[r].digest.str() == d) continue;  // known to the metadata
    if (object.modified_at >= before) continue;  // an upload between writing and recording, perhaps
    if (!collect) {
      ++stats.blobs_deleted;
      ++stats.orphans_deleted;
      stats.bytes_deleted += object.size;
      continue;
    }
    auto claimed = store_.claim_orphan(object.digest, object.size, now());
    if (!claimed.ok()) return claimed.status();
    if (!*claimed) continue;  // a row appeared since: an upload of these bytes
    orphans.push_back({object.digest, object.size});
  }
  BERTH_RETURN_IF_ERROR(delete_marked(orphans, stats));
  stats.orphans_deleted += orphans.size();
  budget -= std::min(budget, objects->size() + rows.size() + 1);
  if (objects->size() < options_.page) {
    walk.next_phase();
  } else {
    walk.blob_after = objects->back().digest.str();
  }
  return Status::Ok();
}

Status Collector::walk_uploads(Walk& walk, size_t& budget, bool collect, CollectorStats& stats) {
  auto uploads = blobs_.list_uploads(walk.upload_after, options_.page);
  if (!uploads.ok()) return uploads.status();
  const int64_t before = now() - options_.stale_upload_seconds;
  for (const auto& upload : *uploads) {
    ++stats.examined;
    if (upload.modified_at >= before) continue;
    auto session = meta_.get_upload(upload.id);
    if (!session.ok()) return session.status();
    if (*session) continue;  // the registry's own expiry removes sessions it knows
    if (collect) BERTH_RETURN_IF_ERROR(blobs_.remove_upload_leftovers(upload.id));
    ++stats.uploads_removed;
  }
  budget -= std::min(budget, uploads->size() + 1);
  if (uploads->size() < options_.page) {
    walk.next_phase();
    walk.upload_after.clear();
  } else {
    walk.upload_after = uploads->back().id;
  }
  return Status::Ok();
}

}  // namespace berth::lifecycle
