#!/usr/bin/env bash
# The real GitHub CLI (gh, as Debian ships it) against Berth's GitHub-compatible packages API
# (docs/packages.md), over TLS with a test CA, the way scripts written for GHCR run against Berth with
# GH_HOST pointing at it:
#   1. `gh auth status --hostname HOST` accepts a Berth personal access token;
#   2. `gh api --paginate` lists every version of a package of three pages; --jq picks the tags;
#   3. `gh api --method DELETE` a version, list it with state=deleted, `--method POST …/restore` it,
#      and skopeo pulls it again;
#   4. a cleanup job in the style of actions/delete-package-versions, written with gh api + jq (delete
#      the untagged versions, then keep the newest 5), against 12 versions of which one is a multi-arch
#      index with a signature: exactly the right versions remain and every remaining tag pulls with
#      podman (on GHCR, "delete untagged" would have deleted the index's platform manifests).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init openssl skopeo podman umoci gh sha256sum
e2e_containers_env

[[ -z "${BERTH_TEST_REGISTRY:-}" ]] || skip "needs its own Berth (TLS, authentication on, identities made with berth admin)"
[[ "${BERTH_TEST_SERVER:-berth}" == berth ]] || skip "tests Berth's packages API"
export BERTH_AUTH_ENABLED=true

step "make a CA and a server certificate"
pki="$WORK/pki"
e2e_make_pki "$pki"
certs="$WORK/certs"
mkdir -p "$certs"
cp "$pki/ca.crt" "$certs/ca.crt"
export E2E_CA_CERT="$pki/ca.crt"

step "build the test images (amd64 and arm64)"
src="$WORK/src"
e2e_build_image "$src" 1.0 >/dev/null
base_digest="$(oci_tag_digest "$src" 1.0)"
src_arm="$WORK/src-arm64"
e2e_build_image "$src_arm" arm64 --arch arm64 >/dev/null

step "identities: alice, org acme (admin alice), a PAT with read, write and delete"
e2e_admin user create alice
e2e_admin org create acme --admin alice
PAT="$(e2e_admin token create --user alice --scopes read:packages,write:packages,delete:packages --name gh)"
[[ "$PAT" =~ ^berth_pat_ ]] || fail "token create printed '$PAT'"

e2e_registry_start --tls "$pki/server.crt" "$pki/server.key"
port="${REG##*:}"
NAME="acme/gh/app"
REPO="$REG/$NAME"
PKG="/orgs/acme/packages/container/gh%2Fapp"   # nested name, URL-encoded as GitHub does

# gh: the Enterprise host is Berth; a private config directory; nothing interactive, no colours.
mkdir -p "$WORK/gh-config" "$WORK/xdg"
export GH_HOST="$REG" GH_ENTERPRISE_TOKEN="$PAT" SSL_CERT_FILE="$pki/ca.crt" GH_CONFIG_DIR="$WORK/gh-config"
export GH_PROMPT_DISABLED=1 NO_COLOR=1 GH_NO_UPDATE_NOTIFIER=1 GH_PAGER=cat PAGER=cat CLICOLOR=0
export XDG_CONFIG_HOME="$WORK/xdg/config" XDG_STATE_HOME="$WORK/xdg/state" XDG_DATA_HOME="$WORK/xdg/data" XDG_CACHE_HOME="$WORK/xdg/cache"
unset GH_TOKEN GITHUB_TOKEN GITHUB_ENTERPRISE_TOKEN GH_REPO

# ghj ARGS...: `gh api ARGS...`, its stdout in $RUN_OUT; fails the test unless gh exits 0.
ghj() { run gh api "$@"; }
# curl as alice against the registry (TLS with the test CA).
acurl() { e2e_curl -u "alice:$PAT" "$@"; }

# put_manifest REFERENCE MEDIA_TYPE FILE: PUT /v2/$NAME/manifests/REFERENCE; prints the digest.
put_manifest() {
  local code
  code="$(acurl -o "$WORK/put.out" -w '%{http_code}' -X PUT -H "Content-Type: $2" --data-binary "@$3" \
    "https://$REG/v2/$NAME/manifests/$1")"
  [[ "$code" == 201 ]] || fail "PUT /v2/$NAME/manifests/$1 answered $code: $(cat "$WORK/put.out")"
  echo "sha256:$(sha256sum "$3" | cut -d' ' -f1)"
}
# push_blob FILE: a monolithic upload to $NAME; prints the digest.
push_blob() {
  local digest location code
  digest="sha256:$(sha256sum "$1" | cut -d' ' -f1)"
  location="$(acurl -o /dev/null -D - -X POST "https://$REG/v2/$NAME/blobs/uploads/" | tr -d '\r' |
    awk 'tolower($1) == "location:" {print $2}')"
  [[ -n "$location" ]] || fail "no upload Location for $NAME"
  [[ "$location" == http* ]] || location="https://$REG$location"
  [[ "$location" == *\?* ]] && location+="&" || location+="?"
  code="$(acurl -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary "@$1" "${location}digest=$digest")"
  [[ "$code" == 201 ]] || fail "blob upload of $1 answered $code"
  echo "$digest"
}
# delete_tag TAG: DELETE /v2/$NAME/manifests/TAG (the tag only).
delete_tag() {
  local code
  code="$(acurl -o /dev/null -w '%{http_code}' -X DELETE "https://$REG/v2/$NAME/manifests/$1")"
  [[ "$code" == 202 ]] || fail "DELETE tag $1 answered $code"
}

# ---------------------------------------------------------------------------------------------------
# A failure of `gh auth status` is reported at the end, so that the gh api steps (which do not depend on
# it) still run and report their own results.
DEFERRED_FAILURES=()
# auth_status HOST: `gh auth status --hostname HOST` must exit 0 and say alice is logged in.
auth_status() {
  local rc=0 out="$WORK/logs/auth-status-$1.log"
  timeout --kill-after=10 "$E2E_TIMEOUT" env GH_HOST="$1" gh auth status --hostname "$1" >"$out" 2>&1 || rc=$?
  if ((rc != 0)) || ! grep -q "Logged in to $1 as alice" "$out"; then
    log "gh auth status --hostname $1 failed (exit $rc): $(cat "$out")"
    DEFERRED_FAILURES+=("gh auth status --hostname $1 (exit $rc): $(tr '\n' ' ' <"$out")")
  fi
}
step "1. gh auth status --hostname $GH_HOST"
auth_status "$GH_HOST"
if getent hosts localhost | grep -q '127.0.0.1'; then
  auth_status "localhost:$port"
fi
run gh api /user --jq .login
assert_eq "$(cat "$RUN_OUT")" alice "gh api /user"

# ---------------------------------------------------------------------------------------------------
step "push 12 versions of $NAME: 8 tagged, 4 untagged, the newest a multi-arch index with a signature"
# The image's blobs once (with its manifest M0 under a seed tag), then 11 manifests that differ from M0
# only by an annotation, then an index over M0 (amd64) and an arm64 manifest.
run skopeo copy --preserve-digests --dest-cert-dir "$certs" --dest-creds "alice:$PAT" "oci:$src:1.0" "docker://$REPO:seed"
m0="$(oci_blob "$src" "$base_digest")"
declare -A DIGEST_OF   # version number → digest
tagged=(1 2 4 6 8 9 11)
for i in $(seq 1 11); do
  f="$WORK/manifest-$i.json"
  printf '%s' "$(jq -c --arg n "$i" '.annotations = ((.annotations // {}) + {"e2e.version": $n})' "$m0")" >"$f"
  ref="sha256:$(sha256sum "$f" | cut -d' ' -f1)"
  [[ " ${tagged[*]} " == *" $i "* ]] && ref="v$i"
  DIGEST_OF[$i]="$(put_manifest "$ref" application/vnd.oci.image.manifest.v1+json "$f")"
done
run skopeo copy --preserve-digests --dest-cert-dir "$certs" --dest-creds "alice:$PAT" "oci:$src_arm:arm64" "docker://$REPO:seed-arm64"
arm_digest="$(oci_tag_digest "$src_arm" arm64)"
arm_file="$(oci_blob "$src_arm" "$arm_digest")"
jq -cn --arg d0 "$base_digest" --argjson s0 "$(stat -c %s "$m0")" --arg d1 "$arm_digest" --argjson s1 "$(stat -c %s "$arm_file")" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [
     {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d0, size: $s0, platform: {architecture: "amd64", os: "linux"}},
     {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d1, size: $s1, platform: {architecture: "arm64", os: "linux"}}]}' |
  tr -d '\n' >"$WORK/index.json"
DIGEST_OF[12]="$(put_manifest v12 application/vnd.oci.image.index.v1+json "$WORK/index.json")"
delete_tag seed
delete_tag seed-arm64
# A signature on the index: an artifact with the empty config and one layer.
printf '{}' >"$WORK/empty.json"
printf 'signature of %s' "${DIGEST_OF[12]}" >"$WORK/sig.bin"
empty_digest="$(push_blob "$WORK/empty.json")"
sig_layer="$(push_blob "$WORK/sig.bin")"
jq -cn --arg e "$empty_digest" --arg l "$sig_layer" --argjson ls "$(stat -c %s "$WORK/sig.bin")" \
  --arg s "${DIGEST_OF[12]}" --argjson ss "$(stat -c %s "$WORK/index.json")" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    config: {mediaType: "application/vnd.oci.empty.v1+json", digest: $e, size: 2},
    layers: [{mediaType: "application/octet-stream", digest: $l, size: $ls}],
    subject: {mediaType: "application/vnd.oci.image.index.v1+json", digest: $s, size: $ss}}' | tr -d '\n' >"$WORK/sig.json"
sig_digest="sha256:$(sha256sum "$WORK/sig.json" | cut -d' ' -f1)"
put_manifest "$sig_digest" application/vnd.oci.image.manifest.v1+json "$WORK/sig.json" >/dev/null

# ---------------------------------------------------------------------------------------------------
step "2. gh api --paginate lists all 12 versions, 5 a page (3 pages)"
ghj --paginate "$PKG/versions?per_page=5" --jq '.[].name'
sort "$RUN_OUT" >"$WORK/listed.txt"
for i in $(seq 1 12); do echo "${DIGEST_OF[$i]}"; done | sort >"$WORK/pushed.txt"
diff -u "$WORK/pushed.txt" "$WORK/listed.txt" >"$WORK/diff.txt" ||
  fail "gh api --paginate did not list exactly the 12 versions: $(cat "$WORK/diff.txt")"
assert_eq "$(wc -l <"$RUN_OUT")" 12 "versions listed by gh api --paginate (no duplicates)"
ghj --paginate "$PKG/versions?per_page=5" --jq '.[].id'
cp "$RUN_OUT" "$WORK/ids-newest-first.txt"
ghj "$PKG/versions?per_page=1" --jq '.[0].name'
assert_eq "$(cat "$RUN_OUT")" "${DIGEST_OF[12]}" "the newest version (first of the list)"
ghj --paginate "$PKG/versions?per_page=5" --jq '.[].metadata.container.tags'
tags="$(jq -sc 'add | sort' "$RUN_OUT")"
assert_eq "$tags" '["v1","v11","v12","v2","v4","v6","v8","v9"]' "tags listed with --jq .[].metadata.container.tags"
ghj "$PKG/versions?per_page=1" --jq '.[0].metadata.container | [(.platforms | length), (.referrers | length), .referrers[0].digest] | @tsv'
assert_eq "$(cat "$RUN_OUT")" "$(printf '2\t1\t%s' "$sig_digest")" "platforms and referrers of the index version"
ghj "$PKG" --jq '[.name, .version_count, .owner.login] | @tsv'
assert_eq "$(cat "$RUN_OUT")" "$(printf 'gh/app\t12\tacme')" "the package as gh api sees it"
ghj --paginate "/orgs/acme/packages?package_type=container&per_page=1" --jq '.[].name'
assert_eq "$(cat "$RUN_OUT")" "gh/app" "gh api --paginate of the org's packages"

# ---------------------------------------------------------------------------------------------------
step "3. gh api --method DELETE a version, list state=deleted, restore it, pull it with skopeo"
ghj --paginate "$PKG/versions?per_page=100" --jq '.[] | select(.metadata.container.tags | index("v4")) | .id'
v4_id="$(cat "$RUN_OUT")"
[[ "$v4_id" =~ ^[0-9]+$ ]] || fail "no version id for tag v4: '$v4_id'"
ghj --method DELETE "$PKG/versions/$v4_id"
[[ ! -s "$RUN_OUT" ]] || fail "DELETE printed something: $(cat "$RUN_OUT")"
ghj "$PKG/versions?state=deleted" --jq '.[] | [.id, .deleted_at != null, (.metadata.container.tags | join(","))] | @tsv'
assert_eq "$(cat "$RUN_OUT")" "$(printf '%s\ttrue\tv4' "$v4_id")" "the deleted listing"
run_fails skopeo inspect --cert-dir "$certs" --creds "alice:$PAT" "docker://$REPO:v4"
grep -qiE 'manifest unknown|not found' "$RUN_OUT" || fail "a deleted version still pulls: $(tail -n 3 "$RUN_OUT")"
# A second delete of the same version is a 404 that gh reports.
run_fails gh api --method DELETE "$PKG/versions/$v4_id"
grep -q 'HTTP 404' "$RUN_OUT" || fail "second DELETE: $(cat "$RUN_OUT")"
ghj --method POST "$PKG/versions/$v4_id/restore"
ghj "$PKG/versions?state=deleted" --jq 'length'
assert_eq "$(cat "$RUN_OUT")" 0 "deleted versions after the restore"
run skopeo copy --src-cert-dir "$certs" --src-creds "alice:$PAT" "docker://$REPO:v4" "oci:$WORK/restored:v4"
assert_eq "$(oci_tag_digest "$WORK/restored" v4)" "${DIGEST_OF[4]}" "digest of v4 pulled after the restore"

# ---------------------------------------------------------------------------------------------------
step "4. a cleanup job with gh api + jq: delete untagged versions, then keep the newest 5"
# As a workflow would run actions/delete-package-versions twice: first with delete-only-untagged-versions,
# then with min-versions-to-keep: 5. The API lists versions newest first.
cleanup_start=$SECONDS
cat >"$WORK/cleanup.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
pkg="$1" keep="$2"
# The ids are collected before anything is deleted: deleting while paging would shift the pages.
mapfile -t untagged < <(gh api --paginate "$pkg/versions?per_page=100" \
  --jq '.[] | select(.metadata.container.tags | length == 0) | .id')
for id in "${untagged[@]}"; do gh api --silent --method DELETE "$pkg/versions/$id"; echo "deleted untagged $id"; done
mapfile -t all < <(gh api --paginate "$pkg/versions?per_page=100" --jq '.[].id')
for id in "${all[@]:keep}"; do gh api --silent --method DELETE "$pkg/versions/$id"; echo "deleted old $id"; done
EOF
run timeout 120 bash "$WORK/cleanup.sh" "$PKG" 5
log "cleanup: $(tr '\n' ';' <"$RUN_OUT") in $((SECONDS - cleanup_start))s"
assert_eq "$(grep -c '^deleted untagged' "$RUN_OUT")" 4 "untagged versions deleted"
assert_eq "$(grep -c '^deleted old' "$RUN_OUT")" 3 "old tagged versions deleted"
((SECONDS - cleanup_start < 120)) || fail "the cleanup took $((SECONDS - cleanup_start))s"

ghj --paginate "$PKG/versions?per_page=2" --jq '.[].name'
for i in 12 11 9 8 6; do echo "${DIGEST_OF[$i]}"; done >"$WORK/expected.txt"
diff -u "$WORK/expected.txt" "$RUN_OUT" >"$WORK/diff.txt" || fail "versions left after the cleanup: $(cat "$WORK/diff.txt")"
ghj --paginate "$PKG/versions?per_page=100&state=deleted" --jq '.[].name'
assert_eq "$(sort "$RUN_OUT" | tr '\n' ' ')" "$(for i in 1 2 3 4 5 7 10; do echo "${DIGEST_OF[$i]}"; done | sort | tr '\n' ' ')" \
  "deleted versions after the cleanup"
ghj "$PKG" --jq .version_count
assert_eq "$(cat "$RUN_OUT")" 5 "version_count after the cleanup"
ghj "$PKG/versions?per_page=1" --jq '.[0].metadata.container | [(.platforms | length), (.referrers | length)] | @tsv'
assert_eq "$(cat "$RUN_OUT")" "$(printf '2\t1')" "the index version kept its platforms and its signature"

step "4. every remaining tag pulls with podman; the deleted ones do not"
for t in v12 v11 v9 v8 v6; do
  run podman pull --cert-dir "$certs" --creds "alice:$PAT" "$REPO:$t"
  run podman image inspect "$REPO:$t"
  [[ "$(jq -r '.[0].Architecture' "$RUN_OUT")" == amd64 ]] || fail "podman pulled $t for $(jq -r '.[0].Architecture' "$RUN_OUT")"
done
for d in "$base_digest" "$arm_digest" "$sig_digest"; do
  code="$(acurl -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "https://$REG/v2/$NAME/manifests/$d")"
  assert_eq "$code" 200 "GET of $d, part of the kept index version"
done
for t in v1 v2 v4; do
  run_fails skopeo inspect --cert-dir "$certs" --creds "alice:$PAT" "docker://$REPO:$t"
  grep -qiE 'manifest unknown|not found' "$RUN_OUT" || fail "deleted tag $t: $(tail -n 3 "$RUN_OUT")"
done

step "1. (reported last) gh auth status"
((${#DEFERRED_FAILURES[@]} == 0)) || fail "${DEFERRED_FAILURES[*]}"
e2e_finish
