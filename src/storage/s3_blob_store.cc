#include "storage/s3_blob_store.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

namespace berth::storage {

namespace {

constexpr uint64_t kMinPartSize = 5ull << 20;      // S3: every part but the last
constexpr uint64_t kMaxCopySize = 5ull << 30;      // S3: CopyObject and one part
constexpr uint64_t kMaxParts = 10000;

Status invalid_upload_id() { return Status(Errc::invalid_argument, "malformed upload id"); }

// S3 may answer 200 and still report an error in the body (CompleteMultipartUpload, copies).
bool failed(const HttpResult& r) { return r.status < 200 || r.status >= 300 || r.body.find("<Error>") != std::string::npos; }

class EmptySource final : public ByteSource {
 public:
  Result<size_t> read(char*, size_t) override { return size_t{0}; }
};

// The staged segments of an upload, read one ranged GET after another.
class SegmentsSource final : public ByteSource {
 public:
  SegmentsSource(S3Client& client, std::vector<std::pair<std::string, uint64_t>> pieces)
      : client_(client), pieces_(std::move(pieces)) {}
  Result<size_t> read(char* buffer, size_t capacity) override {
    for (;;) {
      if (!current_) {
        if (next_ == pieces_.size()) return size_t{0};
        auto& [key, len] = pieces_[next_++];
        auto s = client_.get_range(key, 0, len);
        if (!s.ok()) return s.status();
        current_ = std::move(*s);
      }
      auto n = current_->read(buffer, capacity);
      if (!n.ok() || *n > 0) return n;
      current_.reset();
    }
  }

 private:
  S3Client& client_;
  std::vector<std::pair<std::string, uint64_t>> pieces_;
  size_t next_ = 0;
  std::unique_ptr<ByteSource> current_;
};

}  // namespace

struct S3BlobStore::UploadState {
  struct Part {
    uint64_t number;
    std::string etag;
    uint64_t size;
  };
  struct Segment {
    std::string name;  // under uploads/<id>/
    uint64_t used;     // bytes of it that belong to the upload (fewer after a rewind)
  };
  std::string multipart_id;
  std::vector<Part> parts;
  std::vector<Segment> segments;

  uint64_t parts_total() const {
    uint64_t t = 0;
    for (const auto& p : parts) t += p.size;
    return t;
  }
  uint64_t staged() const {
    uint64_t t = 0;
    for (const auto& s : segments) t += s.used;
    return t;
  }
  uint64_t total() const { return parts_total() + staged(); }

  std::string to_json() const {
    nlohmann::json j = nlohmann::json::object();
    if (!multipart_id.empty()) j["mp"] = multipart_id;
    auto& ps = j["parts"] = nlohmann::json::array();
    for (const auto& p : parts) ps.push_back({p.number, p.etag, p.size});
    auto& ss = j["segs"] = nlohmann::json::array();
    for (const auto& s : segments) ss.push_back({s.name, s.used});
    return j.dump();
  }

  static Result<UploadState> parse(const std::string& text) {
    UploadState st;
    if (text.empty()) return st;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status(Errc::invalid_argument, "malformed S3 upload state");
    try {
      if (j.contains("mp")) st.multipart_id = j["mp"].get<std::string>();
      for (const auto& p : j.value("parts", nlohmann::json::array())) {
        st.parts.push_back({p.at(0).get<uint64_t>(), p.at(1).get<std::string>(), p.at(2).get<uint64_t>()});
      }
      for (const auto& s : j.value("segs", nlohmann::json::array())) {
        std::string name = s.at(0).get<std::string>();
        // The name becomes part of a key: only what this store writes is accepted.
        if (name.rfind("seg-", 0) != 0 || !is_valid_upload_id(name.substr(4))) {
          return Status(Errc::invalid_argument, "malformed S3 upload state");
        }
        st.segments.push_back({std::move(name), s.at(1).get<uint64_t>()});
      }
    } catch (const nlohmann::json::exception&) {
      return Status(Errc::invalid_argument, "malformed S3 upload state");
    }
    return st;
  }
};

// Appends through at most part_size bytes of memory; see the header for the scheme.
class S3UploadWriter final : public UploadWriter {
 public:
  S3UploadWriter(S3BlobStore& store, std::string upload_id, S3BlobStore::UploadState st)
      : store_(store), id_(std::move(upload_id)), st_(std::move(st)) {}

  Status write(const char* data, size_t len) override {
    if (closed_) return Status(Errc::internal, "write after close on upload " + id_);
    if (!failed_.ok()) return failed_;
    const uint64_t part_size = store_.client_->options().part_size;
    // Takes the new bytes a part at a time, so that at most part_size of them are held here whatever the
    // size of the chunk; bytes that complete a part are sent from the caller's buffer when nothing else
    // is pending, without a copy.
    for (;;) {
      const uint64_t pending = st_.staged() + buf_.size();
      const size_t need = pending >= part_size ? 0 : static_cast<size_t>(part_size - pending);
      if (len < need) break;
      std::string_view fresh(data, need);
      if (!buf_.empty()) {
        buf_.append(data, need);
        fresh = buf_;
      }
      Status s = flush_part(fresh);
      if (!s.ok()) {
        failed_ = s;
        return s;
      }
      buf_.clear();
      data += need;
      len -= need;
    }
    buf_.append(data, len);
    return Status::Ok();
  }

  Result<std::string> close() override {
    if (closed_) return Status(Errc::internal, "close twice on upload " + id_);
    closed_ = true;
    if (!failed_.ok()) return failed_;
    if (!buf_.empty()) {
      std::string name = "seg-" + new_upload_id();
      auto r = store_.client_->call("PUT", store_.upload_prefix(id_) + name, {}, {}, buf_);
      if (!r.ok()) return r.status();
      if (failed(*r)) return S3Client::error_of(*r, "stage upload " + id_);
      st_.segments.push_back({std::move(name), buf_.size()});
      buf_.clear();
    }
    return st_.to_json();
  }

 private:
  // Sends one part made of the staged segments and `fresh`, the new bytes that complete it.
  Status flush_part(std::string_view fresh) {
    S3Client& c = *store_.client_;
    const std::string prefix = store_.upload_prefix(id_);
    std::string_view body = fresh;
    std::string joined;  // staged bytes read back, then `fresh`; only when there are staged bytes
    if (!st_.segments.empty()) {
      joined.reserve(static_cast<size_t>(st_.staged()) + fresh.size());
      BERTH_RETURN_IF_ERROR(store_.read_staged(id_, st_, st_.staged(), joined));
      joined.append(fresh);
      body = joined;
    }
    if (st_.multipart_id.empty()) {
      auto r = c.call("POST", prefix + "data", {{"uploads", ""}});
      if (!r.ok()) return r.status();
      if (failed(*r)) return S3Client::error_of(*r, "create multipart upload for " + id_);
      st_.multipart_id = xml_first(r->body, "UploadId");
      if (st_.multipart_id.empty()) return Status(Errc::io_error, "S3 create multipart upload: no UploadId");
    }
    const uint64_t number = st_.parts.size() + 1;
    auto r = c.call("PUT", prefix + "data", {{"partNumber", std::to_string(number)}, {"uploadId", st_.multipart_id}},
                    {}, body);
    if (!r.ok()) return r.status();
    if (r->status == 404) return Status(Errc::blob_upload_invalid, "multipart upload of " + id_ + " is gone");
    if (failed(*r)) return S3Client::error_of(*r, "upload part of " + id_);
    std::string etag = r->header("etag");
    if (etag.empty()) return Status(Errc::io_error, "S3 upload part: no ETag");
    st_.parts.push_back({number, std::move(etag), body.size()});
    st_.segments.clear();
    return Status::Ok();
  }

  S3BlobStore& store_;
  std::string id_;
  S3BlobStore::UploadState st_;
  std::string buf_;
  Status failed_;
  bool closed_ = false;
};

Result<std::unique_ptr<S3BlobStore>> S3BlobStore::open(S3Options options) {
  if (options.part_size < kMinPartSize || options.part_size > kMaxCopySize) {
    return Status(Errc::invalid_argument, "S3: part size must be between 5 MiB and 5 GiB");
  }
  if (!options.prefix.empty() && options.prefix.back() != '/') options.prefix.push_back('/');
  auto client = S3Client::create(std::move(options));
  if (!client.ok()) return client.status();
  return std::unique_ptr<S3BlobStore>(new S3BlobStore(std::move(*client)));
}

std::string S3BlobStore::blob_key(const oci::Digest& digest) const {
  return client_->options().prefix + "blobs/" + std::string(digest.algorithm_name()) + "/" + std::string(digest.hex());
}

std::string S3BlobStore::upload_prefix(const std::string& upload_id) const {
  return client_->options().prefix + "uploads/" + upload_id + "/";
}

Status S3BlobStore::check() {
  auto r = client_->call("HEAD", "", {});
  if (!r.ok()) return r.status();
  if (failed(*r)) return S3Client::error_of(*r, "bucket " + client_->options().bucket);
  return Status::Ok();
}

Result<uint64_t> S3BlobStore::head(const std::string& key) {
  auto r = client_->call("HEAD", key, {});
  if (!r.ok()) return r.status();
  if (failed(*r)) return S3Client::error_of(*r, "HEAD " + key);
  std::string len = r->header("content-length");
  if (len.empty() || len.find_first_not_of("0123456789") != std::string::npos) {
    return Status(Errc::io_error, "S3 HEAD " + key + ": no Content-Length");
  }
  return static_cast<uint64_t>(std::stoull(len));
}

Status S3BlobStore::require_upload(const std::string& upload_id) {
  auto h = head(upload_prefix(upload_id) + "info");
  if (h.ok()) return Status::Ok();
  if (h.status().code() == Errc::not_found) return Status(Errc::not_found, "upload unknown");
  return h.status();
}

Result<S3BlobStore::UploadState> S3BlobStore::load_upload(const std::string& upload_id, const std::string& state) {
  if (!is_valid_upload_id(upload_id)) return invalid_upload_id();
  BERTH_RETURN_IF_ERROR(require_upload(upload_id));
  return UploadState::parse(state);
}

Result<uint64_t> S3BlobStore::stat(const oci::Digest& digest) {
  auto h = head(blob_key(digest));
  if (!h.ok() && h.status().code() == Errc::not_found) return Status(Errc::not_found, "blob unknown");
  return h;
}

Result<OpenBlob> S3BlobStore::open(const oci::Digest& digest, uint64_t offset, uint64_t length) {
  auto size = stat(digest);
  if (!size.ok()) return size.status();
  if (offset > *size || length > *size - offset) {
    return Status(Errc::range_invalid, "range past the end of the blob (" + std::to_string(*size) + " bytes)");
  }
  if (length == 0) return OpenBlob(std::make_unique<EmptySource>(), 0);
  auto stream = client_->get_range(blob_key(digest), offset, length);
  if (!stream.ok()) return stream.status();
  return OpenBlob(std::move(*stream), length);
}

Status S3BlobStore::remove(const oci::Digest& digest) {
  auto r = client_->call("DELETE", blob_key(digest), {});
  if (!r.ok()) return r.status();
  if (failed(*r) && r->status != 404) return S3Client::error_of(*r, "delete blob");
  return Status::Ok();
}

Status S3BlobStore::remove_many(const std::vector<oci::Digest>& digests) {
  std::vector<std::string> keys;
  keys.reserve(digests.size());
  for (const auto& digest : digests) keys.push_back(blob_key(digest));
  return client_->delete_objects(keys);
}

Result<std::string> S3BlobStore::begin_upload(const std::string& upload_id) {
  if (!is_valid_upload_id(upload_id)) return invalid_upload_id();
  const std::string marker = upload_prefix(upload_id) + "info";
  auto h = head(marker);
  if (h.ok()) return Status(Errc::already_exists, "upload exists");
  if (h.status().code() != Errc::not_found) return h.status();
  // If-None-Match makes creation atomic on servers that support it (AWS since 2024, radosgw); elsewhere
  // the HEAD above is the check, enough for random 128-bit ids.
  auto r = client_->call("PUT", marker, {}, {{"if-none-match", "*"}}, "");
  if (!r.ok()) return r.status();
  if (r->status == 412) return Status(Errc::already_exists, "upload exists");
  if (failed(*r)) return S3Client::error_of(*r, "begin upload");
  return UploadState{}.to_json();
}

Result<std::unique_ptr<UploadWriter>> S3BlobStore::append_upload(const std::string& upload_id, const std::string& state,
                                                                 uint64_t offset) {
  auto st = load_upload(upload_id, state);
  if (!st.ok()) return st.status();
  const uint64_t total = st->total();
  if (offset > total) {
    return Status(Errc::blob_upload_invalid,
                  "upload holds " + std::to_string(total) + " bytes, fewer than offset " + std::to_string(offset));
  }
  const uint64_t parts_total = st->parts_total();
  if (offset >= parts_total) {
    // Rewind within the staged bytes: use fewer of them; segments are never rewritten.
    uint64_t keep = offset - parts_total;
    for (auto& seg : st->segments) {
      seg.used = std::min(seg.used, keep);
      keep -= seg.used;
    }
    std::erase_if(st->segments, [](const auto& s) { return s.used == 0; });
  } else {
    uint64_t acc = 0;
    size_t k = 0;
    while (k < st->parts.size() && acc + st->parts[k].size <= offset) acc += st->parts[k++].size;
    if (acc != offset) {
      return Status(Errc::blob_upload_invalid, "cannot rewind upload " + upload_id + " into a part already sent");
    }
    st->parts.resize(k);
    st->segments.clear();
  }
  return std::unique_ptr<UploadWriter>(new S3UploadWriter(*this, upload_id, std::move(*st)));
}

Status S3BlobStore::read_staged(const std::string& upload_id, const UploadState& st, uint64_t limit,
                                std::string& out) {
  out.reserve(out.size() + static_cast<size_t>(std::min(limit, st.staged())));
  for (const auto& seg : st.segments) {
    if (limit == 0) break;
    const uint64_t n = std::min(seg.used, limit);
    if (n == 0) continue;
    auto r = client_->call("GET", upload_prefix(upload_id) + seg.name, {},
                           {{"range", "bytes=0-" + std::to_string(n - 1)}});
    if (!r.ok()) return r.status();
    if (failed(*r)) return S3Client::error_of(*r, "read staged bytes of upload " + upload_id);
    if (r->body.size() != n) return Status(Errc::io_error, "staged bytes of upload " + upload_id + " are short");
    out += r->body;
    limit -= n;
  }
  return Status::Ok();
}

Status S3BlobStore::assemble(const std::string& upload_id, UploadState& st) {
  const std::string data = upload_prefix(upload_id) + "data";
  auto h = head(data);
  if (h.ok()) {
    if (*h == st.total()) return Status::Ok();  // assembled by an earlier read_upload
    return Status(Errc::blob_upload_invalid, "upload " + upload_id + " changed after it was assembled");
  }
  if (h.status().code() != Errc::not_found) return h.status();
  if (!st.segments.empty()) {
    // The staged bytes become the last part, which may be small. Fewer than part_size bytes in memory.
    std::string last;
    BERTH_RETURN_IF_ERROR(read_staged(upload_id, st, st.staged(), last));
    const uint64_t number = st.parts.size() + 1;
    auto r = client_->call("PUT", data, {{"partNumber", std::to_string(number)}, {"uploadId", st.multipart_id}}, {},
                           last);
    if (!r.ok()) return r.status();
    if (failed(*r)) return S3Client::error_of(*r, "upload last part");
    st.parts.push_back({number, r->header("etag"), last.size()});
    st.segments.clear();
  }
  std::string xml = "<CompleteMultipartUpload>";
  for (const auto& p : st.parts) {
    xml += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>" + xml_escape(p.etag) + "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  auto r = client_->call("POST", data, {{"uploadId", st.multipart_id}}, {}, xml);
  if (!r.ok()) return r.status();
  if (r->status == 404) return Status(Errc::blob_upload_invalid, "multipart upload of " + upload_id + " is gone");
  if (failed(*r)) return S3Client::error_of(*r, "complete multipart upload");
  return Status::Ok();
}

Result<std::unique_ptr<ByteSource>> S3BlobStore::read_upload(const std::string& upload_id, const std::string& state,
                                                            uint64_t size) {
  auto st = load_upload(upload_id, state);
  if (!st.ok()) return st.status();
  if (st->total() < size) {
    return Status(Errc::blob_upload_invalid, "upload holds fewer than " + std::to_string(size) + " bytes");
  }
  if (size == 0) return std::unique_ptr<ByteSource>(new EmptySource());
  if (st->parts.empty()) {
    std::vector<std::pair<std::string, uint64_t>> pieces;
    uint64_t left = size;
    for (const auto& seg : st->segments) {
      if (left == 0) break;
      uint64_t n = std::min(seg.used, left);
      pieces.emplace_back(upload_prefix(upload_id) + seg.name, n);
      left -= n;
    }
    return std::unique_ptr<ByteSource>(new SegmentsSource(*client_, std::move(pieces)));
  }
  BERTH_RETURN_IF_ERROR(assemble(upload_id, *st));
  return client_->get_range(upload_prefix(upload_id) + "data", 0, size);
}

Status S3BlobStore::copy_range(const std::string& from, uint64_t size, const std::string& to) {
  const std::string source = "/" + client_->options().bucket + "/" + sigv4::uri_encode(from, false);
  auto full = head(from);
  if (!full.ok()) return full.status();
  if (*full == size && size <= kMaxCopySize) {
    auto r = client_->call("PUT", to, {}, {{"x-amz-copy-source", source}});
    if (!r.ok()) return r.status();
    if (failed(*r)) return S3Client::error_of(*r, "copy to blob");
    return Status::Ok();
  }
  // Part of the object, or more than one CopyObject may copy: a multipart copy of byte ranges.
  uint64_t chunk = std::max<uint64_t>(client_->options().part_size, 64ull << 20);
  chunk = std::min(std::max(chunk, (size + kMaxParts - 1) / kMaxParts), kMaxCopySize);
  auto created = client_->call("POST", to, {{"uploads", ""}});
  if (!created.ok()) return created.status();
  if (failed(*created)) return S3Client::error_of(*created, "create multipart copy");
  const std::string mp = xml_first(created->body, "UploadId");
  std::string xml = "<CompleteMultipartUpload>";
  Status result;
  for (uint64_t off = 0, n = 1; off < size && result.ok(); off += chunk, ++n) {
    uint64_t end = std::min(size, off + chunk) - 1;
    auto r = client_->call("PUT", to, {{"partNumber", std::to_string(n)}, {"uploadId", mp}},
                           {{"x-amz-copy-source", source},
                            {"x-amz-copy-source-range", "bytes=" + std::to_string(off) + "-" + std::to_string(end)}});
    if (!r.ok()) result = r.status();
    else if (failed(*r)) result = S3Client::error_of(*r, "copy part to blob");
    else xml += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" + xml_escape(xml_first(r->body, "ETag")) +
                "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  if (result.ok()) {
    auto r = client_->call("POST", to, {{"uploadId", mp}}, {}, xml);
    if (!r.ok()) result = r.status();
    else if (failed(*r)) result = S3Client::error_of(*r, "complete multipart copy");
  }
  // Nothing half-copied may linger: the blob key receives whole content or nothing.
  if (!result.ok()) (void)client_->call("DELETE", to, {{"uploadId", mp}});
  return result;
}

Status S3BlobStore::commit_upload(const std::string& upload_id, const std::string& state, const oci::Digest& digest,
                                  uint64_t size) {
  auto st = load_upload(upload_id, state);
  if (!st.ok()) return st.status();
  if (st->total() < size) {
    return Status(Errc::blob_upload_invalid, "upload holds " + std::to_string(st->total()) +
                                                 " bytes, fewer than the " + std::to_string(size) + " to commit");
  }
  const std::string key = blob_key(digest);
  auto existing = head(key);
  if (!existing.ok() && existing.status().code() != Errc::not_found) return existing.status();
  // A blob of another size under this digest can only be damage: it is replaced by the verified bytes.
  if (!existing.ok() || *existing != size) {
    if (st->parts.empty()) {
      // Fewer than part_size bytes, all staged: read them and put the blob in one request.
      std::string body;
      BERTH_RETURN_IF_ERROR(read_staged(upload_id, *st, size, body));
      auto r = client_->call("PUT", key, {}, {}, body);
      if (!r.ok()) return r.status();
      if (failed(*r)) return S3Client::error_of(*r, "put blob");
    } else {
      BERTH_RETURN_IF_ERROR(assemble(upload_id, *st));
      BERTH_RETURN_IF_ERROR(copy_range(upload_prefix(upload_id) + "data", size, key));
    }
  }
  return delete_upload_objects(upload_id);
}

Status S3BlobStore::delete_upload_objects(const std::string& upload_id) {
  const std::string prefix = upload_prefix(upload_id);
  // Multipart uploads first (an interrupted append may have started more than one), then the objects,
  // the marker last: if this fails midway the upload still exists and abort can be retried.
  std::string key_marker, id_marker;
  for (;;) {
    auto page = client_->list_multipart_uploads(prefix, key_marker, id_marker, 1000);
    if (!page.ok()) return page.status();
    for (const auto& u : page->uploads) {
      if (u.key.rfind(prefix, 0) != 0) continue;
      auto r = client_->call("DELETE", u.key, {{"uploadId", u.upload_id}});
      if (!r.ok()) return r.status();
      if (failed(*r) && r->status != 404) return S3Client::error_of(*r, "abort multipart upload");
    }
    if (!page->truncated) break;
    key_marker = page->next_key_marker;
    id_marker = page->next_upload_id_marker;
  }
  std::vector<std::string> objects;
  std::string token;
  do {
    auto page = client_->list_objects(prefix, "", token, 1000);
    if (!page.ok()) return page.status();
    for (auto& o : page->objects) objects.push_back(std::move(o.key));
    token = page->next_token;
  } while (!token.empty());
  const std::string marker = prefix + "info";
  std::stable_partition(objects.begin(), objects.end(), [&](const std::string& k) { return k != marker; });
  for (const auto& k : objects) {
    if (k.rfind(prefix, 0) != 0) continue;
    auto r = client_->call("DELETE", k, {});
    if (!r.ok()) return r.status();
    if (failed(*r) && r->status != 404) return S3Client::error_of(*r, "delete upload object");
  }
  return Status::Ok();
}

Status S3BlobStore::abort_upload(const std::string& upload_id, const std::string& state) {
  if (!is_valid_upload_id(upload_id)) return invalid_upload_id();
  return delete_upload_objects(upload_id);
}

Status S3BlobStore::remove_upload_leftovers(const std::string& upload_id) {
  if (!is_valid_upload_id(upload_id)) return invalid_upload_id();
  // Abort never needed the state: everything of the upload is found by listing under uploads/<id>/.
  return delete_upload_objects(upload_id);
}

Result<std::vector<StoredObject>> S3BlobStore::list_blobs(const std::string& after, size_t limit) {
  std::vector<StoredObject> out;
  if (limit == 0) return out;
  const std::string area = client_->options().prefix + "blobs/";
  // Keys are <alg>/<hex> where digests are <alg>:<hex>: for valid digests the two orders agree, so the
  // listing starts after the key of `after` and S3's key order is the digests' order.
  std::string start;
  if (!after.empty()) {
    start = area + after;
    if (size_t colon = start.find(':', area.size()); colon != std::string::npos) start[colon] = '/';
  }
  std::string token;
  do {
    // Each request asks only for what the page still lacks; skipped names cost another request.
    auto page = client_->list_objects(area, start, token, limit - out.size());
    if (!page.ok()) return page.status();
    for (auto& o : page->objects) {
      if (o.key.rfind(area, 0) != 0) continue;
      std::string name = o.key.substr(area.size());
      size_t slash = name.find('/');
      if (slash == std::string::npos) continue;
      name[slash] = ':';
      auto digest = oci::Digest::parse(name);
      // blob_key(digest) == key: a name nested deeper, or spelled otherwise, is not that blob.
      if (!digest.ok() || blob_key(*digest) != o.key || digest->str() <= after) continue;
      out.push_back({std::move(*digest), o.size, o.last_modified});
      if (out.size() == limit) return out;
    }
    token = page->next_token;
  } while (!token.empty());
  return out;
}

Result<std::vector<StoredUpload>> S3BlobStore::list_uploads(const std::string& after, size_t limit) {
  std::vector<StoredUpload> out;
  if (limit == 0) return out;
  const std::string area = client_->options().prefix + "uploads/";
  // The id a key under uploads/ belongs to, or "" when it is not one to report on this page.
  auto id_of = [&](const std::string& key) {
    size_t slash = key.rfind(area, 0) == 0 ? key.find('/', area.size()) : std::string::npos;
    if (slash == std::string::npos) return std::string();
    std::string id = key.substr(area.size(), slash - area.size());
    return is_valid_upload_id(id) && id > after ? id : std::string();
  };
  // Keys of the upload `after` itself sort after this start too; id_of drops them.
  const std::string start = after.empty() ? std::string() : area + after;
  std::map<std::string, int64_t> found;  // id -> latest write seen; at most limit + 1 entries
  // Objects (info marker, staged segments, assembled data): no valid id is a prefix of another, so the
  // keys come grouped by id in id order. Reading stops at the first id beyond `limit` of them, once the
  // times of those kept are complete.
  std::string token;
  do {
    auto page = client_->list_objects(area, start, token, limit + 1);
    if (!page.ok()) return page.status();
    token = page->next_token;
    for (const auto& o : page->objects) {
      std::string id = id_of(o.key);
      if (id.empty()) continue;
      if (found.size() == limit && !found.contains(id)) {
        token.clear();
        break;
      }
      int64_t& t = found[id];
      t = std::max(t, o.last_modified);
    }
  } while (!token.empty());
  // Multipart uploads, also by key: an upload may hold one without any object left (its objects were
  // removed by hand or by a failed abort). The time is the Initiated one: the parts' own times would
  // take a ListParts per upload. Merged in, keeping the first `limit` ids.
  std::string key_marker = start, id_marker;
  for (bool more = true; more;) {
    auto page = client_->list_multipart_uploads(area, key_marker, id_marker, limit + 1);
    if (!page.ok()) return page.status();
    more = page->truncated;
    key_marker = page->next_key_marker;
    id_marker = page->next_upload_id_marker;
    for (const auto& u : page->uploads) {
      std::string id = id_of(u.key);
      if (id.empty()) continue;
      if (found.size() == limit && id > found.rbegin()->first) {
        more = false;
        break;
      }
      int64_t& t = found[id];
      t = std::max(t, u.initiated);
      if (found.size() > limit) found.erase(std::prev(found.end()));
    }
  }
  for (auto& [id, t] : found) out.push_back({id, t});
  return out;
}

std::string S3BlobStore::presign_get(const oci::Digest& digest, uint64_t expires_seconds, std::time_t now) {
  return client_->presign_get(blob_key(digest), expires_seconds, now);
}

}  // namespace berth::storage
