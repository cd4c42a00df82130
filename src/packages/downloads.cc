#include "packages/downloads.h"

#include <utility>
#include <vector>

namespace berth::packages {

namespace {
// Past this many distinct manifests between two flushes, further new ones are dropped rather than let a
// flood of distinct pulls grow memory without bound (repeats keep counting).
constexpr size_t kMaxPending = 100'000;
}  // namespace

void DownloadCounter::record(const std::string& repository, const oci::Digest& digest) {
  std::string key;
  key.reserve(repository.size() + 1 + digest.str().size());
  key.append(repository).append(1, '@').append(digest.str());
  std::lock_guard lock(mu_);
  auto it = counts_.find(key);
  if (it != counts_.end()) {
    ++it->second;
  } else if (counts_.size() < kMaxPending) {
    counts_.emplace(std::move(key), 1);
  }
}

Status DownloadCounter::flush(meta::PackageStore& store) {
  std::unordered_map<std::string, uint64_t> taken;
  {
    std::lock_guard lock(mu_);
    taken.swap(counts_);
  }
  if (taken.empty()) return Status::Ok();
  std::vector<meta::DownloadCount> batch;
  batch.reserve(taken.size());
  for (const auto& [key, count] : taken) {
    auto at = key.rfind('@');
    auto digest = oci::Digest::parse(key.substr(at + 1));
    if (!digest.ok()) continue;
    batch.push_back(meta::DownloadCount{key.substr(0, at), *digest, count});
  }
  Status s = store.add_downloads(batch);
  if (!s.ok()) {
    // Put them back for the next flush, merged with what arrived meanwhile.
    std::lock_guard lock(mu_);
    for (auto& [key, count] : taken) counts_[key] += count;
  }
  return s;
}

size_t DownloadCounter::pending() const {
  std::lock_guard lock(mu_);
  return counts_.size();
}

}  // namespace berth::packages
