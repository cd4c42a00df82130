// Recording a package event in the transaction of the change it announces (the webhooks' outbox,
// meta/webhook_store.h): called by the version rules (versions_impl.h) and the manifest push.
//
// Internal to meta/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/random.h"
#include "meta/sql_common.h"
#include "meta/sql_rows.h"
#include "meta/webhook_queries.h"

namespace berth::meta::webhook_events {

// "a,b" ⇄ {"a", "b"}: tags and event names hold no commas.
inline std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) (out += out.empty() ? "" : ",") += i;
  return out;
}
inline std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// The subscription an action belongs to.
inline std::string_view subscription_of(std::string_view action) {
  return action == "published" ? "push" : action == "deleted" ? "delete" : "restore";
}

// Records `action` (published | deleted | restored) on a version of the package `repository_id` of
// `owner`, with one delivery per webhook subscribed to it. `tags` is called only when some webhook is.
template <class Connection, class Tags>
Status record(Connection& c, int64_t repository_id, const std::string& owner, std::string_view action,
              const std::string& digest, int64_t version_id, Tags&& tags, int64_t now) {
  std::vector<int64_t> hooks;
  std::string package;
  {
    META_TRY(st, c.prepare(sql::kHooksForPackage));
    sql::bind_all(st, 1, repository_id, owner);
    while (true) {
      META_TRY(row, st.step());
      if (!row) break;
      const auto events = split(st.column_text(1));
      bool subscribed = false;
      for (const auto& e : events) subscribed = subscribed || e == subscription_of(action);
      if (subscribed) hooks.push_back(st.column_int64(0));
      package = st.column_text(2);
    }
  }
  if (hooks.empty()) return Status::Ok();
  META_TRY(tag_list, tags());
  int64_t event_id = 0;
  {
    META_TRY(st, c.prepare(sql::kInsertPackageEvent));
    sql::bind_all(st, 1, owner, package, std::string(action), digest, join(tag_list), version_id, now);
    META_TRY(row, st.step());
    if (!row) return Status(Errc::internal, "package event insert returned no id");
    event_id = st.column_int64(0);
  }
  for (int64_t hook : hooks) {
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kInsertDelivery, hook, event_id, random_hex(16), now, now));
  }
  return Status::Ok();
}

}  // namespace berth::meta::webhook_events
