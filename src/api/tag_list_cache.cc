#include "api/tag_list_cache.h"

namespace berth::api {

std::string TagListCache::key_of(const std::string& repository, const std::string& last, size_t n) {
  // '\n' appears in neither a repository name nor a tag, so the parts cannot run into each other.
  return repository + '\n' + last + '\n' + std::to_string(n);
}

std::optional<TagListCache::Entry> TagListCache::find(const std::string& repository, const std::string& last,
                                                      size_t n, int64_t version) {
  std::string key = key_of(repository, last, n);
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (it->second->version != version) {
    // Versions only grow: an older entry is never useful again; a newer one (a request that read the
    // version just before a change) is kept for the requests that follow.
    if (it->second->version < version) drop(it->second);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->entry;
}

void TagListCache::store(const std::string& repository, const std::string& last, size_t n, int64_t version,
                         Entry entry) {
  size_t size = entry.body->size() + entry.link.size();
  if (size > budget_) return;
  std::string key = key_of(repository, last, n);
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) drop(it->second);
  while (bytes_ + size > budget_ && !lru_.empty()) drop(std::prev(lru_.end()));
  lru_.push_front(Slot{key, version, std::move(entry)});
  index_.emplace(std::move(key), lru_.begin());
  bytes_ += size;
}

size_t TagListCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

void TagListCache::drop(std::list<Slot>::iterator it) {
  bytes_ -= it->entry.body->size() + it->entry.link.size();
  index_.erase(it->key);
  lru_.erase(it);
}

}  // namespace berth::api
