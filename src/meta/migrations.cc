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

// Version 4: packages (docs/packages.md). A version is a top-level manifest with what belongs to it;
// soft delete; sizes kept up to date incrementally; download counts.
// - manifest.deleted_at: set while soft-deleted (hidden from /v2/ until purged); deleted_in: the
//   package_version whose deletion removed it (restoring that version brings it back), 0 when the
//   manifest was deleted on its own (a referrer deleted through /v2/).
// - repository: a deleted package gives its name up (name holds "~deleted/<id>", which no valid name
//   can equal; deleted_name the original), so that pushing the name again creates a new package.
//   versions_ready = 0 marks repositories whose versions have not been built from their manifests yet
//   (those that existed before this migration; new rows get 1): the store builds them when it opens.
// - blob.live_versions, package_blob, owner_blob: how many live versions reference each blob, globally,
//   per package and per owner, so that a version's unique size and the package and owner totals (each
//   blob counted once) are maintained on every change rather than computed by scanning.
// - deleted_tag: the tags a deleted version had, put back when it is restored.
// - The indexes over deleted rows are partial: a push adds no entry to them (every entry is a page
//   written to the WAL; measured on manifest PUTs).
// - package_version.members: how many manifests the version has (1: only its top-level one), so a listing
//   walks the parts of only those that have any. Version ids never come back (AUTOINCREMENT), and
//   repository rows are never deleted (a purged package stays as a tombstone), so an id a client holds
//   can never name another version or package.
constexpr std::string_view kV4 = R"sql(
ALTER TABLE manifest ADD COLUMN deleted_at BIGINT;
ALTER TABLE manifest ADD COLUMN deleted_in BIGINT;

ALTER TABLE repository ADD COLUMN deleted_at BIGINT;
ALTER TABLE repository ADD COLUMN deleted_name TEXT {{BYTE_ORDER}};
ALTER TABLE repository ADD COLUMN versions_ready BIGINT NOT NULL DEFAULT 1;
UPDATE repository SET versions_ready = 0;
ALTER TABLE repository ADD COLUMN version_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE repository ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE repository ADD COLUMN downloads BIGINT NOT NULL DEFAULT 0;
ALTER TABLE repository ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE repository SET updated_at = created_at;
CREATE INDEX repository_by_deleted_name ON repository (deleted_name, deleted_at);

ALTER TABLE blob ADD COLUMN live_versions BIGINT NOT NULL DEFAULT 0;

CREATE TABLE package_version (
  id {{SERIAL_ID}},
  repository_id BIGINT NOT NULL REFERENCES repository(id),
  digest TEXT {{BYTE_ORDER}} NOT NULL,
  media_type TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT,
  deleted_with_package BIGINT NOT NULL DEFAULT 0,
  size BIGINT NOT NULL DEFAULT 0,
  members BIGINT NOT NULL DEFAULT 1,
  downloads BIGINT NOT NULL DEFAULT 0,
  description TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL DEFAULT '',
  licenses TEXT NOT NULL DEFAULT '',
  UNIQUE (repository_id, digest)
);
CREATE INDEX package_version_newest ON package_version (repository_id, created_at, id);
CREATE INDEX package_version_deleted ON package_version (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE version_blob (
  version_id BIGINT NOT NULL REFERENCES package_version(id),
  digest TEXT {{BYTE_ORDER}} NOT NULL,
  PRIMARY KEY (version_id, digest)
);

CREATE TABLE package_blob (
  repository_id BIGINT NOT NULL REFERENCES repository(id),
  digest TEXT {{BYTE_ORDER}} NOT NULL,
  versions BIGINT NOT NULL,
  PRIMARY KEY (repository_id, digest)
);

CREATE TABLE owner_blob (
  owner TEXT {{BYTE_ORDER}} NOT NULL,
  digest TEXT {{BYTE_ORDER}} NOT NULL,
  versions BIGINT NOT NULL,
  PRIMARY KEY (owner, digest)
);

CREATE TABLE owner_usage (
  owner TEXT {{BYTE_ORDER}} NOT NULL PRIMARY KEY,
  size BIGINT NOT NULL
);

CREATE TABLE deleted_tag (
  version_id BIGINT NOT NULL REFERENCES package_version(id),
  name TEXT {{BYTE_ORDER}} NOT NULL,
  manifest_digest TEXT {{BYTE_ORDER}} NOT NULL,
  PRIMARY KEY (version_id, name)
);

CREATE INDEX manifest_deleted ON manifest (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX manifest_deleted_in ON manifest (repository_id, deleted_in) WHERE deleted_at IS NOT NULL;
)sql";

// Version 5: teams inside an org, as GitHub has them: members (users of the org) and a role per package
// of the org, counted like a per-user package role (IdentityStore::access_facts reads them with the rest).
// - team_member is keyed (team, user) and indexed by user: access_facts starts from the caller.
// - team_package_role is keyed (repository, team): access_facts looks a (repository, team) pair up, and
//   deleting a repository (purging a deleted package) takes its team roles with it through the cascade,
//   so the code that purges repositories need not know about teams.
constexpr std::string_view kV5 = R"sql(
CREATE TABLE team (
  id {{ID}},
  org_id BIGINT NOT NULL REFERENCES account(id),
  name TEXT {{BYTE_ORDER}} NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (org_id, name)
);

CREATE TABLE team_member (
  team_id BIGINT NOT NULL REFERENCES team(id),
  user_id BIGINT NOT NULL REFERENCES account(id),
  PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_member_by_user ON team_member (user_id, team_id);

CREATE TABLE team_package_role (
  team_id BIGINT NOT NULL REFERENCES team(id),
  repository_id BIGINT NOT NULL REFERENCES repository(id) ON DELETE CASCADE,
  role TEXT NOT NULL,
  PRIMARY KEY (repository_id, team_id)
);
CREATE INDEX team_package_role_by_team ON team_package_role (team_id);
)sql";

// Version 6: what garbage collection needs (docs/lifecycle.md, "The collector's invariant").
// - blob.state: 0 live (whole and verified in the BlobStore), 1 pending (an upload is writing the object:
//   the row exists before the object so that a collector never deletes what an upload is about to name),
//   2 deleting (a collector is removing the object; uploads of the digest wait until the row is gone),
//   3 damaged (fsck found the object missing or corrupt; the next upload of the digest writes it anew).
//   Only live rows are served, linked or named by manifests.
// - blob.last_seen_at: the last upload, link, mount or read of the blob; the grace period counts from it.
// - repository_blob_by_digest: a collector removes every link of a blob it marks.
// - blob_not_live: the few rows in states other than live, found without a scan.
// - lease: one collector at a time in a fleet (holder, expiry), and where its walks have got to.
constexpr std::string_view kV6 = R"sql(
ALTER TABLE blob ADD COLUMN state BIGINT NOT NULL DEFAULT 0;
ALTER TABLE blob ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE blob SET last_seen_at = created_at;
CREATE INDEX repository_blob_by_digest ON repository_blob (digest);
CREATE INDEX blob_not_live ON blob (state, digest) WHERE state <> 0;

CREATE TABLE lease (
  name TEXT {{BYTE_ORDER}} NOT NULL PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  progress TEXT NOT NULL DEFAULT ''
);
)sql";

// Version 7: tag rules (docs/lifecycle.md, "Immutable tags and the semver policy").
// - tag_rule: a tag pattern that is immutable once pushed, for every package of an owner
//   (repository_id NULL) or for one package. Kept by owner name, as owner_usage is, so a rule can be
//   set before the owner's first push.
// - repository.semver_policy: 0 off; 1 semantic-version tags are immutable and a new release must be
//   newer than every release of the package; 2 as 1, and a release that is the newest of its line moves
//   the floating tags of the line (1.2.3 moves 1.2 and 1) in the same transaction.
constexpr std::string_view kV7 = R"sql(
CREATE TABLE tag_rule (
  id {{SERIAL_ID}},
  owner TEXT {{BYTE_ORDER}} NOT NULL,
  repository_id BIGINT REFERENCES repository(id) ON DELETE CASCADE,
  pattern TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX tag_rule_by_owner ON tag_rule (owner, repository_id);
ALTER TABLE repository ADD COLUMN semver_policy BIGINT NOT NULL DEFAULT 0;
)sql";

// Version 8: retention policies (docs/lifecycle.md, "Retention"), per owner (repository_id NULL) or per
// package (which then replaces its owner's). The policy is JSON: its rules are read and validated by
// lifecycle/retention, and a new kind of rule needs no migration.
constexpr std::string_view kV8 = R"sql(
CREATE TABLE retention_policy (
  owner TEXT {{BYTE_ORDER}} NOT NULL,
  repository_id BIGINT NOT NULL DEFAULT 0,
  policy TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (owner, repository_id)
);
)sql";

// Version 9: storage quotas (docs/lifecycle.md, "Quotas"): a limit in bytes for an owner (repository_id
// 0) or one package, checked against owner_usage.size and repository.size — each blob counted once —
// inside the manifest push that would exceed it.
constexpr std::string_view kV9 = R"sql(
CREATE TABLE quota (
  owner TEXT {{BYTE_ORDER}} NOT NULL,
  repository_id BIGINT NOT NULL DEFAULT 0,
  limit_bytes BIGINT NOT NULL,
  PRIMARY KEY (owner, repository_id)
);
)sql";

// Version 10: webhooks and their outbox (docs/webhooks.md; meta/webhook_store.h), and tag-schema
// attachments (ManifestRecord::attached_to).
// - webhook: a URL with its HMAC secret, for every package of an owner (package NULL) or for one, and
//   the events it takes (comma-separated: push, delete, restore).
// - package_event: a change to a package, recorded in the transaction that made it when some webhook
//   is subscribed; webhook_delivery: one per webhook and event, pending until delivered or given up
//   (state 0 pending, 1 delivered, 2 failed), claimed by one sender at a time (claimed_until).
constexpr std::string_view kV10 = R"sql(
CREATE TABLE webhook (
  id {{SERIAL_ID}},
  owner TEXT {{BYTE_ORDER}} NOT NULL,
  package TEXT {{BYTE_ORDER}},
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  events TEXT NOT NULL,
  active BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX webhook_by_owner ON webhook (owner);

CREATE TABLE package_event (
  id {{SERIAL_ID}},
  owner TEXT {{BYTE_ORDER}} NOT NULL,
  package TEXT {{BYTE_ORDER}} NOT NULL,
  action TEXT NOT NULL,
  digest TEXT NOT NULL,
  tags TEXT NOT NULL,
  version_id BIGINT NOT NULL,
  at BIGINT NOT NULL
);

CREATE TABLE webhook_delivery (
  id {{SERIAL_ID}},
  webhook_id BIGINT NOT NULL,
  event_id BIGINT NOT NULL,
  guid TEXT NOT NULL,
  state BIGINT NOT NULL DEFAULT 0,
  attempts BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  claimed_until BIGINT NOT NULL DEFAULT 0,
  last_status BIGINT NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  delivered_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at, id) WHERE state = 0;
CREATE INDEX webhook_delivery_by_hook ON webhook_delivery (webhook_id, id);
CREATE INDEX webhook_delivery_by_event ON webhook_delivery (event_id);

ALTER TABLE manifest ADD COLUMN attached_to TEXT {{BYTE_ORDER}};
CREATE INDEX manifest_by_attachment ON manifest (repository_id, attached_to) WHERE attached_to IS NOT NULL;
)sql";

// Upload sessions say who opened them and from where, so that the open ones can be capped per account
// and per client address (issue 13, finding 10); sessions without a byte expire sooner than the rest.
constexpr std::string_view kV11 = R"sql(
ALTER TABLE upload ADD COLUMN opened_by TEXT NOT NULL DEFAULT '';
ALTER TABLE upload ADD COLUMN opened_from TEXT NOT NULL DEFAULT '';
CREATE INDEX upload_by_opener ON upload (opened_by);
CREATE INDEX upload_by_address ON upload (opened_from);

-- Revocation epochs (finding 9): a bearer JWT carries the sum of its user's epoch and the registry's
-- (subject '') from when it was issued; taking rights away bumps one, and a JWT whose sum is no longer
-- current is refused.
CREATE TABLE auth_epoch (
  subject TEXT NOT NULL PRIMARY KEY,
  epoch BIGINT NOT NULL
);
)sql";

constexpr std::array kMigrations = {
    Migration{1, kV1},
    Migration{2, kV2},
    Migration{3, kV3},
    Migration{4, kV4},
    Migration{5, kV5},
    Migration{6, kV6},
    Migration{7, kV7},
    Migration{8, kV8},
    Migration{9, kV9},
    Migration{10, kV10},
    Migration{11, kV11},
};

struct Token {
  std::string_view name;
  std::string_view sqlite;
  std::string_view postgres;
};

constexpr std::array kTokens = {
    Token{"{{BLOB}}", "BLOB", "BYTEA"},
    Token{"{{ID}}", "INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
    // Ids a client keeps and that must never name another row after theirs is deleted: SQLite reuses
    // the highest rowid after a delete unless told AUTOINCREMENT (PostgreSQL's identity never does).
    Token{"{{SERIAL_ID}}", "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
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
