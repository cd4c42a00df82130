#include "api/metrics.h"

#include <fmt/format.h>

namespace berth::api {

namespace {
// The request's method as a static string (a label must outlive the request).
std::string_view method_label(std::string_view method) {
  static constexpr std::string_view kMethods[] = {"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"};
  for (auto m : kMethods) {
    if (m == method) return m;
  }
  return "other";
}
}  // namespace

void Metrics::record(std::string_view route, std::string_view method, int status, double seconds, uint64_t bytes_in,
                     uint64_t bytes_out) {
  bytes_in_ += bytes_in;
  bytes_out_ += bytes_out;
  std::lock_guard lock(mu_);
  ++requests_[{route, method_label(method), status}];
  auto& h = latency_[route];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::render(size_t uploads_in_progress) const {
  std::string out;
  out += "# HELP berth_http_requests_total HTTP requests by route, method and status.\n";
  out += "# TYPE berth_http_requests_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out += fmt::format("berth_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n", route, method,
                       status, n);
  }
  out += "# HELP berth_http_request_duration_seconds Time to answer a request, by route.\n";
  out += "# TYPE berth_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out += fmt::format("berth_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", route,
                         kBuckets[i], h.buckets[i]);
    }
    out += fmt::format("berth_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", route, h.count);
    out += fmt::format("berth_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", route, h.sum);
    out += fmt::format("berth_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", route, h.count);
  }
  out += "# HELP berth_http_received_bytes_total Request body bytes received.\n";
  out += "# TYPE berth_http_received_bytes_total counter\n";
  out += fmt::format("berth_http_received_bytes_total {}\n", bytes_in_.load());
  out += "# HELP berth_http_sent_bytes_total Response body bytes sent.\n";
  out += "# TYPE berth_http_sent_bytes_total counter\n";
  out += fmt::format("berth_http_sent_bytes_total {}\n", bytes_out_.load());
  out += "# HELP berth_uploads_in_progress Blob uploads being written right now.\n";
  out += "# TYPE berth_uploads_in_progress gauge\n";
  out += fmt::format("berth_uploads_in_progress {}\n", uploads_in_progress);
  return out;
}

}  // namespace berth::api
