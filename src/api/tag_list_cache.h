// Rendered tag-list responses, kept per node and reused while the repository's tags are unchanged.
//
// A list of 10,000 tags costs ~0.7 ms to read from SQLite and render; checking that a rendered one is
// still current costs one indexed read of the repository's tag version (meta::MetadataStore::
// tag_version), which every node's tag change increments in the same transaction. So the cache is safe
// in a fleet and safe to lose: an entry is served only for the version it was rendered at.
//
// Only lists of at least kMinItems names are kept (smaller ones are cheap to render), within a total
// byte budget; the least recently used entry goes first. Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace berth::api {

class TagListCache {
 public:
  static constexpr size_t kMinItems = 256;

  struct Entry {
    std::shared_ptr<const std::string> body;  // the JSON document
    std::string link;                         // the Link header, empty on the last page
  };

  explicit TagListCache(size_t budget_bytes = 8u << 20) : budget_(budget_bytes) {}

  // The entry rendered for (repository, last, n) at `version`, if any.
  std::optional<Entry> find(const std::string& repository, const std::string& last, size_t n, int64_t version);
  // Keeps `entry` as rendered at `version` (replacing an older one for the same request).
  void store(const std::string& repository, const std::string& last, size_t n, int64_t version, Entry entry);

  size_t bytes() const;

 private:
  struct Slot {
    std::string key;
    int64_t version;
    Entry entry;
  };
  static std::string key_of(const std::string& repository, const std::string& last, size_t n);
  void drop(std::list<Slot>::iterator it);

  mutable std::mutex mu_;
  size_t budget_;
  size_t bytes_ = 0;
  std::list<Slot> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Slot>::iterator> index_;
};

}  // namespace berth::api
