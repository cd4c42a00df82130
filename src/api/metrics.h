// Prometheus metrics of the HTTP API: requests by route/method/status, latency histogram by route,
// bytes in and out, uploads in progress.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace berth::api {

class Metrics {
 public:
  // `route` must name static storage (route_label()); methods outside the HTTP set count as "other".
  void record(std::string_view route, std::string_view method, int status, double seconds, uint64_t bytes_in,
              uint64_t bytes_out);
  // Text exposition format; `uploads_in_progress` is sampled at render time.
  std::string render(size_t uploads_in_progress) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  5.0};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  // Keys are views of static strings: recording a request allocates nothing.
  std::map<std::tuple<std::string_view, std::string_view, int>, uint64_t> requests_;
  std::map<std::string_view, Histogram> latency_;
  std::atomic<uint64_t> bytes_in_{0};
  std::atomic<uint64_t> bytes_out_{0};
};

}  // namespace berth::api
