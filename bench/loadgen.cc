// berth-loadgen: a load generator for OCI registries (Berth, CNCF Distribution, …) used by bench/run.sh.
//
//   berth-loadgen SCENARIO --port P [--host 127.0.0.1] [--label NAME] [--server-pid PID]
//                 [--duration SECONDS] [--count N] [--concurrency C] [scenario options]
//   berth-loadgen report --in results.jsonl [--sha256-mibps X]
//
// Every scenario is bounded in time (--duration) and in count (--count), checks every status code and
// the sha256 of every byte it pulls, and prints one JSON line per measured phase. With --server-pid it
// also measures the server: CPU seconds (utime+stime from /proc/PID/stat) over the measured phase and
// peak RSS (VmHWM after resetting it through /proc/PID/clear_refs; VmRSS sampled every 100 ms as a
// fallback). Setup work (pre-pushing what a pull scenario reads) is excluded from the measurement.
//
// Scenarios: push-mono, push-chunked, pull, manifest-get, manifest-head, manifest-push, tag-list,
// catalog, mixed, and (Berth only) pkg-versions, pkg-size. See usage() below.
#include <fcntl.h>
#include <openssl/rand.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_client.h"
#include "registry_ops.h"

namespace bench {
int report_main(int argc, char** argv);  // report.cc
}

using namespace bench;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

// ------------------------------------------------------------------------------------------- options

struct Options {
  std::string scenario;
  std::map<std::string, std::string> kv;

  std::string str(const std::string& k, const std::string& def = "") const {
    auto it = kv.find(k);
    return it == kv.end() ? def : it->second;
  }
  int64_t num(const std::string& k, int64_t def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : std::stoll(it->second);
  }
  double real(const std::string& k, double def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : std::stod(it->second);
  }
};

// ------------------------------------------------------------------------------------ server monitor

bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

// kB value of a "Key:   123 kB" line of /proc/PID/status, or -1.
int64_t status_kib(int pid, const char* key) {
  std::string s;
  if (!read_file("/proc/" + std::to_string(pid) + "/status", s)) return -1;
  auto p = s.find(key);
  if (p == std::string::npos) return -1;
  return std::strtoll(s.c_str() + p + strlen(key) + 1, nullptr, 10);
}

double cpu_seconds(int pid) {
  std::string s;
  if (!read_file("/proc/" + std::to_string(pid) + "/stat", s)) return -1;
  auto p = s.rfind(')');
  if (p == std::string::npos) return -1;
  std::istringstream in(s.substr(p + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 0; in >> field; ++i) {
    if (i == 11) utime = std::stoull(field);
    if (i == 12) {
      stime = std::stoull(field);
      break;
    }
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// CPU seconds spent by the whole machine (all CPUs, not idle or iowait), from /proc/stat.
double machine_busy_seconds() {
  std::string s;
  if (!read_file("/proc/stat", s)) return -1;
  std::istringstream in(s);
  std::string cpu;
  unsigned long long v[10] = {};
  in >> cpu;
  for (auto& x : v) in >> x;
  // user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
  return double(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / double(sysconf(_SC_CLK_TCK));
}

class ServerMonitor {
 public:
  explicit ServerMonitor(int pid) : pid_(pid) {}
  void start() {
    busy0_ = machine_busy_seconds();
    self_cpu0_ = self_cpu_seconds();
    if (pid_ <= 0) return;
    int fd = ::open(("/proc/" + std::to_string(pid_) + "/clear_refs").c_str(), O_WRONLY);
    hwm_reset_ = fd >= 0 && ::write(fd, "5", 1) == 1;
    if (fd >= 0) ::close(fd);
    cpu0_ = cpu_seconds(pid_);
    sampled_max_ = status_kib(pid_, "VmRSS:");
    anon_max_ = status_kib(pid_, "RssAnon:");
    stop_ = false;
    sampler_ = std::thread([this] {
      while (!stop_.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        sampled_max_ = std::max(sampled_max_.load(), status_kib(pid_, "VmRSS:"));
        anon_max_ = std::max(anon_max_.load(), status_kib(pid_, "RssAnon:"));
      }
    });
  }
  void stop() {
    self_cpu_ = self_cpu_seconds() - self_cpu0_;
    busy_ = machine_busy_seconds() - busy0_;
    if (pid_ <= 0) return;
    stop_ = true;
    sampler_.join();
    cpu_ = cpu_seconds(pid_) - cpu0_;
    int64_t hwm = status_kib(pid_, "VmHWM:");
    sampled_max_ = std::max(sampled_max_.load(), status_kib(pid_, "VmRSS:"));
    anon_max_ = std::max(anon_max_.load(), status_kib(pid_, "RssAnon:"));
    peak_kib_ = hwm_reset_ && hwm > 0 ? hwm : sampled_max_.load();
  }
  int pid() const { return pid_; }
  double cpu() const { return cpu_; }
  double self_cpu() const { return self_cpu_; }
  // CPU time used by everything else on the machine meanwhile (other builds, tests, services).
  double other_cpu() const { return std::max(0.0, busy_ - self_cpu_ - (cpu_ > 0 ? cpu_ : 0)); }
  int64_t peak_kib() const { return peak_kib_; }
  // Anonymous memory only (heap, stacks), without the shared libraries' pages; sampled every 100 ms.
  int64_t peak_anon_kib() const { return anon_max_.load(); }
  bool hwm_reset() const { return hwm_reset_; }

 private:
  int pid_;
  bool hwm_reset_ = false;
  double cpu0_ = 0, cpu_ = -1, self_cpu0_ = 0, self_cpu_ = 0, busy0_ = 0, busy_ = 0;
  int64_t peak_kib_ = -1;
  std::atomic<int64_t> sampled_max_{0}, anon_max_{0};
  std::atomic<bool> stop_{false};
  std::thread sampler_;
};

// ------------------------------------------------------------------------------------- stats, output

struct Stats {
  uint64_t ops = 0, errors = 0, bytes = 0;
  std::vector<uint64_t> lat_ns;
  std::string first_error;
  void error(const std::string& e) {
    ++errors;
    if (first_error.empty()) first_error = e;
  }
  void ok(uint64_t t0, uint64_t n_bytes) { ok_latency(now_ns() - t0, n_bytes); }
  void ok_latency(uint64_t ns, uint64_t n_bytes) {  // when checking the response should not count as latency
    ++ops;
    bytes += n_bytes;
    lat_ns.push_back(ns);
  }
  double pct_ms(double q) {
    if (lat_ns.empty()) return 0;
    size_t k = std::min(lat_ns.size() - 1, size_t(std::ceil(q * double(lat_ns.size()))) - (q > 0 ? 1 : 0));
    std::nth_element(lat_ns.begin(), lat_ns.begin() + long(k), lat_ns.end());
    return double(lat_ns[k]) / 1e6;
  }
};

// Stops starting new operations at the deadline or after `max` operations, whichever comes first.
struct Budget {
  uint64_t deadline = 0;
  uint64_t max = 0;
  uint64_t started = 0;
  void arm(double seconds, uint64_t count) {
    deadline = now_ns() + uint64_t(seconds * 1e9);
    max = count;
    started = 0;
  }
  bool take() {
    if (started >= max || now_ns() >= deadline) return false;
    ++started;
    return true;
  }
};

class JsonLine {
 public:
  JsonLine& s(const std::string& k, const std::string& v) {
    std::string e;
    for (char c : v) {
      if (c == '"' || c == '\\') e += '\\';
      if (static_cast<unsigned char>(c) < 0x20) continue;
      e += c;
    }
    add(k, "\"" + e + "\"");
    return *this;
  }
  JsonLine& n(const std::string& k, double v) {
    char b[64];
    snprintf(b, sizeof b, "%.6g", v);
    add(k, b);
    return *this;
  }
  JsonLine& i(const std::string& k, int64_t v) {
    add(k, std::to_string(v));
    return *this;
  }
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void add(const std::string& k, const std::string& v) {
    if (!body_.empty()) body_ += ",";
    body_ += "\"" + k + "\":" + v;
  }
  std::string body_;
};

struct Ctx {
  Options opt;
  Endpoint ep;
  Loop loop;
  Budget budget;
  Stats stats;
  uint64_t nonce = 0;
  uint64_t pages = 0;  // list scenarios: pages fetched
  std::mt19937_64 rng;
  std::FILE* out = stdout;
};

void emit(Ctx& ctx, const std::string& name, Stats& st, double seconds, ServerMonitor& mon, int concurrency,
          const std::vector<std::pair<std::string, double>>& extra = {}) {
  JsonLine j;
  j.s("label", ctx.opt.str("label", "server"))
      .s("scenario", ctx.opt.scenario)
      .s("name", name)
      .i("concurrency", concurrency)
      .i("ops", int64_t(st.ops))
      .i("errors", int64_t(st.errors))
      .n("seconds", seconds)
      .n("ops_per_s", seconds > 0 ? double(st.ops) / seconds : 0)
      .i("bytes", int64_t(st.bytes))
      .n("mib_per_s", seconds > 0 ? double(st.bytes) / double(kMiB) / seconds : 0)
      .n("p50_ms", st.pct_ms(0.50))
      .n("p99_ms", st.pct_ms(0.99))
      .n("max_ms", st.pct_ms(1.0))
      .n("client_cpu_s", mon.self_cpu())
      .n("other_cpu_s", mon.other_cpu());
  if (mon.pid() > 0) {
    j.n("server_cpu_s", mon.cpu())
        .i("server_peak_rss_kib", mon.peak_kib())
        .i("server_peak_anon_kib", mon.peak_anon_kib())
        .i("hwm_reset", mon.hwm_reset());
    if (st.bytes > 0) j.n("server_cpu_s_per_gib", mon.cpu() / (double(st.bytes) / double(1024 * kMiB)));
    if (st.ops > 0) j.n("server_cpu_us_per_op", mon.cpu() * 1e6 / double(st.ops));
  }
  for (const auto& [k, v] : extra) j.n(k, v);
  if (ctx.pages && st.ops) j.n("pages_per_op", double(ctx.pages) / double(st.ops));
  if (!st.first_error.empty()) j.s("first_error", st.first_error);
  std::fprintf(ctx.out, "%s\n", j.str().c_str());
  std::fflush(ctx.out);
  if (st.errors) std::fprintf(stderr, "%s: %llu errors, first: %s\n", name.c_str(), (unsigned long long)st.errors,
                              st.first_error.c_str());
}

// Note: g++ 12 destroys some temporaries of a `co_await f(temporary)` expression twice; every
// argument of an awaited call below is therefore a named local.

// Runs `workers` coroutines made by `make(i)` until they all end.
template <class F>
void run_workers(Ctx& ctx, int workers, F make) {
  for (int i = 0; i < workers; ++i) {
    ctx.loop.worker_started();
    make(i);
  }
  ctx.loop.run();
}

// Measures `workers` coroutines under the budget; emits one JSON line.
template <class F>
void measured(Ctx& ctx, const std::string& name, int workers, F make,
              const std::vector<std::pair<std::string, double>>& extra = {}) {
  ServerMonitor mon(int(ctx.opt.num("server-pid", 0)));
  ctx.stats = Stats{};
  ctx.pages = 0;
  ctx.budget.arm(ctx.opt.real("duration", 10), uint64_t(ctx.opt.num("count", 1'000'000'000)));
  mon.start();
  uint64_t t0 = now_ns();
  run_workers(ctx, workers, make);
  double seconds = double(now_ns() - t0) / 1e9;
  mon.stop();
  emit(ctx, name, ctx.stats, seconds, mon, workers, extra);
}

std::unique_ptr<Conn> conn(Ctx& ctx) { return std::make_unique<Conn>(ctx.loop, ctx.ep.host, ctx.ep.port); }

// Setup helper: pushes an image (config, layer of `layer`, manifest under `tag`) into repo.
Task push_image_task(Ctx& ctx, std::string repo, std::string tag, const BlobView* layer, uint64_t n, Image* out,
                     bool* ok) {
  auto c = conn(ctx);
  Image img;
  img.config = make_config(n);
  img.config_digest = sha256_digest(img.config);
  img.layer_digest = layer->digest;
  img.layer_size = layer->size();
  BlobView cfg{img.config.data(), img.config.size(), nullptr, 0, img.config_digest};
  Outcome o = co_await push_blob_monolithic(*c, ctx.ep, repo, cfg);
  if (o.ok) o = co_await push_blob_monolithic(*c, ctx.ep, repo, *layer);
  if (o.ok) {
    img.manifest = make_manifest(img.config_digest, img.config.size(), img.layer_digest, img.layer_size, "");
    img.manifest_digest = sha256_digest(img.manifest);
    o = co_await put_manifest(*c, ctx.ep, repo, tag, img.manifest, img.manifest_digest);
  }
  if (!o.ok) std::fprintf(stderr, "setup: %s\n", o.error.c_str());
  *ok = o.ok;
  *out = std::move(img);
  ctx.loop.worker_done();
}

bool push_image(Ctx& ctx, const std::string& repo, const std::string& tag, const BlobView& layer, uint64_t n,
                Image& out) {
  bool ok = false;
  ctx.loop.worker_started();
  push_image_task(ctx, repo, tag, &layer, n, &out, &ok);
  ctx.loop.run();
  return ok;
}

// -------------------------------------------------------------------------------------- scenarios

std::string size_label(uint64_t size) {
  return size % kMiB == 0 ? std::to_string(size / kMiB) + "M" : std::to_string(size) + "B";
}

// 1 and 2: blob push, monolithic (POST + PUT) or chunked (POST + PATCH… + PUT).
Task push_worker(Ctx& ctx, const BlobFactory* f, uint64_t chunk, std::string repo) {
  auto c = conn(ctx);
  while (ctx.budget.take()) {
    auto blob = f->make(ctx.budget.started);
    BlobView v = f->view(blob);
    uint64_t t0 = now_ns();
    Outcome o;  // (not `chunk ? co_await … : co_await …`: g++ 12 miscompiles co_await in both arms)
    if (chunk) {
      o = co_await push_blob_chunked(*c, ctx.ep, repo, v, chunk);
    } else {
      o = co_await push_blob_monolithic(*c, ctx.ep, repo, v);
    }
    if (o.ok) {
      ctx.stats.ok(t0, v.size());
    } else {
      ctx.stats.error(o.error);
    }
  }
  ctx.loop.worker_done();
}

int scenario_push(Ctx& ctx, bool chunked) {
  uint64_t size = uint64_t(ctx.opt.num("size", int64_t(kMiB)));
  uint64_t chunk = chunked ? uint64_t(ctx.opt.num("chunk", int64_t(8 * kMiB))) : 0;
  int conc = int(ctx.opt.num("concurrency", 1));
  std::string repo = ctx.opt.str("repo", "bench/push");
  BlobFactory f(size, ctx.nonce);
  std::string name = std::string(chunked ? "push_chunked_" : "push_mono_") + size_label(size) + "_c" +
                     std::to_string(conc);
  measured(ctx, name, conc, [&](int) { push_worker(ctx, &f, chunk, repo); });
  return ctx.stats.errors ? 1 : 0;
}

// 3: blob pull with digest check over pre-pushed blobs.
Task setup_push_worker(Ctx& ctx, const BlobFactory* f, std::string repo, std::vector<std::string>* digests, int first,
                       int step) {
  auto c = conn(ctx);
  for (size_t i = size_t(first); i < digests->size(); i += size_t(step)) {
    auto blob = f->make(1'000'000 + i);
    BlobView v = f->view(blob);
    Request head;  // already there from an earlier run with the same --seed: keep it
    head.head = build_head(ctx.ep, "HEAD", "/v2/" + repo + "/blobs/" + blob.digest, {}, -1);
    head.is_head = true;
    Response hr = co_await c->roundtrip(head);
    if (hr.ok && hr.status == 200) {
      (*digests)[i] = blob.digest;
      continue;
    }
    Outcome o = co_await push_blob_monolithic(*c, ctx.ep, repo, v);
    if (!o.ok) {
      ctx.stats.error("setup: " + o.error);
      continue;
    }
    (*digests)[i] = blob.digest;
  }
  ctx.loop.worker_done();
}

Task pull_worker(Ctx& ctx, const std::vector<std::string>* digests, uint64_t size, std::string repo, int id) {
  auto c = conn(ctx);
  size_t i = size_t(id);
  while (ctx.budget.take()) {
    const std::string& d = (*digests)[i++ % digests->size()];
    uint64_t t0 = now_ns();
    Outcome o = co_await get_blob(*c, ctx.ep, repo, d, size);
    if (o.ok) {
      ctx.stats.ok(t0, size);
    } else {
      ctx.stats.error(o.error);
    }
  }
  ctx.loop.worker_done();
}

int scenario_pull(Ctx& ctx) {
  uint64_t size = uint64_t(ctx.opt.num("size", int64_t(64 * kMiB)));
  int conc = int(ctx.opt.num("concurrency", 1));
  int nblobs = int(ctx.opt.num("blobs", 8));
  std::string repo = ctx.opt.str("repo", "bench/pull");
  // With --seed, the pulled blobs are the same from one run to the next (and pushed only once).
  BlobFactory f(size, ctx.opt.kv.count("seed") ? uint64_t(ctx.opt.num("seed", 0)) * 0x9E3779B97F4A7C15ull : ctx.nonce);
  std::vector<std::string> digests(static_cast<size_t>(nblobs));
  ctx.stats = Stats{};
  run_workers(ctx, std::min(nblobs, 4), [&](int i) { setup_push_worker(ctx, &f, repo, &digests, i, std::min(nblobs, 4)); });
  if (ctx.stats.errors) {
    std::fprintf(stderr, "pull setup failed: %s\n", ctx.stats.first_error.c_str());
    return 1;
  }
  measured(ctx, "pull_" + size_label(size) + "_c" + std::to_string(conc), conc,
           [&](int i) { pull_worker(ctx, &digests, size, repo, i); });
  return ctx.stats.errors ? 1 : 0;
}

// 4: manifest GET / HEAD by tag, pre-built request bytes.
Task manifest_read_worker(Ctx& ctx, const Request* req, const std::string* digest, uint64_t size) {
  auto c = conn(ctx);
  const std::string expect_hex = digest->substr(7);
  while (ctx.budget.take()) {
    uint64_t t0 = now_ns();
    Response r = co_await c->roundtrip(*req);
    if (!r.ok || r.status != 200) {
      ctx.stats.error(r.ok ? "status " + std::to_string(r.status) : r.error);
      continue;
    }
    if (req->is_head) {
      if (r.docker_content_digest != *digest || r.content_length != int64_t(size)) {
        ctx.stats.error("HEAD: wrong Docker-Content-Digest or Content-Length");
        continue;
      }
      ctx.stats.ok(t0, 0);
    } else {
      if (r.body_bytes != size || hex32(r.sha256) != expect_hex) {
        ctx.stats.error("GET: manifest bytes do not match the digest");
        continue;
      }
      ctx.stats.ok(t0, r.body_bytes);
    }
  }
  ctx.loop.worker_done();
}

int scenario_manifest_read(Ctx& ctx, bool head) {
  int conc = int(ctx.opt.num("concurrency", 64));
  std::string repo = ctx.opt.str("repo", "bench/app");
  std::string tag = ctx.opt.str("tag", "latest");
  BlobFactory layers(kMiB, ctx.nonce);
  auto layer = layers.make(7);
  Image img;
  if (!push_image(ctx, repo, tag, layers.view(layer), 1, img)) return 1;
  Request req;
  req.head = build_head(ctx.ep, head ? "HEAD" : "GET", "/v2/" + repo + "/manifests/" + tag,
                        {{"Accept", kManifestAccept}}, -1);
  req.is_head = head;
  req.hash_body = !head;
  req.keep_body = false;
  measured(ctx, std::string(head ? "manifest_head_c" : "manifest_get_c") + std::to_string(conc), conc,
           [&](int) { manifest_read_worker(ctx, &req, &img.manifest_digest, img.manifest.size()); });
  return ctx.stats.errors ? 1 : 0;
}

// 5: manifest push under many tags (distinct manifests, one per tag).
Task manifest_push_worker(Ctx& ctx, const Image* base, std::string repo) {
  auto c = conn(ctx);
  while (ctx.budget.take()) {
    uint64_t n = ctx.budget.started;
    char tag[32];
    snprintf(tag, sizeof tag, "t%06llu", (unsigned long long)n);
    std::string m = make_manifest(base->config_digest, base->config.size(), base->layer_digest, base->layer_size,
                                  std::to_string(n));
    std::string d = sha256_digest(m);
    uint64_t t0 = now_ns();
    std::string tag_s = tag;
    Outcome o = co_await put_manifest(*c, ctx.ep, repo, tag_s, m, d);
    if (o.ok) {
      ctx.stats.ok(t0, m.size());
    } else {
      ctx.stats.error(o.error);
    }
  }
  ctx.loop.worker_done();
}

int scenario_manifest_push(Ctx& ctx) {
  int conc = int(ctx.opt.num("concurrency", 8));
  std::string repo = ctx.opt.str("repo", "bench/tags");
  BlobFactory layers(kMiB, ctx.nonce);
  auto layer = layers.make(5);
  Image img;
  if (!push_image(ctx, repo, "base", layers.view(layer), 5, img)) return 1;
  ctx.opt.kv["count"] = std::to_string(ctx.opt.num("tags", 10'000));
  measured(ctx, "manifest_push_c" + std::to_string(conc), conc, [&](int) { manifest_push_worker(ctx, &img, repo); });
  return ctx.stats.errors ? 1 : 0;
}

// 6 and 7: list a repository's tags / the catalog, following Link pages. One op = the whole list.
size_t count_json_strings_after(const std::string& body, const char* key) {
  auto p = body.find(key);
  if (p == std::string::npos) return 0;
  auto e = body.find(']', p);
  if (e == std::string::npos) return 0;
  return size_t(std::count(body.begin() + long(p + strlen(key)), body.begin() + long(e), '"')) / 2;
}

Task list_worker(Ctx& ctx, std::string first_target, const char* key, int64_t expect) {
  auto c = conn(ctx);
  Request req;
  while (ctx.budget.take()) {
    uint64_t t0 = now_ns();
    std::string target = first_target;
    size_t items = 0, bytes = 0, pages = 0;
    std::string err;
    while (!target.empty()) {
      req.head = build_head(ctx.ep, "GET", target, {{"Accept", "application/json"}}, -1);
      Response r = co_await c->roundtrip(req);
      if (!r.ok || r.status != 200) {
        err = "GET " + target + ": " + (r.ok ? std::to_string(r.status) + " " + r.body.substr(0, 200) : r.error);
        break;
      }
      ++pages;
      items += count_json_strings_after(r.body, key);
      bytes += r.body.size();
      target = next_link_target(r.link);
      if (pages > 100'000) {
        err = "too many pages";
        break;
      }
    }
    if (err.empty() && expect >= 0 && int64_t(items) < expect) {
      err = "listed " + std::to_string(items) + " items, expected at least " + std::to_string(expect);
    }
    if (err.empty()) {
      ctx.stats.ok(t0, bytes);
      ctx.pages += pages;
    } else {
      ctx.stats.error(err);
    }
  }
  ctx.loop.worker_done();
}

int scenario_list(Ctx& ctx, bool catalog) {
  int conc = int(ctx.opt.num("concurrency", 1));
  int64_t page = ctx.opt.num("page", 0);
  int64_t expect = ctx.opt.num("expect", -1);
  std::string repo = ctx.opt.str("repo", "bench/tags");
  std::string target = catalog ? "/v2/_catalog" : "/v2/" + repo + "/tags/list";
  if (page > 0) target += "?n=" + std::to_string(page);
  std::string name = std::string(catalog ? "catalog_" : "tags_") + (page > 0 ? "page" + std::to_string(page) : "whole");
  measured(ctx, name, conc,
           [&](int) { list_worker(ctx, target, catalog ? "\"repositories\"" : "\"tags\"", expect); });
  return ctx.stats.errors ? 1 : 0;
}

// 7 setup: create N repositories, each with a config, a tiny layer and a manifest.
Task repo_create_worker(Ctx& ctx, std::string prefix) {
  auto c = conn(ctx);
  while (ctx.budget.take()) {
    uint64_t n = ctx.budget.started;
    char name[64];
    snprintf(name, sizeof name, "%s/r%05llu", prefix.c_str(), (unsigned long long)n);
    std::string repo = name;
    std::string config = make_config(n);
    std::string layer = "layer of " + repo;
    std::string cd = sha256_digest(config), ld = sha256_digest(layer);
    std::string m = make_manifest(cd, config.size(), ld, layer.size(), "");
    std::string md = sha256_digest(m);
    uint64_t t0 = now_ns();
    BlobView cv{config.data(), config.size(), nullptr, 0, cd}, lv{layer.data(), layer.size(), nullptr, 0, ld};
    const std::string tag = "latest";
    Outcome o = co_await push_blob_monolithic(*c, ctx.ep, repo, cv);
    if (o.ok) o = co_await push_blob_monolithic(*c, ctx.ep, repo, lv);
    if (o.ok) o = co_await put_manifest(*c, ctx.ep, repo, tag, m, md);
    if (o.ok) {
      ctx.stats.ok(t0, 0);
    } else {
      ctx.stats.error(o.error);
    }
  }
  ctx.loop.worker_done();
}

int scenario_catalog(Ctx& ctx) {
  int64_t repos = ctx.opt.num("repos", 2000);
  Options saved = ctx.opt;
  ctx.opt.kv["count"] = std::to_string(repos);
  ctx.opt.kv["duration"] = ctx.opt.str("setup-duration", "600");
  int conc = int(ctx.opt.num("setup-concurrency", 8));
  measured(ctx, "repo_create_c" + std::to_string(conc), conc,
           [&](int) { repo_create_worker(ctx, ctx.opt.str("prefix", "bench/cat")); });
  if (ctx.stats.errors) return 1;
  ctx.opt = saved;
  ctx.opt.kv["expect"] = std::to_string(repos);
  return scenario_list(ctx, true);
}

// 8: mixed: 90% pull (manifest by tag + its 1 MiB layer), 10% push (1 MiB layer + manifest, new tag).
struct Mixed {
  std::vector<Image> images;
  const BlobFactory* layers = nullptr;
  Stats pull, push;
  int push_percent = 10;
};

Task mixed_worker(Ctx& ctx, Mixed* mx, std::string repo, int id) {
  auto c = conn(ctx);
  std::mt19937_64 rng(ctx.nonce + uint64_t(id));
  while (ctx.budget.take()) {
    uint64_t n = ctx.budget.started;
    uint64_t t0 = now_ns();
    if (int(rng() % 100) < mx->push_percent) {
      auto blob = mx->layers->make(2'000'000 + n);
      BlobView v = mx->layers->view(blob);
      const Image& base = mx->images[0];
      Outcome o = co_await push_blob_monolithic(*c, ctx.ep, repo, v);
      if (o.ok) {
        std::string m = make_manifest(base.config_digest, base.config.size(), v.digest, v.size(), "");
        std::string tag = "push-" + std::to_string(n), md = sha256_digest(m);
        o = co_await put_manifest(*c, ctx.ep, repo, tag, m, md);
      }
      if (o.ok) {
        mx->push.ok(t0, v.size());
        ctx.stats.ok(t0, v.size());
      } else {
        mx->push.error(o.error);
        ctx.stats.error(o.error);
      }
    } else {
      size_t k = size_t(rng() % mx->images.size());
      const Image& img = mx->images[k];
      std::string tag = "v" + std::to_string(k);
      Outcome o = co_await get_manifest(*c, ctx.ep, repo, tag, img.manifest_digest);
      if (o.ok) o = co_await get_blob(*c, ctx.ep, repo, img.layer_digest, img.layer_size);
      if (o.ok) {
        mx->pull.ok(t0, img.layer_size + img.manifest.size());
        ctx.stats.ok(t0, img.layer_size + img.manifest.size());
      } else {
        mx->pull.error(o.error);
        ctx.stats.error(o.error);
      }
    }
  }
  ctx.loop.worker_done();
}

int scenario_mixed(Ctx& ctx) {
  int conc = int(ctx.opt.num("concurrency", 16));
  std::string repo = ctx.opt.str("repo", "bench/mixed");
  BlobFactory layers(uint64_t(ctx.opt.num("size", int64_t(kMiB))), ctx.nonce);
  Mixed mx;
  mx.layers = &layers;
  mx.push_percent = int(ctx.opt.num("push-percent", 10));
  int nimages = int(ctx.opt.num("images", 8));
  for (int k = 0; k < nimages; ++k) {
    auto blob = layers.make(3'000'000 + uint64_t(k));
    Image img;
    if (!push_image(ctx, repo, "v" + std::to_string(k), layers.view(blob), 100 + uint64_t(k), img)) return 1;
    mx.images.push_back(std::move(img));
  }
  // Measured by hand to add the per-kind figures.
  measured(ctx, "mixed_c" + std::to_string(conc), conc, [&](int i) { mixed_worker(ctx, &mx, repo, i); },
           {});
  JsonLine j;
  j.s("label", ctx.opt.str("label", "server"))
      .s("scenario", "mixed-detail")
      .s("name", "mixed_c" + std::to_string(conc) + "_detail")
      .i("pull_ops", int64_t(mx.pull.ops))
      .n("pull_p50_ms", mx.pull.pct_ms(0.5))
      .n("pull_p99_ms", mx.pull.pct_ms(0.99))
      .i("push_ops", int64_t(mx.push.ops))
      .n("push_p50_ms", mx.push.pct_ms(0.5))
      .n("push_p99_ms", mx.push.pct_ms(0.99))
      .i("errors", int64_t(mx.pull.errors + mx.push.errors));
  std::fprintf(ctx.out, "%s\n", j.str().c_str());
  std::fflush(ctx.out);
  return ctx.stats.errors ? 1 : 0;
}

// 9 and 10 (Berth only: CNCF Distribution has no such API): the GitHub-compatible packages API
// (docs/packages.md) on a package with many versions. Setup pushes a base image and distinct manifests
// into one repository until its package has --versions versions (each distinct top-level manifest is a
// version); a later run against the same server reuses them. Then, measured: GET the first page of the
// version list (default per_page=30), or GET the package object, whose `size` is its stored bytes.

// /api/v3/users/OWNER/packages/container/NAME for the repository OWNER/NAME (the '/' of NAME as %2F).
std::string package_target(const std::string& repo) {
  auto slash = repo.find('/');
  std::string name;
  for (char ch : repo.substr(slash + 1)) name += ch == '/' ? std::string("%2F") : std::string(1, ch);
  return "/api/v3/users/" + repo.substr(0, slash) + "/packages/container/" + name;
}

std::string package_head(const Ctx& ctx, const std::string& target) {
  return build_head(ctx.ep, "GET", target,
                    {{"Accept", "application/vnd.github+json"}, {"X-GitHub-Api-Version", "2022-11-28"}}, -1);
}

// What a one-pass structural scan of a JSON text found at its top level. Strings (with escapes), nesting
// and bracket matching are checked, numbers and literals are not: cheap enough for every response (the
// generator shares the CPUs with the server); the first response of each connection is also parsed whole.
struct JsonTop {
  char kind = 0;             // '[' or '{'; 0: not a balanced array or object (or bytes after it)
  size_t elements = 0;       // array: elements; object: members
  size_t objects = 0;        // array: elements that are objects
  std::string_view number;   // object: the digits of the member named `key`, if it is a number
};

JsonTop scan_json(std::string_view s, std::string_view key = {}) {
  JsonTop top, bad;
  size_t i = 0, n = s.size();
  auto ws = [&] { while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i; };
  ws();
  if (i == n || (s[i] != '[' && s[i] != '{')) return bad;
  std::string stack;
  bool at_key = false;      // top-level object: the next string is a member name
  bool want_number = false; // top-level object: the next value is the `key` member's
  for (; i < n; ++i) {
    char c = s[i];
    if (c == '"') {
      size_t start = ++i;
      while (i < n && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
      if (i >= n) return bad;
      if (stack.size() == 1) {
        if (top.kind == '[') return bad;  // a string element
        if (at_key) {
          ++top.elements;
          want_number = !key.empty() && s.substr(start, i - start) == key;
          at_key = false;
        }
      }
      continue;
    }
    switch (c) {
      case '[':
      case '{':
        if (stack.empty()) {
          top.kind = c;
          at_key = c == '{';
        } else if (stack.size() == 1 && top.kind == '[') {
          ++top.elements;
          if (c != '{') return bad;  // only objects are expected in arrays here
          ++top.objects;
        }
        stack += c == '[' ? ']' : '}';
        if (stack.size() > 64) return bad;
        break;
      case ']':
      case '}':
        if (stack.empty() || stack.back() != c) return bad;
        stack.pop_back();
        if (stack.empty()) {
          ++i;
          ws();
          return i == n ? top : bad;
        }
        break;
      case ',':
        if (stack.size() == 1 && top.kind == '{') at_key = true;
        break;
      default:
        if (stack.size() == 1 && top.kind == '[' && c != ' ' && c != '\n' && c != '\r' && c != '\t') return bad;
        if (stack.size() == 1 && want_number && c >= '0' && c <= '9') {
          size_t start = i;
          while (i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') ++i;
          top.number = s.substr(start, i + 1 - start);
          want_number = false;
        }
    }
  }
  return bad;
}

// GET `target` once (setup and checks), keeping the response.
Task get_once_task(Ctx& ctx, std::string target, Response* out) {
  auto c = conn(ctx);
  Request req;
  req.head = package_head(ctx, target);
  *out = co_await c->roundtrip(req);
  ctx.loop.worker_done();
}

Response get_once(Ctx& ctx, const std::string& target) {
  Response r;
  ctx.loop.worker_started();
  get_once_task(ctx, target, &r);
  ctx.loop.run();
  return r;
}

// The package object of `repo`, parsed; a discarded json when it does not exist yet (404).
bool get_package(Ctx& ctx, const std::string& repo, nlohmann::json& out, std::string& err) {
  Response r = get_once(ctx, package_target(repo));
  out = nlohmann::json(nlohmann::json::value_t::discarded);
  if (r.ok && r.status == 404) return true;
  if (!r.ok || r.status != 200) {
    err = "GET " + package_target(repo) + ": " + (r.ok ? std::to_string(r.status) + " " + r.body.substr(0, 200) : r.error);
    return false;
  }
  out = nlohmann::json::parse(r.body, nullptr, false);
  if (!out.is_object() || !out.contains("version_count") || !out["version_count"].is_number_unsigned() ||
      !out.contains("size") || !out["size"].is_number_unsigned()) {
    err = "GET " + package_target(repo) + ": not a package object with version_count and size: " + r.body.substr(0, 200);
    return false;
  }
  return true;
}

// Setup: at least `versions` versions in the package of `repo`. Returns the package object, or discarded.
nlohmann::json ensure_versions(Ctx& ctx, const std::string& repo, uint64_t versions) {
  nlohmann::json pkg;
  std::string err;
  if (!get_package(ctx, repo, pkg, err)) {
    std::fprintf(stderr, "package setup: %s\n", err.c_str());
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  uint64_t have = pkg.is_discarded() ? 0 : pkg["version_count"].get<uint64_t>();
  if (have < versions) {
    // A base image (one version), then distinct manifests on it under as many tags (one version each).
    uint64_t t0 = now_ns();
    BlobFactory layers(kMiB, ctx.nonce);
    auto layer = layers.make(9);
    Image img;
    if (!push_image(ctx, repo, "base", layers.view(layer), 9, img)) return nlohmann::json(nlohmann::json::value_t::discarded);
    ctx.stats = Stats{};
    ctx.budget.arm(ctx.opt.real("setup-duration", 600), versions - have - 1);
    int conc = int(ctx.opt.num("setup-concurrency", 8));
    run_workers(ctx, conc, [&](int) { manifest_push_worker(ctx, &img, repo); });
    if (ctx.stats.errors || ctx.stats.ops != versions - have - 1) {
      std::fprintf(stderr, "package setup: pushed %llu of %llu manifests; first error: %s\n",
                   (unsigned long long)ctx.stats.ops, (unsigned long long)(versions - have - 1),
                   ctx.stats.first_error.c_str());
      return nlohmann::json(nlohmann::json::value_t::discarded);
    }
    std::fprintf(stderr, "package setup: %s had %llu versions; pushed %llu manifests in %.1f s\n", repo.c_str(),
                 (unsigned long long)have, (unsigned long long)(versions - have), double(now_ns() - t0) / 1e9);
    ::sync();  // as run.sh does before each scenario: the pushes' writeback is not measured
    if (!get_package(ctx, repo, pkg, err) || pkg.is_discarded()) {
      std::fprintf(stderr, "package setup: %s\n", err.empty() ? "the package does not exist after the pushes" : err.c_str());
      return nlohmann::json(nlohmann::json::value_t::discarded);
    }
  }
  if (pkg["version_count"].get<uint64_t>() < versions || pkg["size"].get<uint64_t>() == 0) {
    std::fprintf(stderr, "package setup: expected >= %llu versions and a size > 0: %s\n", (unsigned long long)versions,
                 pkg.dump().substr(0, 300).c_str());
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return pkg;
}

struct PackageCheck {
  bool list = false;           // the version list (else the package object)
  size_t items = 0;            // list: objects expected on the first page
  bool next = false;           // list: a Link rel="next" expected (more than one page)
  std::string size;            // package: the expected `size`, as digits
};

// Empty when the response is what it should be.
std::string check_package_response(const Response& r, const PackageCheck& chk, bool parse_whole) {
  if (chk.list) {
    JsonTop top = scan_json(r.body);
    if (top.kind != '[' || top.objects != chk.items || top.elements != chk.items) {
      return "version list: not a JSON array of " + std::to_string(chk.items) + " objects (" +
             std::to_string(top.objects) + " objects): " + r.body.substr(0, 200);
    }
    if (chk.next && r.link.find("rel=\"next\"") == std::string::npos) return "version list: no Link rel=\"next\"";
    if (parse_whole) {
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (!j.is_array() || j.size() != chk.items) return "version list: does not parse as an array of the right size";
      for (const auto& v : j) {
        if (!v.is_object() || !v.contains("id") || !v["id"].is_number_integer() || !v.contains("name") ||
            !v["name"].is_string() || v["name"].get<std::string>().rfind("sha256:", 0) != 0) {
          return "version list: an element is not a version object: " + v.dump().substr(0, 200);
        }
      }
    }
    return "";
  }
  JsonTop top = scan_json(r.body, "size");
  if (top.kind != '{' || top.number.empty()) return "package: not a JSON object with a numeric size: " + r.body.substr(0, 200);
  if (top.number != chk.size) return "package: size " + std::string(top.number) + ", expected " + chk.size;
  if (parse_whole) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("size") || j["size"].dump() != chk.size) return "package: does not parse, or wrong size";
  }
  return "";
}

Task package_read_worker(Ctx& ctx, const Request* req, const PackageCheck* chk) {
  auto c = conn(ctx);
  bool first = true;
  while (ctx.budget.take()) {
    uint64_t t0 = now_ns();
    Response r = co_await c->roundtrip(*req);
    uint64_t latency = now_ns() - t0;
    if (!r.ok || r.status != 200) {
      ctx.stats.error(r.ok ? "status " + std::to_string(r.status) + " " + r.body.substr(0, 200) : r.error);
      continue;
    }
    std::string err = check_package_response(r, *chk, first);
    first = false;
    if (err.empty()) {
      ctx.stats.ok_latency(latency, r.body.size());
    } else {
      ctx.stats.error(err);
    }
  }
  ctx.loop.worker_done();
}

int scenario_package(Ctx& ctx, bool list) {
  int conc = int(ctx.opt.num("concurrency", 1));
  std::string repo = ctx.opt.str("repo", "bench/package");
  if (repo.find('/') == std::string::npos) {
    std::fprintf(stderr, "--repo must be OWNER/NAME\n");
    return 2;
  }
  uint64_t versions = uint64_t(std::max<int64_t>(2, ctx.opt.num("versions", 10'000)));
  nlohmann::json pkg = ensure_versions(ctx, repo, versions);
  if (pkg.is_discarded()) return 1;
  PackageCheck chk;
  chk.list = list;
  chk.items = size_t(std::min<uint64_t>(30, pkg["version_count"].get<uint64_t>()));
  chk.next = pkg["version_count"].get<uint64_t>() > 30;
  chk.size = pkg["size"].dump();
  Request req;
  req.head = package_head(ctx, package_target(repo) + (list ? "/versions" : ""));
  measured(ctx, std::string(list ? "pkg_versions_c" : "pkg_size_c") + std::to_string(conc), conc,
           [&](int) { package_read_worker(ctx, &req, &chk); },
           {{"versions", double(pkg["version_count"].get<uint64_t>())}, {"package_size", pkg["size"].get<double>()}});
  return ctx.stats.errors ? 1 : 0;
}

void usage() {
  std::fputs(
      "usage: berth-loadgen SCENARIO --port P [--host 127.0.0.1] [--label NAME] [--server-pid PID]\n"
      "                     [--duration S] [--count N] [--concurrency C] [--out FILE] [options]\n"
      "scenarios:\n"
      "  push-mono     --size BYTES            POST + PUT ?digest= with the whole blob\n"
      "  push-chunked  --size BYTES --chunk B  POST + PATCH chunks (Content-Range) + PUT ?digest=\n"
      "  pull          --size BYTES --blobs K [--seed S]  GET pre-pushed blobs, sha256 checked\n"
      "  manifest-get | manifest-head          by tag, pre-built requests\n"
      "  manifest-push --tags N                PUT distinct manifests under N tags\n"
      "  tag-list      --repo R --page N       whole list (N=0) or pages of N following Link\n"
      "  catalog       --repos N --page N      creates N repositories, then lists the catalog\n"
      "  mixed         --push-percent 10       pull manifest+layer / push layer+manifest\n"
      "  pkg-versions  --repo O/N --versions N packages API (Berth only): GET the first page of the version list\n"
      "  pkg-size      --repo O/N --versions N packages API (Berth only): GET the package object (its size)\n"
      "                (both first push manifests until the package has N versions)\n"
      "  report        --in FILE [--sha256-mibps X]   the Markdown comparison table\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  std::string scenario = argv[1];
  if (scenario == "report") return report_main(argc, argv);
  signal(SIGPIPE, SIG_IGN);

  Ctx ctx;
  ctx.opt.scenario = scenario;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) {
      usage();
      return 2;
    }
    ctx.opt.kv[a.substr(2)] = argv[++i];
  }
  ctx.ep.host = ctx.opt.str("host", "127.0.0.1");
  ctx.ep.port = uint16_t(ctx.opt.num("port", 5000));
  ctx.ep.host_header = ctx.ep.host + ":" + std::to_string(ctx.ep.port);
  RAND_bytes(reinterpret_cast<unsigned char*>(&ctx.nonce), sizeof ctx.nonce);
  ctx.rng.seed(ctx.nonce);
  if (auto out = ctx.opt.str("out"); !out.empty()) {
    ctx.out = std::fopen(out.c_str(), "a");
    if (!ctx.out) {
      std::perror(out.c_str());
      return 2;
    }
  }

  if (scenario == "push-mono") return scenario_push(ctx, false);
  if (scenario == "push-chunked") return scenario_push(ctx, true);
  if (scenario == "pull") return scenario_pull(ctx);
  if (scenario == "manifest-get") return scenario_manifest_read(ctx, false);
  if (scenario == "manifest-head") return scenario_manifest_read(ctx, true);
  if (scenario == "manifest-push") return scenario_manifest_push(ctx);
  if (scenario == "tag-list") return scenario_list(ctx, false);
  if (scenario == "catalog") return scenario_catalog(ctx);
  if (scenario == "mixed") return scenario_mixed(ctx);
  if (scenario == "pkg-versions") return scenario_package(ctx, true);
  if (scenario == "pkg-size") return scenario_package(ctx, false);
  usage();
  return 2;
}
