// `berth-loadgen report`: turns the JSON lines of two runs (labels "distribution" and "berth") into the
// Markdown comparison table of bench/RESULTS.md: metric | Distribution | Berth | ratio | target.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bench {

namespace {

using nlohmann::json;

struct Metric {
  std::string label;   // shown in the first column after the scenario description
  std::string field;   // JSON field
  double scale = 1;    // multiply the field by this
  int decimals = 1;
  std::string target;  // "" or e.g. ">= 10" / "<= 0.2" (on the ratio Berth/Distribution)
  double below = 0;    // Berth-only rows: the absolute target, value < below (0: none)
};

// Scenarios that only Berth serves (Distribution has no packages API): their own table, absolute targets.
bool berth_only(const std::string& scenario) { return scenario.rfind("pkg-", 0) == 0; }

std::string describe(const std::string& name) {
  // push_mono_64M_c8 -> "blob push, monolithic, 64 MiB, c=8"
  std::vector<std::string> parts;
  size_t a = 0;
  while (a <= name.size()) {
    size_t b = name.find('_', a);
    if (b == std::string::npos) b = name.size();
    parts.push_back(name.substr(a, b - a));
    a = b + 1;
  }
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p == "push" && i == 0) add("blob push");
    else if (p == "mono") add("monolithic");
    else if (p == "chunked") add("chunked (8 MiB PATCH)");
    else if (p == "pull") add("blob pull");
    else if (p == "manifest" && i == 0) add(std::string("manifest ") + (parts.size() > 1 ? (parts[1] == "get" ? "GET by tag" : parts[1] == "head" ? "HEAD by tag" : "PUT, one tag each") : ""));
    else if (p == "get" || p == "head" || (p == "push" && i == 1)) continue;
    else if (p == "tags") add("tag list (10k tags)");
    else if (p == "catalog") add("catalog");
    else if (p == "whole") add("whole");
    else if (p.rfind("page", 0) == 0) add("n=" + p.substr(4) + " following Link");
    else if (p == "repo") add("create repositories");
    else if (p == "create") continue;
    else if (p == "mixed") add("mixed 90% pull / 10% push");
    else if (p == "pkg" && i == 0) add(parts.size() > 1 && parts[1] == "versions" ? "version list, first page (per_page=30)" : "package object (its size)");
    else if ((p == "versions" || p == "size") && i == 1 && parts[0] == "pkg") continue;
    else if (p.size() > 1 && p[0] == 'c' && isdigit(static_cast<unsigned char>(p[1]))) add("c=" + p.substr(1));
    else if (!p.empty() && p.back() == 'M') add(p.substr(0, p.size() - 1) + " MiB");
    else add(p);
  }
  return out;
}

std::vector<Metric> metrics_for(const std::string& scenario, const std::string& name) {
  const Metric rss{"peak RSS (MiB)", "server_peak_rss_kib", 1.0 / 1024, 1, "<= 0.33"};
  if (scenario == "push-mono" || scenario == "push-chunked") {
    return {{"throughput (MiB/s)", "mib_per_s", 1, 0, ">= 1.5"},
            {"server CPU (s/GiB)", "server_cpu_s_per_gib", 1, 2, "<= 0.5"},
            rss};
  }
  if (scenario == "pull") {
    return {{"throughput (MiB/s)", "mib_per_s", 1, 0, ""}, {"server CPU (s/GiB)", "server_cpu_s_per_gib", 1, 2, "<= 0.33"}, rss};
  }
  if (scenario == "manifest-get" || scenario == "manifest-head") {
    return {{"req/s", "ops_per_s", 1, 0, ">= 10"},
            {"p50 (ms)", "p50_ms", 1, 2, ""},
            {"p99 (ms)", "p99_ms", 1, 2, "<= 0.2"},
            {"server CPU (µs/req)", "server_cpu_us_per_op", 1, 1, ""},
            rss};
  }
  if (scenario == "manifest-push") {
    return {{"req/s", "ops_per_s", 1, 0, ""}, {"p50 (ms)", "p50_ms", 1, 2, ""}, {"p99 (ms)", "p99_ms", 1, 2, ""}, rss};
  }
  if (scenario == "tag-list" || (scenario == "catalog" && name.rfind("catalog", 0) == 0)) {
    return {{"time per whole list, p50 (ms)", "p50_ms", 1, 2, "<= 0.1"},
            {"time per whole list, p99 (ms)", "p99_ms", 1, 2, ""},
            {"requests per list", "pages_per_op", 1, 0, ""},
            rss};
  }
  if (scenario == "catalog") return {{"repositories/s (3 blobs-or-manifest PUTs + 2 POSTs each)", "ops_per_s", 1, 0, ""}, rss};
  if (scenario == "mixed") {
    return {{"ops/s", "ops_per_s", 1, 0, ""}, {"MiB/s", "mib_per_s", 1, 0, ""}, {"server CPU (s)", "server_cpu_s", 1, 1, ""}, rss};
  }
  if (berth_only(scenario)) {
    return {{"req/s", "ops_per_s", 1, 0, ""},
            {"p50 (ms)", "p50_ms", 1, 2, ""},
            {"p99 (ms)", "p99_ms", 1, 2, "", 5},
            {"server CPU (µs/req)", "server_cpu_us_per_op", 1, 1, ""},
            rss};
  }
  if (scenario == "mixed-detail") {
    return {{"pull op (manifest + 1 MiB layer) p99 (ms)", "pull_p99_ms", 1, 2, ""},
            {"push op (1 MiB layer + manifest) p99 (ms)", "push_p99_ms", 1, 2, ""}};
  }
  return {};
}

std::string section_for(const std::string& scenario) {
  if (scenario.rfind("push", 0) == 0) return "Blob push";
  if (scenario == "pull") return "Blob pull (sha256 of every byte checked by the generator)";
  if (scenario.rfind("manifest", 0) == 0) return "Manifests";
  if (scenario == "tag-list") return "Tag list";
  if (scenario == "catalog") return "Catalog";
  if (scenario.rfind("mixed", 0) == 0) return "Mixed";
  return scenario;
}

std::string fmt(double v, int decimals) {
  char b[64];
  if (std::fabs(v) >= 10000) decimals = 0;
  snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

}  // namespace

int report_main(int argc, char** argv) {
  std::string in_path, sha_mibps, a_label = "distribution", b_label = "berth";
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--in") in_path = argv[i + 1];
    if (k == "--sha256-mibps") sha_mibps = argv[i + 1];
  }
  std::ifstream in(in_path);
  if (!in) {
    std::fprintf(stderr, "report: cannot read %s\n", in_path.c_str());
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> order;  // (name, scenario) in first-seen order
  std::map<std::string, std::map<std::string, json>> by;  // label -> name -> line
  std::string line;
  while (std::getline(in, line)) {
    auto j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("name")) continue;
    std::string name = j["name"], label = j.value("label", ""), scenario = j.value("scenario", "");
    if (!by[label].count(name)) {
      bool seen = false;
      for (auto& o : order) seen = seen || o.first == name;
      if (!seen) order.emplace_back(name, scenario);
    }
    by[label][name] = j;
  }

  auto value = [&](const std::string& label, const std::string& name, const Metric& m) -> std::optional<double> {
    auto l = by.find(label);
    if (l == by.end()) return std::nullopt;
    auto n = l->second.find(name);
    if (n == l->second.end() || !n->second.contains(m.field) || !n->second[m.field].is_number()) return std::nullopt;
    return n->second[m.field].get<double>() * m.scale;
  };

  const bool side_by_side = std::any_of(order.begin(), order.end(), [](const auto& o) { return !berth_only(o.second); });
  if (side_by_side) {
    std::printf("| metric | Distribution | Berth | Berth / Distribution | target (ratio) |\n");
    std::printf("|---|---:|---:|---:|---|\n");
  }
  std::string section;
  int met = 0, missed = 0;
  for (const auto& [name, scenario] : order) {
    if (berth_only(scenario)) continue;
    std::string s = section_for(scenario);
    if (s != section) {
      section = s;
      std::string note;
      if (s == "Blob push" && !sha_mibps.empty()) {
        note = " — for scale: `openssl speed -evp sha256`, one core, 16 KiB blocks = " + sha_mibps + " MiB/s";
      }
      std::printf("| **%s**%s | | | | |\n", s.c_str(), note.c_str());
    }
    for (const Metric& m : metrics_for(scenario, name)) {
      auto a = value(a_label, name, m), b = value(b_label, name, m);
      std::string ratio = "–", mark;
      if (a && b && *a > 0) {
        double r = *b / *a;
        ratio = fmt(r, r < 10 ? 2 : 1);
        if (!m.target.empty()) {
          double t = std::stod(m.target.substr(3));
          bool ok = m.target[0] == '>' ? r >= t : r <= t;
          mark = ok ? " ✓" : " ✗";
          (ok ? met : missed)++;
        }
      }
      std::printf("| %s — %s | %s | %s | %s | %s%s |\n", describe(name).c_str(), m.label.c_str(),
                  a ? fmt(*a, m.decimals).c_str() : "–", b ? fmt(*b, m.decimals).c_str() : "–", ratio.c_str(),
                  m.target.empty() ? "" : m.target.c_str(), mark.c_str());
    }
  }
  // Errors over every scenario.
  auto errors = [&](const std::string& label) {
    int64_t n = 0;
    for (auto& [name, j] : by[label]) {
      if (j.value("scenario", "") != "mixed-detail") n += j.value("errors", int64_t(0));
    }
    return n;
  };
  if (side_by_side) {
    std::printf("| **errors** (status or digest mismatches, all scenarios) | %lld | %lld | | |\n",
                (long long)errors(a_label), (long long)errors(b_label));
    std::printf("\nTargets met: %d, missed: %d (ratio column vs the issue's targets).\n", met, missed);
  }

  // Berth only: no ratio to take, so the issue states absolute targets.
  bool any_berth_only = false;
  int only_met = 0, only_missed = 0;
  int64_t only_errors = 0;
  for (const auto& [name, scenario] : order) {
    if (!berth_only(scenario)) continue;
    auto l = by.find(b_label);
    if (l == by.end() || !l->second.count(name)) continue;
    const json& j = l->second[name];
    if (!any_berth_only) {
      any_berth_only = true;
      std::printf("\n**Berth only — packages API** (GitHub-compatible, `/api/v3/`, docs/packages.md). CNCF Distribution "
                  "has no such API: no comparison, and these rows are not counted in the ratio targets above. Embedded store (SQLite + filesystem), package of %s versions (%s MiB); every "
                  "response checked (status 200, a JSON array of 30 version objects / an object with the package's "
                  "`size`).\n\n",
                  fmt(j.value("versions", 0.0), 0).c_str(), fmt(j.value("package_size", 0.0) / 1048576, 2).c_str());
      std::printf("| metric | Berth | target | met |\n|---|---:|---|---|\n");
    }
    only_errors += j.value("errors", int64_t(0));
    for (const Metric& m : metrics_for(scenario, name)) {
      auto b = value(b_label, name, m);
      std::string target, mark;
      if (m.below > 0) {
        target = "< " + fmt(m.below, 0) + " ms";
        if (b) {
          bool ok = *b < m.below;
          mark = ok ? "✓" : "✗";
          (ok ? only_met : only_missed)++;
        }
      }
      std::printf("| %s — %s | %s | %s | %s |\n", describe(name).c_str(), m.label.c_str(),
                  b ? fmt(*b, m.decimals).c_str() : "–", target.c_str(), mark.c_str());
    }
  }
  if (any_berth_only) {
    std::printf("| **errors** (status or body check failures, these scenarios) | %lld | | |\n", (long long)only_errors);
    std::printf("\nBerth-only targets met: %d, missed: %d (absolute targets).\n", only_met, only_missed);
  }
  // How much other processes (builds, tests, services) used the CPUs while we measured.
  std::vector<double> shares;
  for (const auto& [label, names] : by) {
    for (const auto& [name, j] : names) {
      double wall = j.value("seconds", 0.0), other = j.value("other_cpu_s", 0.0);
      if (wall > 0) shares.push_back(other / wall);
    }
  }
  if (!shares.empty()) {
    std::sort(shares.begin(), shares.end());
    double median = shares[shares.size() / 2], max = shares.back();
    size_t noisy = size_t(std::count_if(shares.begin(), shares.end(), [](double x) { return x > 0.25; }));
    std::printf("\nOther processes on the machine used a median %s%% of one CPU (max %s%%) during the measured phases",
                fmt(100 * median, 0).c_str(), fmt(100 * max, 0).c_str());
    if (noisy) {
      std::printf("; **%zu of %zu measurements had more than 25%%**: those figures are noisier (see the CPU table below); "
                  "re-run on an idle machine to confirm.\n", noisy, shares.size());
    } else {
      std::printf(".\n");
    }
  }
  // The generator's own CPU, to show it is not the bottleneck.
  std::printf("\n<details><summary>CPU seconds per scenario: load generator / other processes on the machine / wall time"
              "</summary>\n\n");
  std::printf("A large middle figure means something else (a build, another test) shared the CPUs during that scenario.\n\n");
  std::printf("| scenario | vs Distribution | vs Berth |\n|---|---:|---:|\n");
  for (const auto& [name, scenario] : order) {
    if (scenario == "mixed-detail") continue;
    auto cell = [&](const std::string& label) -> std::string {
      auto l = by.find(label);
      if (l == by.end() || !l->second.count(name)) return "–";
      const json& j = l->second[name];
      return fmt(j.value("client_cpu_s", 0.0), 1) + " / " + fmt(j.value("other_cpu_s", 0.0), 1) + " / " +
             fmt(j.value("seconds", 0.0), 1);
    };
    std::printf("| %s | %s | %s |\n", describe(name).c_str(), cell(a_label).c_str(), cell(b_label).c_str());
  }
  std::printf("\n</details>\n");

  // Peak RSS split: shared libraries' pages count in VmHWM; anonymous memory is what the server allocates.
  std::printf("\n<details><summary>Peak RSS split: total (VmHWM) / anonymous (RssAnon, sampled every 100 ms), MiB"
              "</summary>\n\n");
  std::printf("| scenario | Distribution | Berth | anonymous: Berth / Distribution |\n|---|---:|---:|---:|\n");
  for (const auto& [name, scenario] : order) {
    if (scenario == "mixed-detail") continue;
    auto get = [&](const std::string& label, const char* field) -> std::optional<double> {
      auto l = by.find(label);
      if (l == by.end() || !l->second.count(name) || !l->second[name].contains(field)) return std::nullopt;
      return l->second[name][field].get<double>() / 1024;
    };
    auto cell = [&](const std::string& label) -> std::string {
      auto t = get(label, "server_peak_rss_kib"), a = get(label, "server_peak_anon_kib");
      if (!t) return "–";
      return fmt(*t, 1) + " / " + (a ? fmt(*a, 1) : std::string("–"));
    };
    auto aa = get(a_label, "server_peak_anon_kib"), ba = get(b_label, "server_peak_anon_kib");
    std::string ratio = aa && ba && *aa > 0 ? fmt(*ba / *aa, 2) : "–";
    std::printf("| %s | %s | %s | %s |\n", describe(name).c_str(), cell(a_label).c_str(), cell(b_label).c_str(),
                ratio.c_str());
  }
  std::printf("\n</details>\n");
  // First errors, if any.
  for (const auto& label : {a_label, b_label}) {
    for (auto& [name, j] : by[label]) {
      if (j.contains("first_error")) {
        std::printf("\n- %s / %s: %lld errors, first: `%s`", label.c_str(), name.c_str(),
                    (long long)j.value("errors", int64_t(0)), j["first_error"].get<std::string>().c_str());
      }
    }
  }
  std::printf("\n");
  return 0;
}

}  // namespace bench
