#include "storage/s3_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <mutex>

#include "common/base64.h"
#include "common/hasher.h"

namespace berth::storage {

namespace {

std::once_flag g_curl_init;

size_t append_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t append_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  std::string_view line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    headers->emplace_back(std::move(name), std::string(value));
  } else if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new response (after 100 Continue or a redirect): forget the previous headers
  }
  return size * n;
}

// Transport failures that mean "the server is not there (now)": the caller may retry later.
Status curl_error(CURLcode code, std::string_view what) {
  std::string msg = std::string(what) + ": " + curl_easy_strerror(code);
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
      return Status(Errc::unavailable, "S3 endpoint unavailable: " + msg);
    default:
      return Status(Errc::io_error, "S3 " + msg);
  }
}

std::string xml_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}, {"&#34;", '"'}, {"&#39;", '\''}};
    bool done = false;
    for (auto [ent, ch] : kEntities) {
      if (s.substr(i, ent.size()) == ent) {
        out.push_back(ch);
        i += ent.size() - 1;
        done = true;
        break;
      }
    }
    if (!done) out.push_back('&');
  }
  return out;
}

}  // namespace

std::string HttpResult::header(std::string_view lowercase_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lowercase_name) return v;
  }
  return std::string();
}

namespace {

// The text of the first <tag>…</tag> at or after `pos`, unescaped; advances `pos` past it.
bool xml_next(std::string_view xml, std::string_view open, std::string_view close, size_t& pos, std::string& out) {
  size_t a = xml.find(open, pos);
  if (a == std::string_view::npos) return false;
  a += open.size();
  size_t b = xml.find(close, a);
  if (b == std::string_view::npos) return false;
  out = xml_unescape(xml.substr(a, b - a));
  pos = b + close.size();
  return true;
}

}  // namespace

std::vector<std::string> xml_all(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  for (std::string text; xml_next(xml, open, close, pos, text);) out.push_back(std::move(text));
  return out;
}

std::string xml_first(std::string_view xml, std::string_view tag) {
  size_t pos = 0;
  std::string text;
  xml_next(xml, "<" + std::string(tag) + ">", "</" + std::string(tag) + ">", pos, text);
  return text;
}

std::vector<std::string_view> xml_blocks(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  for (size_t pos = 0;;) {
    size_t a = xml.find(open, pos);
    if (a == std::string_view::npos) break;
    a += open.size();
    size_t b = xml.find(close, a);
    if (b == std::string_view::npos) break;
    out.push_back(xml.substr(a, b - a));
    pos = b + close.size();
  }
  return out;
}

std::optional<int64_t> parse_s3_time(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS, then optional fractional seconds, then Z (S3 always answers in UTC).
  if (text.size() < 20) return std::nullopt;
  auto field = [&](size_t at, size_t len, int& v) {
    auto r = std::from_chars(text.data() + at, text.data() + at + len, v);
    return r.ec == std::errc() && r.ptr == text.data() + at + len;
  };
  std::tm tm{};
  if (!field(0, 4, tm.tm_year) || text[4] != '-' || !field(5, 2, tm.tm_mon) || text[7] != '-' ||
      !field(8, 2, tm.tm_mday) || text[10] != 'T' || !field(11, 2, tm.tm_hour) || text[13] != ':' ||
      !field(14, 2, tm.tm_min) || text[16] != ':' || !field(17, 2, tm.tm_sec)) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(19);
  if (rest.front() == '.') {
    size_t digits = rest.find_first_not_of("0123456789", 1);
    if (digits == 1 || digits == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(digits);
  }
  if (rest != "Z" || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(::timegm(&tm));
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

Result<std::unique_ptr<S3Client>> S3Client::create(S3Options options) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (options.bucket.empty()) return Status(Errc::invalid_argument, "S3: bucket is required");
  if (options.access_key.empty() || options.secret_key.empty()) {
    return Status(Errc::invalid_argument, "S3: access key and secret key are required");
  }
  std::string_view ep = options.endpoint;
  size_t sep = ep.find("://");
  if (sep == std::string_view::npos) return Status(Errc::invalid_argument, "S3: endpoint must be an http(s) URL");
  std::string scheme(ep.substr(0, sep));
  if (scheme != "http" && scheme != "https") return Status(Errc::invalid_argument, "S3: endpoint must be http or https");
  std::string_view rest = ep.substr(sep + 3);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return Status(Errc::invalid_argument, "S3: endpoint must be scheme://host[:port] without a path");
  }
  if (!options.path_style) {
    // Virtual-hosted: the bucket becomes the first label of the host name, so the endpoint must be a
    // name (BUCKET.1.2.3.4 names nothing) and the bucket a valid DNS label sequence.
    std::string_view host = rest;
    if (!host.empty() && host.front() == '[') {
      return Status(Errc::invalid_argument, "S3: path_style false needs an endpoint host name, not an IP address");
    }
    if (size_t colon = host.rfind(':'); colon != std::string_view::npos) host = host.substr(0, colon);
    if (!host.empty() && host.find_first_not_of("0123456789.") == std::string_view::npos) {
      return Status(Errc::invalid_argument, "S3: path_style false needs an endpoint host name, not an IP address");
    }
    const std::string& b = options.bucket;
    if (b.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos || b.front() == '.' ||
        b.front() == '-' || b.back() == '.' || b.back() == '-' || b.find("..") != std::string::npos) {
      return Status(Errc::invalid_argument, "S3: with path_style false the bucket must be a DNS name "
                                            "(lowercase letters, digits, '-', '.')");
    }
  }
  auto client = std::unique_ptr<S3Client>(new S3Client(std::move(options)));
  client->scheme_ = std::move(scheme);
  client->authority_ = std::string(rest);
  // The default port is left out of Host by curl; sign what is sent.
  std::string_view dflt = client->scheme_ == "https" ? ":443" : ":80";
  if (client->authority_.size() > dflt.size() &&
      std::string_view(client->authority_).substr(client->authority_.size() - dflt.size()) == dflt) {
    client->authority_.resize(client->authority_.size() - dflt.size());
  }
  return client;
}

S3Client::~S3Client() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* S3Client::acquire_handle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void S3Client::release_handle(void* handle) {
  if (!handle) return;
  // reset clears the options of the last request but keeps the handle's open connections.
  curl_easy_reset(static_cast<CURL*>(handle));
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < options_.max_idle_connections) {
    idle_.push_back(handle);
    return;
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

S3Client::Target S3Client::target(const std::string& key, const sigv4::Params& query) const {
  Target t;
  if (options_.path_style) {
    t.host = authority_;
    t.canonical_path = "/" + options_.bucket + "/" + key;
  } else {
    t.host = options_.bucket + "." + authority_;
    t.canonical_path = "/" + key;
  }
  t.url = scheme_ + "://" + t.host + sigv4::canonical_uri(t.canonical_path);
  std::string q = sigv4::canonical_query(query);
  if (!q.empty()) t.url += "?" + q;
  return t;
}

void* S3Client::prepare(void* handle, std::string_view method, const std::string& key, const sigv4::Params& query,
                        const sigv4::Params& headers, const std::string& payload_hash) {
  CURL* curl = static_cast<CURL*>(handle);
  Target t = target(key, query);
  const std::string date = sigv4::amz_date(std::time(nullptr));
  sigv4::Params signed_headers = headers;
  signed_headers.emplace_back("host", t.host);
  signed_headers.emplace_back("x-amz-date", date);
  signed_headers.emplace_back("x-amz-content-sha256", payload_hash);
  if (!options_.session_token.empty()) signed_headers.emplace_back("x-amz-security-token", options_.session_token);
  sigv4::Request req{std::string(method), t.canonical_path, query, signed_headers, payload_hash};
  sigv4::Credentials creds{options_.access_key, options_.secret_key, options_.session_token};
  sigv4::Signed s = sigv4::sign(req, creds, options_.region, "s3", date);

  curl_slist* list = nullptr;
  for (const auto& [k, v] : signed_headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  list = curl_slist_append(list, ("Authorization: " + s.authorization).c_str());
  // No "Expect: 100-continue" round trip before each part, and no default form content type.
  list = curl_slist_append(list, "Expect:");
  list = curl_slist_append(list, "Content-Type:");

  curl_easy_setopt(curl, CURLOPT_URL, t.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.idle_timeout_s);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
  }
  return list;
}

Result<HttpResult> S3Client::call(std::string_view method, const std::string& key, const sigv4::Params& query,
                                  const sigv4::Params& headers, std::string_view body) {
  CURL* curl = static_cast<CURL*>(acquire_handle());
  if (!curl) return Status(Errc::internal, "S3: curl_easy_init failed");
  auto* list = static_cast<curl_slist*>(prepare(curl, method, key, query, headers, payload_hash(body)));
  HttpResult out;
  if (method == "PUT" || method == "POST") {
    // POSTFIELDS with a custom method sends the body as is, with its length, for PUT and POST alike.
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    // Never NULL: curl would then read the body from stdin-like callbacks instead.
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data() ? body.data() : "");
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &out.headers);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  curl_slist_free_all(list);
  release_handle(curl);
  if (rc != CURLE_OK) return curl_error(rc, std::string(method) + " " + key);
  return out;
}

Status S3Client::error_of(const HttpResult& r, std::string_view what) {
  std::string code = xml_first(r.body, "Code");
  std::string msg = std::string(what) + ": HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code);
  if (r.status == 404) return Status(Errc::not_found, msg);
  if (r.status == 503 || code == "SlowDown") return Status(Errc::unavailable, "S3 " + msg);
  return Status(Errc::io_error, "S3 " + msg);
}

namespace {

// S3 may answer 200 with an <Error> body; any other status than 2xx is a failure too.
bool list_failed(const HttpResult& r) {
  return r.status < 200 || r.status >= 300 || r.body.find("<Error>") != std::string::npos;
}

std::string page_size(size_t n) { return std::to_string(std::clamp<size_t>(n, 1, 1000)); }

}  // namespace

Result<S3ObjectPage> S3Client::list_objects(const std::string& prefix, const std::string& start_after,
                                            const std::string& continuation_token, size_t max_keys) {
  sigv4::Params q{{"list-type", "2"}, {"prefix", prefix}, {"max-keys", page_size(max_keys)}};
  if (!continuation_token.empty()) q.emplace_back("continuation-token", continuation_token);
  else if (!start_after.empty()) q.emplace_back("start-after", start_after);
  auto r = call("GET", "", q);
  if (!r.ok()) return r.status();
  if (list_failed(*r)) return error_of(*r, "list objects under " + prefix);
  S3ObjectPage page;
  for (std::string_view block : xml_blocks(r->body, "Contents")) {
    S3Object o;
    o.key = xml_first(block, "Key");
    const std::string size = xml_first(block, "Size");
    auto parsed = std::from_chars(size.data(), size.data() + size.size(), o.size);
    auto modified = parse_s3_time(xml_first(block, "LastModified"));
    // An entry without a readable time or size is refused rather than guessed: a listing feeds garbage
    // collection, for which a made-up "old" time would mean deleting.
    if (o.key.empty() || size.empty() || parsed.ec != std::errc() || parsed.ptr != size.data() + size.size() ||
        !modified) {
      return Status(Errc::io_error, "S3 list objects under " + prefix + ": malformed entry");
    }
    o.last_modified = *modified;
    page.objects.push_back(std::move(o));
  }
  if (xml_first(r->body, "IsTruncated") == "true") {
    page.next_token = xml_first(r->body, "NextContinuationToken");
    // A token that does not move would have the caller ask for the same page forever.
    if (page.next_token.empty() || page.next_token == continuation_token) {
      return Status(Errc::io_error, "S3 list objects under " + prefix + ": truncated without a new continuation token");
    }
  }
  return page;
}

Result<S3MultipartPage> S3Client::list_multipart_uploads(const std::string& prefix, const std::string& key_marker,
                                                         const std::string& upload_id_marker, size_t max_uploads) {
  sigv4::Params q{{"uploads", ""}, {"prefix", prefix}, {"max-uploads", page_size(max_uploads)}};
  if (!key_marker.empty()) q.emplace_back("key-marker", key_marker);
  if (!upload_id_marker.empty()) q.emplace_back("upload-id-marker", upload_id_marker);
  auto r = call("GET", "", q);
  if (!r.ok()) return r.status();
  if (list_failed(*r)) return error_of(*r, "list multipart uploads under " + prefix);
  S3MultipartPage page;
  for (std::string_view block : xml_blocks(r->body, "Upload")) {
    S3MultipartUpload u;
    u.key = xml_first(block, "Key");
    u.upload_id = xml_first(block, "UploadId");
    auto initiated = parse_s3_time(xml_first(block, "Initiated"));
    if (u.key.empty() || u.upload_id.empty() || !initiated) {
      return Status(Errc::io_error, "S3 list multipart uploads under " + prefix + ": malformed entry");
    }
    u.initiated = *initiated;
    page.uploads.push_back(std::move(u));
  }
  page.truncated = xml_first(r->body, "IsTruncated") == "true";
  page.next_key_marker = xml_first(r->body, "NextKeyMarker");
  page.next_upload_id_marker = xml_first(r->body, "NextUploadIdMarker");
  if (page.truncated && (page.next_key_marker.empty() || (page.next_key_marker == key_marker &&
                                                          page.next_upload_id_marker == upload_id_marker))) {
    return Status(Errc::io_error, "S3 list multipart uploads under " + prefix + ": truncated without new markers");
  }
  return page;
}

namespace {
// DeleteObjects requires Content-MD5 (AWS; radosgw checks it when present).
std::string content_md5(std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr) != 1) return {};
  return base64_encode(std::string_view(reinterpret_cast<const char*>(md), len));
}
}  // namespace

Status S3Client::delete_objects(const std::vector<std::string>& keys) {
  for (size_t first = 0; first < keys.size(); first += kMaxDeleteKeys) {
    const size_t end = std::min(keys.size(), first + kMaxDeleteKeys);
    std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>";
    for (size_t i = first; i < end; ++i) body += "<Object><Key>" + xml_escape(keys[i]) + "</Key></Object>";
    body += "</Delete>";
    sigv4::Params headers{{"content-type", "application/xml"}};
    if (std::string md5 = content_md5(body); !md5.empty()) headers.emplace_back("content-md5", md5);
    auto r = call("POST", "", {{"delete", ""}}, headers, body);
    if (!r.ok()) return r.status();
    if (r->status < 200 || r->status >= 300) return error_of(*r, "delete objects");
    // Quiet mode lists only the keys that failed. A missing key is not one (S3 deletes are idempotent).
    for (std::string_view failure : xml_blocks(r->body, "Error")) {
      const std::string code = xml_first(failure, "Code");
      if (code == "NoSuchKey") continue;
      return Status(code == "SlowDown" ? Errc::unavailable : Errc::io_error,
                    "S3 delete objects: " + xml_first(failure, "Key") + ": " + code);
    }
  }
  return Status::Ok();
}

std::string S3Client::payload_hash(std::string_view body) const {
  if (options_.endpoint.rfind("https://", 0) == 0) return std::string(sigv4::kUnsignedPayload);
  return berth::sha256_hex(body);
}

std::string S3Client::presign_get(const std::string& key, uint64_t expires_seconds, std::time_t now) {
  Target t = target(key, {});
  sigv4::Request req{"GET", t.canonical_path, {}, {{"host", t.host}}, std::string(sigv4::kUnsignedPayload)};
  sigv4::Credentials creds{options_.access_key, options_.secret_key, options_.session_token};
  sigv4::Presigned p = sigv4::presign(req, creds, options_.region, "s3", sigv4::amz_date(now), expires_seconds);
  return t.url + "?" + p.query;
}

// A ranged GET read through a bounded buffer: curl's multi interface drives the transfer only while the
// reader asks for bytes, and pauses it when the buffer is full, so a slow reader never makes the whole
// object pile up in memory.
class S3RangeStream final : public ByteSource {
 public:
  static constexpr size_t kBufferLimit = 256 * 1024;

  S3RangeStream(S3Client& client, std::string key, uint64_t length)
      : client_(client), key_(std::move(key)), remaining_(length) {}

  ~S3RangeStream() override {
    if (multi_) {
      curl_multi_remove_handle(multi_, curl_);
      curl_multi_cleanup(multi_);
    }
    if (list_) curl_slist_free_all(list_);
    if (curl_) {
      // A transfer abandoned midway leaves its connection unusable: do not pool the handle.
      if (finished_) client_.release_handle(curl_);
      else curl_easy_cleanup(curl_);
    }
  }

  Status start(uint64_t offset) {
    curl_ = static_cast<CURL*>(client_.acquire_handle());
    multi_ = curl_multi_init();
    if (!curl_ || !multi_) return Status(Errc::internal, "S3: curl init failed");
    std::string range = "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + remaining_ - 1);
    list_ = static_cast<curl_slist*>(client_.prepare(curl_, "GET", key_, {}, {{"range", range}},
                                                     std::string(sigv4::kEmptyPayloadHash)));
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &S3RangeStream::on_data);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
    curl_multi_add_handle(multi_, curl_);
    return Status::Ok();
  }

  Result<size_t> read(char* buffer, size_t capacity) override {
    while (pos_ == buf_.size()) {
      if (!error_.ok()) return error_;
      if (finished_) {
        if (remaining_ != 0) return Status(Errc::io_error, "S3 GET " + key_ + ": object ended early");
        return size_t{0};
      }
      buf_.clear();
      pos_ = 0;
      if (paused_) {
        paused_ = false;
        curl_easy_pause(curl_, CURLPAUSE_CONT);  // may deliver data into buf_ right away
        continue;
      }
      pump();
    }
    size_t n = std::min(capacity, buf_.size() - pos_);
    std::memcpy(buffer, buf_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  void pump() {
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi_, &running);
    if (mc != CURLM_OK) {
      error_ = Status(Errc::io_error, std::string("S3 GET: ") + curl_multi_strerror(mc));
      return;
    }
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      finished_ = true;
      if (msg->data.result != CURLE_OK) error_ = curl_error(msg->data.result, "GET " + key_);
      else if (status() >= 300) error_ = S3Client::error_of(HttpResult{status(), err_body_, {}}, "GET " + key_);
    }
    if (!finished_ && pos_ == buf_.size() && !paused_) curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }

  long status() {
    long s = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &s);
    return s;
  }

  static size_t on_data(char* data, size_t size, size_t n, void* user) {
    auto* self = static_cast<S3RangeStream*>(user);
    size_t len = size * n;
    if (self->status_ == 0) self->status_ = self->status();
    if (self->status_ >= 300) {
      if (self->err_body_.size() < 16384) self->err_body_.append(data, len);
      return len;
    }
    if (self->buf_.size() - self->pos_ >= kBufferLimit) {
      self->paused_ = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    if (len > self->remaining_) {
      self->error_ = Status(Errc::io_error, "S3 GET " + self->key_ + ": more bytes than the range asked for");
      return 0;
    }
    self->buf_.append(data, len);
    self->remaining_ -= len;
    return len;
  }

  S3Client& client_;
  std::string key_;
  uint64_t remaining_;
  CURL* curl_ = nullptr;
  CURLM* multi_ = nullptr;
  curl_slist* list_ = nullptr;
  std::string buf_;
  size_t pos_ = 0;
  bool paused_ = false;
  bool finished_ = false;
  long status_ = 0;
  std::string err_body_;
  Status error_;
};

Result<std::unique_ptr<ByteSource>> S3Client::get_range(const std::string& key, uint64_t offset, uint64_t length) {
  auto stream = std::make_unique<S3RangeStream>(*this, key, length);
  BERTH_RETURN_IF_ERROR(stream->start(offset));
  return std::unique_ptr<ByteSource>(std::move(stream));
}

}  // namespace berth::storage
