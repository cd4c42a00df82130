#include "meta/migrations.h"

#include <array>

namespace berth::meta {
namespace {

// Version 1: repositories, blobs and their links, upload sessions, manifests, their references, tags.
//
// Digests and names are TEXT with byte-order collation wherever they are listed or paginated on.
// Manifest rows are keyed by (repository, digest): the same bytes pushed to two repositories are two
// rows, so deleting one never affects the other.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE repository (
  id {{ID}},
  name TEXT {{BYTE_ORDER}} NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);

CREATE TABLE blob (
  digest TEXT {{BYTE_ORDER}} NOT NULL PRIMARY KEY,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE repository_blob (
  repository_id BIGINT NOT NULL REFERENCES repository(id),
  digest TEXT {{BYTE_ORDER}} NOT NULL REFERENCES blob(digest),
  created_at BIGINT NOT NULL,
  PRIMARY KEY (repository_id, digest)
);

CREATE TABLE upload (
  id TEXT NOT NULL PRIMARY KEY,
  repository_id BIGINT NOT NULL REFERENCES repository(id),
  byte_offset BIGINT NOT NULL,
  hash_state {{BLOB}} NOT NULL,
  storage_state {{BLOB}} NOT NULL,
  started_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX upload_by_updated_at ON upload (updated_at);

CREATE TABLE manifest (
  repository_id BIGINT NOT NULL REFERENCES repository(id),
  digest TEXT {{BYTE_ORDER}} NOT NULL,
  media_type TEXT NOT NULL,
  artifact_type TEXT,
  content {{BLOB}} NOT NULL,
  subject TEXT {{BYTE_ORDER}},
  annotations TEXT NOT NULL,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (repository_id, digest)
);
CREATE INDEX manifest_by_subject ON manifest (repository_id, subject, digest);

CREATE TABLE manifest_ref (
  repository_id BIGINT NOT NULL,
  manifest_digest TEXT {{BYTE_ORDER}} NOT NULL,
  child_digest TEXT {{BYTE_ORDER}} NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('blob', 'manifest')),
  PRIMARY KEY (repository_id, manifest_digest, child_digest, kind),
  FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifest(repository_id, digest)
);
CREATE INDEX manifest_ref_by_child ON manifest_ref (child_digest, kind);

CREATE TABLE tag (
  repository_id BIGINT NOT NULL,
  name TEXT {{BYTE_ORDER}} NOT NULL,
  manifest_digest TEXT {{BYTE_ORDER}} NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (repository_id, name),
  FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifest(repository_id, digest)
);
CREATE INDEX tag_by_manifest ON tag (repository_id, manifest_digest);
)sql";

// Version 2: identity — accounts (users and organizations in one namespace, since either owns the first
// path component of a repository name), org memberships, access tokens, package visibility and
// per-user package roles, and the audit log.
//
// Booleans are BIGINT 0/1: SQLite has no boolean type, and one integer type keeps both drivers binding
// int64 everywhere. Roles, kinds and visibilities carry no CHECK except account.kind: adding a role later
// would otherwise need a table rebuild, which migrations may not do. Token scopes and packages are
// comma-separated lists ('' for none); neither scopes nor repository names can contain a comma.
// Existing repositories become 'private' (the column default), the safe choice.
constexpr std::string_view kV2 = R"sql(
CREATE TABLE account (
  id {{ID}},
  name TEXT {{BYTE_ORDER}} NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'org')),
  password_hash TEXT NOT NULL DEFAULT '',
  default_visibility TEXT NOT NULL DEFAULT 'private',
  create_on_push BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL
);

CREATE TABLE membership (
  org_id BIGINT NOT NULL REFERENCES account(id),
  user_id BIGINT NOT NULL REFERENCES account(id),
  role TEXT NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX membership_by_user ON membership (user_id);

CREATE TABLE token (
  id {{ID}},
  user_id BIGINT NOT NULL REFERENCES account(id),
  hash TEXT NOT NULL UNIQUE,
  hint TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  scopes TEXT NOT NULL,
  packages TEXT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT
);
CREATE INDEX token_by_user ON token (user_id, id);

ALTER TABLE repository ADD COLUMN visibility TEXT NOT NULL DEFAULT 'private';

CREATE TABLE package_role (
  repository_id BIGINT NOT NULL REFERENCES repository(id),
  user_id BIGINT NOT NULL REFERENCES account(id),
  role TEXT NOT NULL,
  PRIMARY KEY (repository_id, user_id)
);
CREATE INDEX package_role_by_user ON package_role (user_id);

CREATE TABLE audit_event (
  id {{ID}},
  at BIGINT NOT NULL,
  actor TEXT {{BYTE_ORDER}} NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  outcome TEXT NOT NULL,
  remote TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_event_by_actor ON audit_event (actor, id);
)sql";

// Version 3: a per-repository counter of tag changes, so that a node may keep a rendered tag list and
// know, with one indexed read, whether it is still current (api/tag_list_cache.h). Every statement that
// inserts, retags or deletes tags increments it in the same transaction (sql_metadata_store_impl.h).
constexpr std::string_view kV3 = R"sql(
ALTER TABLE repository ADD COLUMN tag_version BIGINT NOT NULL DEFAULT 0;
)sql";

constexpr std::array kMigrations = {
    Migration{1, kV1},
    Migration{2, kV2},
    Migration{3, kV3},
};

struct Token {
  std::string_view name;
  std::string_view sqlite;
  std::string_view postgres;
};

constexpr std::array kTokens = {
    Token{"{{BLOB}}", "BLOB", "BYTEA"},
    Token{"{{ID}}", "INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
    Token{"{{BYTE_ORDER}}", "COLLATE BINARY", "COLLATE \"C\""},
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

std::string render(std::string_view sql, Dialect dialect) {
  std::string out;
  out.reserve(sql.size());
  size_t i = 0;
  while (i < sql.size()) {
    bool replaced = false;
    if (sql[i] == '{') {
      for (const Token& t : kTokens) {
        if (sql.substr(i, t.name.size()) == t.name) {
          out += dialect == Dialect::sqlite ? t.sqlite : t.postgres;
          i += t.name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += sql[i++];
  }
  return out;
}

}  // namespace berth::meta
