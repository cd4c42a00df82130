#include "storage/sigv4.h"


#include <algorithm>
#include <cstdio>

#include "common/hasher.h"

namespace berth::storage::sigv4 {

namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Trims spaces and tabs at both ends and collapses inner runs to one space. Only ASCII blanks: a byte
// such as 0xA0 is part of the value as far as the server's canonicalization is concerned.
std::string trim_collapse(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

std::string join_query(const Params& encoded_sorted) {
  std::string out;
  for (const auto& [k, v] : encoded_sorted) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

Params encode_and_sort(const Params& query) {
  Params enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(uri_encode(k), uri_encode(v));
  std::sort(enc.begin(), enc.end());
  return enc;
}

}  // namespace

std::string uri_encode(std::string_view s, bool encode_slash) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (c == '/' && !encode_slash)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back("0123456789ABCDEF"[c >> 4]);
      out.push_back("0123456789ABCDEF"[c & 0xf]);
    }
  }
  return out;
}

std::string amz_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[72];  // room for any int the compiler can imagine; real dates use 17
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string canonical_uri(std::string_view path) {
  if (path.empty()) return "/";
  std::string out = uri_encode(path, false);
  if (out.front() != '/') out.insert(out.begin(), '/');
  return out;
}

std::string canonical_query(const Params& query) { return join_query(encode_and_sort(query)); }

std::pair<std::string, std::string> canonical_headers(const Params& headers) {
  // Stable sort on the lowercased name keeps repeated headers in the order they were given, which is
  // the order their values are joined in.
  std::vector<std::pair<std::string, std::string>> lowered;
  lowered.reserve(headers.size());
  for (const auto& [k, v] : headers) {
    std::string name(k);
    std::transform(name.begin(), name.end(), name.begin(), lower);
    lowered.emplace_back(std::move(name), trim_collapse(v));
  }
  std::stable_sort(lowered.begin(), lowered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string block, names;
  for (size_t i = 0; i < lowered.size(); ++i) {
    if (i > 0 && lowered[i].first == lowered[i - 1].first) {
      block.pop_back();  // the '\n' of the previous line: same header, value appended
      block.push_back(',');
    } else {
      if (!names.empty()) names.push_back(';');
      names += lowered[i].first;
      block += lowered[i].first;
      block.push_back(':');
    }
    block += lowered[i].second;
    block.push_back('\n');
  }
  return {std::move(block), std::move(names)};
}

namespace {

std::string canonical_request_with(const Request& request, const std::string& block, const std::string& names) {
  std::string out;
  out += request.method;
  out.push_back('\n');
  out += canonical_uri(request.path);
  out.push_back('\n');
  out += canonical_query(request.query);
  out.push_back('\n');
  out += block;
  out.push_back('\n');
  out += names;
  out.push_back('\n');
  out += request.payload_hash;
  return out;
}

}  // namespace

std::string canonical_request(const Request& request) {
  auto [block, names] = canonical_headers(request.headers);
  return canonical_request_with(request, block, names);
}

std::string credential_scope(std::string_view amz_date, std::string_view region, std::string_view service) {
  std::string out(amz_date.substr(0, 8));
  out.push_back('/');
  out += region;
  out.push_back('/');
  out += service;
  out += "/aws4_request";
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.push_back('\n');
  out += amz_date;
  out.push_back('\n');
  out += scope;
  out.push_back('\n');
  out += berth::sha256_hex(canonical_request);
  return out;
}

std::string signing_key(std::string_view secret_key, std::string_view amz_date, std::string_view region,
                        std::string_view service) {
  std::string k = "AWS4";
  k += secret_key;
  std::string date_key = hmac_sha256(k, amz_date.substr(0, 8));
  // Overwrite the copy of the secret rather than leave it in freed heap memory.
  std::fill(k.begin(), k.end(), '\0');
  return hmac_sha256(hmac_sha256(hmac_sha256(date_key, region), service), "aws4_request");
}

std::string signature(std::string_view signing_key, std::string_view string_to_sign) {
  std::string mac = hmac_sha256(signing_key, string_to_sign);
  return to_hex(mac);
}

Signed sign(const Request& request, const Credentials& credentials, std::string_view region,
            std::string_view service, std::string_view amz_date) {
  Signed out;
  const auto [block, names] = canonical_headers(request.headers);
  out.canonical_request = canonical_request_with(request, block, names);
  const std::string scope = credential_scope(amz_date, region, service);
  out.string_to_sign = string_to_sign(amz_date, scope, out.canonical_request);
  out.signature = signature(signing_key(credentials.secret_key, amz_date, region, service), out.string_to_sign);
  out.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key + "/" + scope +
                      ", SignedHeaders=" + names +
                      ", Signature=" + out.signature;
  return out;
}

Presigned presign(const Request& request, const Credentials& credentials, std::string_view region,
                  std::string_view service, std::string_view amz_date, uint64_t expires_seconds) {
  const std::string scope = credential_scope(amz_date, region, service);
  Request r = request;
  r.query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  r.query.emplace_back("X-Amz-Credential", credentials.access_key + "/" + scope);
  r.query.emplace_back("X-Amz-Date", std::string(amz_date));
  r.query.emplace_back("X-Amz-Expires", std::to_string(expires_seconds));
  if (!credentials.session_token.empty()) r.query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  r.query.emplace_back("X-Amz-SignedHeaders", canonical_headers(request.headers).second);

  Presigned out;
  out.canonical_request = canonical_request(r);
  out.string_to_sign = string_to_sign(amz_date, scope, out.canonical_request);
  out.signature = signature(signing_key(credentials.secret_key, amz_date, region, service), out.string_to_sign);
  out.query = canonical_query(r.query) + "&X-Amz-Signature=" + out.signature;
  return out;
}

}  // namespace berth::storage::sigv4
