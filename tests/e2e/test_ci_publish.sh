#!/usr/bin/env bash
# The CI publish flow, scripted as a CI job runs it against Berth with authentication on:
#   1. identities: user alice, org acme (admin alice), a CI token limited to the package acme/app;
#   2. the CI token logs in (buildah login; skopeo reads the same auth file);
#   3. a two-platform image (linux/amd64 + linux/arm64) built offline is pushed as ONE OCI index with
#      the whole release tag set (v1.2.3, 1.2, 1, latest, sha-<40 hex>, main-<7 hex>, a date tag): every
#      tag resolves to the index digest, the index lists both platforms, and the packages API shows ONE
#      version carrying all seven tags;
#   4. a build cache in both forms BuildKit writes, pushed with curl through the distribution API with a
#      bearer token the CI token bought at /token: (a) image-manifest=true, an OCI image manifest whose
#      config is application/vnd.buildkit.cacheconfig.v0, tagged buildcache; (b) BuildKit's default, an
#      OCI index whose `manifests` are the layer blobs and the cache config (no image manifest),
#      tagged buildcache-index; each reads back byte for byte, with every blob it names; an index naming
#      a missing blob, or a blob with a wrong size, is refused; a GC pass (grace 0) keeps all of it;
#   5. the CI token cannot push to acme/other nor alice/app, cannot delete a version through the
#      packages API, nor a manifest through DELETE /v2/…/manifests/DIGEST (even with delete:packages);
#      the audit log has its pushes and its refused /v2 pushes and deletes;
#   6. a Kubernetes-style pull: `berth admin pull-secret`, its .dockerconfigjson decoded, and ctr pulls
#      the release by tag and by digest for linux/amd64 and linux/arm64: the image is the pushed index,
#      and each platform's manifest, config and layers were fetched (and not the other platform's);
#      without credentials ctr is refused.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init buildah skopeo containerd ctr umoci sha256sum gzip tar base64 python3
e2e_containers_env

[[ -z "${BERTH_TEST_REGISTRY:-}" ]] || skip "needs its own Berth (authentication on, identities made with berth admin)"
[[ "${BERTH_TEST_SERVER:-berth}" == berth ]] || skip "tests Berth's authentication and packages API"
export BERTH_AUTH_ENABLED=true

MT_INDEX=application/vnd.oci.image.index.v1+json
MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
MT_LAYER=application/vnd.oci.image.layer.v1.tar+gzip
MT_CACHECONFIG=application/vnd.buildkit.cacheconfig.v0
CONTAINERD_ACCEPT="application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, $MT_MANIFEST, $MT_INDEX, */*"

sha256_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
size_of() { stat -c %s "$1"; }
# header_of FILE NAME: the value of header NAME in a curl -D dump (last response), without CR.
header_of() { tr -d '\r' <"$1" | awk -v h="$(tr 'A-Z' 'a-z' <<<"$2")" 'tolower($1) == h":" {sub(/^[^:]*: */, ""); v = $0} END {print v}'; }
# ecurl ARGS...: e2e_curl that never fails by itself: a transport error shows as status 000 in -w output,
# which the caller's assertion reports (a failing "$(…)" would end the test without a message).
ecurl() { e2e_curl "$@" || true; }
# b64url_json JWT_PART: decodes one base64url part of a JWT.
b64url_json() { python3 -c 'import base64, sys; s = sys.argv[1]; print(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode())' "$1"; }

step "build the two platform images (amd64, arm64) offline"
src="$WORK/src"
amd_digest="$(e2e_build_image "$src" amd64 --arch amd64 --label org.opencontainers.image.version=1.2.3)"
arm_digest="$(e2e_build_image "$src" arm64 --arch arm64 --label org.opencontainers.image.version=1.2.3)"
assert_ne "$amd_digest" "$arm_digest" "the arm64 manifest digest"
declare -A CHILD=([amd64]="$amd_digest" [arm64]="$arm_digest")
for arch in amd64 arm64; do
  cfg="$(oci_manifest_config "$src" "${CHILD[$arch]}")"
  assert_eq "$(jq -r .architecture "$(oci_blob "$src" "$cfg")")" "$arch" "architecture in the $arch config"
done
# What a version of the release weighs: each distinct blob of both platforms once.
release_size="$(for d in "${CHILD[@]}"; do oci_manifest_config "$src" "$d"; oci_manifest_layers "$src" "$d"; done |
  sort -u | while read -r b; do size_of "$(oci_blob "$src" "$b")"; done | awk '{s += $1} END {print s}')"

step "1. identities: alice, org acme (admin alice), a CI token for acme/app only"
e2e_admin user create alice
e2e_admin org create acme --admin alice
ALICE_PAT="$(e2e_admin token create --user alice --scopes read:packages --name ci-publish-reader)"
[[ "$ALICE_PAT" =~ ^berth_pat_[A-Za-z0-9_-]+$ ]] || fail "token create printed '$ALICE_PAT', not only a PAT"
# delete:packages too: what keeps it from deleting below is the CI token's rule, not a missing scope.
CI="$(e2e_admin token create --ci --user alice --packages acme/app \
  --scopes read:packages,write:packages,delete:packages --ttl 1h --name ci-publish)"
[[ "$CI" =~ ^berth_ci_[A-Za-z0-9_-]+$ ]] || fail "token create --ci printed '$CI', not only a CI token"
e2e_admin token list --user alice >"$WORK/tokens.tsv"
ci_row="$(awk -F'\t' '$2 == "ci" && $8 == "ci-publish"' "$WORK/tokens.tsv")"
[[ -n "$ci_row" ]] || fail "token list shows no CI token named ci-publish: $(cat "$WORK/tokens.tsv")"
[[ "$(cut -f5 <<<"$ci_row")" =~ ^[0-9]{4}- ]] || fail "the CI token does not expire: $ci_row"

e2e_registry_start
NAME=acme/app
app="$REG/$NAME"

# ---------------------------------------------------------------------------------------------------
step "2. the CI token logs in (buildah login --password-stdin)"
run buildah login --tls-verify=false -u alice --password-stdin "$REG" <<<"$CI"
grep -q 'Login Succeeded' "$RUN_OUT" || fail "buildah login did not succeed: $(cat "$RUN_OUT")"
auth="$(jq -r --arg r "$REG" '.auths[$r].auth // empty' "$REGISTRY_AUTH_FILE")"
[[ -n "$auth" ]] || fail "the auth file $REGISTRY_AUTH_FILE has no entry for $REG: $(jq -c '.auths | keys' "$REGISTRY_AUTH_FILE")"
[[ "$(printf '%s' "$auth" | base64 -d)" == "alice:$CI" ]] || fail "the auth file does not hold alice:<CI token> for $REG"
run buildah login --get-login "$REG"
assert_eq "$(tail -n 1 "$RUN_OUT")" alice "buildah login --get-login"
code="$(ecurl -o /dev/null -w '%{http_code}' -u "alice:$CI" "http://$REG/v2/")"
assert_eq "$code" 200 "GET /v2/ with the CI token"

# ---------------------------------------------------------------------------------------------------
GIT_SHA="$(printf 'berth ci publish %s' "$WORK" | sha1sum | cut -d' ' -f1)"
DATE_TAG="$(date -u +%Y.%m.%d)"
TAGS=(v1.2.3 1.2 1 latest "sha-$GIT_SHA" "main-${GIT_SHA:0:7}" "$DATE_TAG")
[[ "${TAGS[4]}" =~ ^sha-[0-9a-f]{40}$ && "${TAGS[5]}" =~ ^main-[0-9a-f]{7}$ && "$DATE_TAG" =~ ^[0-9]{4}\.[0-9]{2}\.[0-9]{2}$ ]] ||
  fail "bad release tags: ${TAGS[*]}"

step "3. buildah manifest create/add (amd64 + arm64), push --all as one OCI index to $app:v1.2.3"
run buildah manifest create localhost/app-release
run buildah manifest add --os linux --arch amd64 localhost/app-release "oci:$src:amd64"
run buildah manifest add --os linux --arch arm64 localhost/app-release "oci:$src:arm64"
run buildah manifest push --all --format oci --tls-verify=false --digestfile "$WORK/index.digest" \
  localhost/app-release "docker://$app:v1.2.3"
INDEX="$(cat "$WORK/index.digest")"
[[ "$INDEX" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "buildah manifest push wrote no digest: '$INDEX'"
log "pushed index $INDEX"

step "3. the other six release tags, copied registry to registry (skopeo copy --all)"
for t in "${TAGS[@]:1}"; do
  run skopeo copy --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false \
    --digestfile "$WORK/tag.digest" "docker://$app:v1.2.3" "docker://$app:$t"
  assert_eq "$(cat "$WORK/tag.digest")" "$INDEX" "digest skopeo copied to :$t"
done

step "3. every tag resolves to the index; the index lists both platforms"
for t in "${TAGS[@]}"; do
  run skopeo inspect --raw --tls-verify=false "docker://$app:$t"
  assert_eq "$(sha256_of "$RUN_OUT")" "$INDEX" "digest of the raw manifest of :$t"
done
cp "$RUN_OUT" "$WORK/index.json"
assert_eq "$(jq -r '.mediaType // empty' "$WORK/index.json")" "$MT_INDEX" "media type of the release index"
assert_eq "$(jq '.manifests | length' "$WORK/index.json")" 2 "number of manifests in the index"
for arch in amd64 arm64; do
  got="$(jq -r --arg a "$arch" '[.manifests[] | select(.platform.os == "linux" and .platform.architecture == $a)] |
    if length == 1 then "\(.[0].mediaType) \(.[0].digest)" else "\(length) entries" end' "$WORK/index.json")"
  assert_eq "$got" "$MT_MANIFEST ${CHILD[$arch]}" "the index's linux/$arch entry"
done
run skopeo list-tags --tls-verify=false "docker://$app"
assert_eq "$(jq -r '.Tags | sort | join(" ")' "$RUN_OUT")" "$(printf '%s\n' "${TAGS[@]}" | sort | tr '\n' ' ' | sed 's/ $//')" \
  "tags of $app"
# The registry's own answer for each tag (HEAD, as a puller resolves it).
for t in "${TAGS[@]}"; do
  e2e_curl -o /dev/null -D "$WORK/head.txt" -I -u "alice:$CI" -H "Accept: $MT_INDEX" "http://$REG/v2/$NAME/manifests/$t" ||
    fail "HEAD manifests/$t failed"
  assert_eq "$(head -n 1 "$WORK/head.txt" | awk '{print $2}')" 200 "status of HEAD manifests/$t"
  assert_eq "$(header_of "$WORK/head.txt" Docker-Content-Digest)" "$INDEX" "Docker-Content-Digest of HEAD manifests/$t"
done

step "3. the packages API shows ONE version carrying all seven tags"
# api_get PATH [TOKEN]: GET /api/v3PATH as GitHub's API is called; body in $WORK/api.json, status printed.
api_get() {
  ecurl -o "$WORK/api.json" -w '%{http_code}' -H "Authorization: token ${2:-$ALICE_PAT}" \
    -H 'Accept: application/vnd.github+json' "http://$REG/api/v3$1"
}
PKG=/orgs/acme/packages/container/app
code="$(api_get "$PKG/versions")"
assert_eq "$code" 200 "GET $PKG/versions: $(head -c 300 "$WORK/api.json")"
cp "$WORK/api.json" "$WORK/versions-release.json"
assert_eq "$(jq length "$WORK/versions-release.json")" 1 "number of versions of acme/app after the release push"
assert_eq "$(jq -r '.[0].name' "$WORK/versions-release.json")" "$INDEX" "the version's name (digest)"
assert_eq "$(jq -r '.[0].metadata.container.tags | sort | join(" ")' "$WORK/versions-release.json")" \
  "$(printf '%s\n' "${TAGS[@]}" | sort | tr '\n' ' ' | sed 's/ $//')" "the version's tags"
assert_eq "$(jq -r '.[0].metadata.container.platforms | map("\(.os)/\(.architecture)=\(.digest)") | sort | join(" ")' \
  "$WORK/versions-release.json")" "linux/amd64=$amd_digest linux/arm64=$arm_digest" "the version's platforms"
assert_eq "$(jq -r '.[0].metadata.container.size' "$WORK/versions-release.json")" "$release_size" \
  "the version's size (each blob of both platforms once)"
RELEASE_ID="$(jq -r '.[0].id' "$WORK/versions-release.json")"
[[ "$RELEASE_ID" =~ ^[0-9]+$ ]] || fail "version id '$RELEASE_ID'"

# ---------------------------------------------------------------------------------------------------
step "4. the CI token buys a bearer token for acme/app (pull,push) at /token"
code="$(ecurl -o "$WORK/token.json" -w '%{http_code}' -u "alice:$CI" \
  "http://$REG/token?service=berth&scope=repository:$NAME:pull,push")"
assert_eq "$code" 200 "GET /token with the CI token: $(head -c 300 "$WORK/token.json")"
JWT="$(jq -r '.token // empty' "$WORK/token.json")"
[[ "$JWT" == ey*.*.* ]] || fail "GET /token returned no JWT: $(head -c 300 "$WORK/token.json")"
claims="$(b64url_json "$(cut -d. -f2 <<<"$JWT")")"
assert_eq "$(jq -c '[.access[] | select(.type == "repository" and .name == "acme/app") | .actions[]] | sort' <<<"$claims")" \
  '["pull","push"]' "actions granted on acme/app in the JWT"

# creg ARGS...: curl with the CI token's bearer JWT.
creg() { ecurl -H "Authorization: Bearer $JWT" "$@"; }
# push_blob FILE: POST + monolithic PUT to acme/app; checks 202/201 and Docker-Content-Digest.
push_blob() {
  local digest location code
  digest="$(sha256_of "$1")"
  code="$(creg -o /dev/null -D "$WORK/post.txt" -w '%{http_code}' -X POST "http://$REG/v2/$NAME/blobs/uploads/")"
  assert_eq "$code" 202 "POST blobs/uploads/ for $(basename "$1")"
  location="$(header_of "$WORK/post.txt" Location)"
  [[ -n "$location" ]] || fail "no upload Location for $NAME: $(cat "$WORK/post.txt")"
  [[ "$location" == http* ]] || location="http://$REG$location"
  [[ "$location" == *\?* ]] && location+="&" || location+="?"
  code="$(creg -o "$WORK/put.out" -D "$WORK/put.txt" -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary "@$1" "${location}digest=$digest")"
  assert_eq "$code" 201 "PUT upload of $(basename "$1"): $(cat "$WORK/put.out")"
  assert_eq "$(header_of "$WORK/put.txt" Docker-Content-Digest)" "$digest" "Docker-Content-Digest of the uploaded $(basename "$1")"
}
# put_manifest TAG MEDIA_TYPE FILE: PUT manifests/TAG; checks 201 and the digest the registry answers.
put_manifest() {
  local code
  code="$(creg -o "$WORK/put.out" -D "$WORK/put.txt" -w '%{http_code}' -X PUT -H "Content-Type: $2" \
    --data-binary "@$3" "http://$REG/v2/$NAME/manifests/$1")"
  assert_eq "$code" 201 "PUT manifests/$1 ($2): $(cat "$WORK/put.out")"
  assert_eq "$(header_of "$WORK/put.txt" Docker-Content-Digest)" "$(sha256_of "$3")" "Docker-Content-Digest of PUT manifests/$1"
}
# read_back TAG MEDIA_TYPE FILE: GET by tag and by digest with Accept MEDIA_TYPE is FILE byte for byte,
# served as MEDIA_TYPE; then GET of every blob it names (config, layers or an index's blob children).
read_back() {
  local tag="$1" mt="$2" file="$3" digest ref code d
  digest="$(sha256_of "$file")"
  for ref in "$tag" "$digest"; do
    code="$(creg -o "$WORK/got.json" -D "$WORK/got.txt" -w '%{http_code}' -H "Accept: $mt" "http://$REG/v2/$NAME/manifests/$ref")"
    assert_eq "$code" 200 "GET manifests/$ref"
    assert_eq "$(sha256_of "$WORK/got.json")" "$digest" "sha256 of the body of GET manifests/$ref"
    cmp -s "$WORK/got.json" "$file" || fail "GET manifests/$ref is not byte-identical to what was pushed"
    assert_eq "$(header_of "$WORK/got.txt" Content-Type)" "$mt" "Content-Type of GET manifests/$ref"
    assert_eq "$(header_of "$WORK/got.txt" Docker-Content-Digest)" "$digest" "Docker-Content-Digest of GET manifests/$ref"
  done
  # As BuildKit resolves a cache ref (containerd's resolver: every manifest type it knows, then */*).
  code="$(creg -o "$WORK/got.json" -D "$WORK/got.txt" -w '%{http_code}' -H "Accept: $CONTAINERD_ACCEPT" \
    "http://$REG/v2/$NAME/manifests/$tag")"
  assert_eq "$code" 200 "GET manifests/$tag with containerd's Accept"
  assert_eq "$(sha256_of "$WORK/got.json")" "$digest" "sha256 of GET manifests/$tag with containerd's Accept"
  assert_eq "$(header_of "$WORK/got.txt" Content-Type)" "$mt" "Content-Type of GET manifests/$tag with containerd's Accept"
  local n=0
  while read -r d size; do
    code="$(creg -L -o "$WORK/blob.bin" -w '%{http_code}' "http://$REG/v2/$NAME/blobs/$d")"
    assert_eq "$code" 200 "GET blobs/$d (named by :$tag)"
    assert_eq "$(sha256_of "$WORK/blob.bin")" "$d" "content of blob $d"
    assert_eq "$(size_of "$WORK/blob.bin")" "$size" "size of blob $d"
    n=$((n + 1))
  done < <(jq -r '(if .manifests then .manifests[] else (.config, .layers[]) end) | "\(.digest) \(.size)"' "$file")
  assert_eq "$n" 3 "blobs named by :$tag"
}

# make_layer DIR NAME: a gzip layer (tar of two files), as BuildKit exports one; sets LAYER_FILE, LAYER_DIFF.
make_layer() {
  local d="$WORK/cache/$1-$2"
  mkdir -p "$d/root/app"
  printf 'layer %s of cache %s, %s\n' "$2" "$1" "$WORK" >"$d/root/app/$2.txt"
  head -c 4096 /dev/urandom >"$d/root/app/$2.bin"
  tar --sort=name --owner=0 --group=0 --mtime=@0 -C "$d/root" -cf "$d/layer.tar" app
  LAYER_DIFF="$(sha256_of "$d/layer.tar")"
  gzip -n -c "$d/layer.tar" >"$WORK/cache/$1-$2.tar.gz"
  LAYER_FILE="$WORK/cache/$1-$2.tar.gz"
}
# layer_desc FILE DIFF_ID: a layer descriptor as BuildKit writes it in a cache manifest.
layer_desc() {
  jq -cn --arg mt "$MT_LAYER" --arg d "$(sha256_of "$1")" --argjson s "$(size_of "$1")" --arg u "$2" \
    --arg c "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" \
    '{mediaType: $mt, digest: $d, size: $s, annotations: {"buildkit/createdat": $c, "containerd.io/uncompressed": $u}}'
}
# cache_config L1 L2: BuildKit's cache config (v0) over two layers, the second on the first.
cache_config() {
  local c; c="$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"
  jq -cn --arg l1 "$1" --arg l2 "$2" --arg c "$c" --arg r1 "sha256:$(echo "$1 r1" | sha256sum | cut -d' ' -f1)" \
    --arg r2 "sha256:$(echo "$2 r2" | sha256sum | cut -d' ' -f1)" \
    '{layers: [{blob: $l1, parent: -1, annotations: {createdAt: $c}}, {blob: $l2, parent: 0, annotations: {createdAt: $c}}],
      records: [{digest: $r1, results: [{layerIndex: 0, createdAt: $c}]},
                {digest: $r2, inputs: [[{selector: "", link: 0}]], results: [{layerIndex: 1, createdAt: $c}]}]}' | tr -d '\n'
}
mkdir -p "$WORK/cache"

step "4a. build cache, image-manifest=true form: push 2 gzip layers + cacheconfig, manifest :buildcache"
make_layer a 1; a1="$LAYER_FILE"; a1_diff="$LAYER_DIFF"
make_layer a 2; a2="$LAYER_FILE"; a2_diff="$LAYER_DIFF"
cache_config "$(sha256_of "$a1")" "$(sha256_of "$a2")" >"$WORK/cache/a-config.json"
for f in "$a1" "$a2" "$WORK/cache/a-config.json"; do push_blob "$f"; done
jq -cn --arg mt "$MT_MANIFEST" --arg cmt "$MT_CACHECONFIG" --arg cd "$(sha256_of "$WORK/cache/a-config.json")" \
  --argjson cs "$(size_of "$WORK/cache/a-config.json")" --argjson l1 "$(layer_desc "$a1" "$a1_diff")" \
  --argjson l2 "$(layer_desc "$a2" "$a2_diff")" \
  '{schemaVersion: 2, mediaType: $mt, config: {mediaType: $cmt, digest: $cd, size: $cs}, layers: [$l1, $l2]}' |
  tr -d '\n' >"$WORK/cache/a-manifest.json"
put_manifest buildcache "$MT_MANIFEST" "$WORK/cache/a-manifest.json"
CACHE_A="$(sha256_of "$WORK/cache/a-manifest.json")"

step "4a. read :buildcache back (manifest byte for byte, config and both layers)"
read_back buildcache "$MT_MANIFEST" "$WORK/cache/a-manifest.json"

step "4b. build cache, BuildKit's default form: an OCI index of 2 layers + cacheconfig, :buildcache-index"
make_layer b 1; b1="$LAYER_FILE"; b1_diff="$LAYER_DIFF"
make_layer b 2; b2="$LAYER_FILE"; b2_diff="$LAYER_DIFF"
cache_config "$(sha256_of "$b1")" "$(sha256_of "$b2")" >"$WORK/cache/b-config.json"
# cache_index FILE SIZE_ADJUST [EXTRA_DESC]: the index over b1, b2 and the cache config (BuildKit puts
# the config last); SIZE_ADJUST is added to b2's size (a wrong size for the negative case).
cache_index() {
  local l2; l2="$(layer_desc "$b2" "$b2_diff" | jq -c --argjson a "$2" '.size += $a')"
  jq -cn --arg mt "$MT_INDEX" --arg cmt "$MT_CACHECONFIG" --arg cd "$(sha256_of "$WORK/cache/b-config.json")" \
    --argjson cs "$(size_of "$WORK/cache/b-config.json")" --argjson l1 "$(layer_desc "$b1" "$b1_diff")" \
    --argjson l2 "$l2" --argjson extra "${3:-null}" \
    '{schemaVersion: 2, mediaType: $mt,
      manifests: ([$l1, $l2] + (if $extra then [$extra] else [] end) + [{mediaType: $cmt, digest: $cd, size: $cs}])}' |
    tr -d '\n' >"$1"
}
for f in "$b1" "$b2" "$WORK/cache/b-config.json"; do push_blob "$f"; done
cache_index "$WORK/cache/b-index.json" 0
put_manifest buildcache-index "$MT_INDEX" "$WORK/cache/b-index.json"
CACHE_B="$(sha256_of "$WORK/cache/b-index.json")"
jq -e '[.manifests[].mediaType] == ["'"$MT_LAYER"'", "'"$MT_LAYER"'", "'"$MT_CACHECONFIG"'"]' "$WORK/cache/b-index.json" >/dev/null ||
  fail "the crafted cache index is not BuildKit's shape: $(cat "$WORK/cache/b-index.json")"

step "4b. read :buildcache-index back (index byte for byte, both layers and the cache config)"
read_back buildcache-index "$MT_INDEX" "$WORK/cache/b-index.json"

step "4b. a cache index naming a blob the repository lacks, or a wrong size, is refused"
head -c 1000 /dev/urandom | gzip -n >"$WORK/cache/never-pushed.tar.gz"
cache_index "$WORK/cache/b-missing.json" 0 "$(layer_desc "$WORK/cache/never-pushed.tar.gz" sha256:0000000000000000000000000000000000000000000000000000000000000000)"
code="$(creg -o "$WORK/put.out" -w '%{http_code}' -X PUT -H "Content-Type: $MT_INDEX" --data-binary "@$WORK/cache/b-missing.json" \
  "http://$REG/v2/$NAME/manifests/buildcache-missing")"
assert_eq "$code" 400 "PUT of a cache index naming a missing blob: $(cat "$WORK/put.out")"
assert_eq "$(jq -r '.errors[0].code' "$WORK/put.out")" MANIFEST_BLOB_UNKNOWN "error code for a missing blob"
grep -q "$(sha256_of "$WORK/cache/never-pushed.tar.gz")" "$WORK/put.out" || fail "the error does not name the missing blob: $(cat "$WORK/put.out")"
cache_index "$WORK/cache/b-badsize.json" 1
code="$(creg -o "$WORK/put.out" -w '%{http_code}' -X PUT -H "Content-Type: $MT_INDEX" --data-binary "@$WORK/cache/b-badsize.json" \
  "http://$REG/v2/$NAME/manifests/buildcache-badsize")"
assert_eq "$code" 400 "PUT of a cache index with a wrong blob size: $(cat "$WORK/put.out")"
assert_eq "$(jq -r '.errors[0].code' "$WORK/put.out")" MANIFEST_INVALID "error code for a wrong blob size"
for t in buildcache-missing buildcache-badsize; do
  code="$(creg -o /dev/null -w '%{http_code}' -H "Accept: $MT_INDEX" "http://$REG/v2/$NAME/manifests/$t")"
  assert_eq "$code" 404 "GET of the refused tag $t"
done

step "4. the packages API: the release version kept its seven tags; each cache is a version of its own"
code="$(api_get "$PKG/versions?per_page=100")"
assert_eq "$code" 200 "GET $PKG/versions"
cp "$WORK/api.json" "$WORK/versions-all.json"
assert_eq "$(jq length "$WORK/versions-all.json")" 3 "versions of acme/app (release, buildcache, buildcache-index)"
assert_eq "$(jq -r --arg d "$INDEX" '.[] | select(.name == $d) | .metadata.container.tags | sort | join(" ")' "$WORK/versions-all.json")" \
  "$(printf '%s\n' "${TAGS[@]}" | sort | tr '\n' ' ' | sed 's/ $//')" "tags of the release version after the cache pushes"
# Each cache version: its tag, its media type and the bytes of its three blobs.
for c in "buildcache $CACHE_A $MT_MANIFEST $a1 $a2 $WORK/cache/a-config.json" \
  "buildcache-index $CACHE_B $MT_INDEX $b1 $b2 $WORK/cache/b-config.json"; do
  read -r tag digest mt f1 f2 f3 <<<"$c"
  want_size=$(($(size_of "$f1") + $(size_of "$f2") + $(size_of "$f3")))
  assert_eq "$(jq -r --arg d "$digest" '.[] | select(.name == $d) | "\(.metadata.container.tags | join(",")) \(.metadata.container.media_type)"' \
    "$WORK/versions-all.json")" "$tag $mt" "the version of :$tag"
  assert_eq "$(jq -r --arg d "$digest" '.[] | select(.name == $d) | .metadata.container.size' "$WORK/versions-all.json")" \
    "$want_size" "size of the version of :$tag (its three blobs)"
done

step "4. a garbage-collection pass (grace 0, online) keeps both caches' blobs"
# The index form's layers and config are named by no image manifest: only the index keeps them alive.
# The control: a blob no manifest names (an abandoned cache layer) is reclaimed by the same pass.
head -c 2000 /dev/urandom | gzip -n >"$WORK/cache/orphan.tar.gz"
push_blob "$WORK/cache/orphan.tar.gz"
orphan="$(sha256_of "$WORK/cache/orphan.tar.gz")"
sleep 1.1  # the collector's clock has whole seconds: a blob last seen in the current second is still in grace
gc_rc=0
timeout --kill-after=10 "$E2E_TIMEOUT" "$BERTH" gc --data "$REG_DATA" --grace 0 >"$WORK/logs/gc.log" 2>&1 || gc_rc=$?
((gc_rc == 0)) || fail "berth gc failed (exit $gc_rc): $(tail -n 5 "$WORK/logs/gc.log")"
log "gc: $(tr '\n' ' ' <"$WORK/logs/gc.log" | cut -c1-300)"
read_back buildcache "$MT_MANIFEST" "$WORK/cache/a-manifest.json"
read_back buildcache-index "$MT_INDEX" "$WORK/cache/b-index.json"
code="$(creg -o /dev/null -w '%{http_code}' "http://$REG/v2/$NAME/blobs/$orphan")"
assert_eq "$code" 404 "GET of the unreferenced blob after the GC pass"

# ---------------------------------------------------------------------------------------------------
step "5. the CI token cannot push to acme/other nor alice/app"
for other in acme/other alice/app; do
  run_fails skopeo copy --dest-tls-verify=false "oci:$src:amd64" "docker://$REG/$other:1"
  grep -qiE 'denied|unauthorized|403|401' "$RUN_OUT" || fail "push to $other: no denied/unauthorized error: $(tail -n 5 "$RUN_OUT")"
  log "push to $other refused: $(grep -oiE '(denied|unauthorized)[^"]{0,80}' "$RUN_OUT" | tail -n 1)"
  # At the API: a blob upload with Basic auth is refused, and a JWT asked for push there grants nothing.
  code="$(ecurl -o "$WORK/post.out" -w '%{http_code}' -u "alice:$CI" -X POST "http://$REG/v2/$other/blobs/uploads/")"
  assert_eq "$code" 403 "POST /v2/$other/blobs/uploads/ with the CI token (Basic): $(cat "$WORK/post.out")"
  assert_eq "$(jq -r '.errors[0].code' "$WORK/post.out")" DENIED "error code of the refused upload to $other"
  code="$(ecurl -o "$WORK/token-other.json" -w '%{http_code}' -u "alice:$CI" \
    "http://$REG/token?service=berth&scope=repository:$other:pull,push")"
  assert_eq "$code" 200 "GET /token for $other"
  other_jwt="$(jq -r .token "$WORK/token-other.json")"
  assert_eq "$(b64url_json "$(cut -d. -f2 <<<"$other_jwt")" | jq -c '[.access[]? | select(.name == "'"$other"'") | .actions[]]')" \
    '[]' "actions granted on $other to the CI token"
  code="$(ecurl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $other_jwt" -X POST "http://$REG/v2/$other/blobs/uploads/")"
  [[ "$code" == 401 || "$code" == 403 ]] || fail "POST /v2/$other/blobs/uploads/ with a JWT for $other answered $code"
  # Nothing was created there (alice herself sees no such image).
  run_fails skopeo inspect --tls-verify=false --creds "alice:$ALICE_PAT" "docker://$REG/$other:1"
  grep -qiE 'manifest unknown|name unknown|not found|404' "$RUN_OUT" || fail "the refused push left $other:1: $(tail -n 3 "$RUN_OUT")"
done

step "5. the CI token cannot delete the release version through the packages API"
code="$(api_get "$PKG/versions" "$CI")"
assert_eq "$code" 200 "the CI token lists acme/app's versions"
[[ "$(jq --argjson id "$RELEASE_ID" '[.[] | select(.id == $id)] | length' "$WORK/api.json")" == 1 ]] ||
  fail "the CI token does not see the release version $RELEASE_ID: $(head -c 300 "$WORK/api.json")"
code="$(ecurl -o "$WORK/del.out" -w '%{http_code}' -X DELETE -H "Authorization: token $CI" \
  -H 'Accept: application/vnd.github+json' "http://$REG/api/v3$PKG/versions/$RELEASE_ID")"
assert_eq "$code" 403 "DELETE $PKG/versions/$RELEASE_ID with the CI token (it sees the version): $(cat "$WORK/del.out")"
log "DELETE version with the CI token: $code $(jq -r '.message // empty' "$WORK/del.out" 2>/dev/null)"
code="$(ecurl -o "$WORK/del.out" -w '%{http_code}' -X DELETE -H "Authorization: token $CI" \
  "http://$REG/api/v3$PKG")"
[[ "$code" == 403 || "$code" == 404 ]] || fail "DELETE $PKG (the package) with the CI token answered $code: $(cat "$WORK/del.out")"

step "5. the CI token cannot delete a manifest with DELETE /v2/$NAME/manifests/DIGEST"
code="$(ecurl -o "$WORK/del.out" -w '%{http_code}' -u "alice:$CI" -X DELETE "http://$REG/v2/$NAME/manifests/$INDEX")"
assert_eq "$code" 403 "DELETE /v2/$NAME/manifests/<index> with the CI token (Basic): $(cat "$WORK/del.out")"
assert_eq "$(jq -r '.errors[0].code' "$WORK/del.out")" DENIED "error code of the refused manifest delete"
code="$(ecurl -o "$WORK/del.out" -w '%{http_code}' -u "alice:$CI" -X DELETE "http://$REG/v2/$NAME/manifests/$CACHE_A")"
assert_eq "$code" 403 "DELETE /v2/$NAME/manifests/<buildcache> with the CI token (Basic): $(cat "$WORK/del.out")"
# A JWT asked for delete grants pull and push only; DELETE with it is refused too.
code="$(ecurl -o "$WORK/token-del.json" -w '%{http_code}' -u "alice:$CI" \
  "http://$REG/token?service=berth&scope=repository:$NAME:pull,push,delete")"
assert_eq "$code" 200 "GET /token asking for delete"
del_jwt="$(jq -r .token "$WORK/token-del.json")"
assert_eq "$(b64url_json "$(cut -d. -f2 <<<"$del_jwt")" | jq -c '[.access[]? | select(.name == "acme/app") | .actions[]] | sort')" \
  '["pull","push"]' "actions granted on acme/app when asking for delete"
code="$(ecurl -o "$WORK/del.out" -w '%{http_code}' -H "Authorization: Bearer $del_jwt" -X DELETE "http://$REG/v2/$NAME/manifests/$INDEX")"
[[ "$code" == 401 || "$code" == 403 ]] || fail "DELETE manifests/<index> with a bearer JWT answered $code: $(cat "$WORK/del.out")"
log "DELETE manifests/<index> with the CI JWT: $code $(jq -r '.errors[0].code // empty' "$WORK/del.out" 2>/dev/null)"
run_fails skopeo delete --tls-verify=false "docker://$app@$INDEX"
grep -qiE 'denied|unauthorized|403|401' "$RUN_OUT" || fail "skopeo delete with the CI login: $(tail -n 3 "$RUN_OUT")"

step "5. after the refused deletes everything is still there"
code="$(api_get "$PKG/versions?per_page=100")"
assert_eq "$code" 200 "GET $PKG/versions"
assert_eq "$(jq -r 'map(.name) | sort | join(" ")' "$WORK/api.json")" "$(printf '%s\n' "$INDEX" "$CACHE_A" "$CACHE_B" | sort | tr '\n' ' ' | sed 's/ $//')" \
  "the versions of acme/app after the refused deletes"
for t in "${TAGS[@]}"; do
  run skopeo inspect --raw --tls-verify=false "docker://$app:$t"
  assert_eq "$(sha256_of "$RUN_OUT")" "$INDEX" "digest of :$t after the refused deletes"
done

step "5. the audit log: the CI token's pushes, and its refused pushes and deletes"
# id, time, actor, action, target, outcome, remote, detail (tab-separated).
e2e_admin audit --actor alice --limit 100000 >"$WORK/audit.tsv"
ci_events() { awk -F'\t' -v a="$1" -v o="$2" '$3 == "ci:alice" && $4 == a && $6 == o {print $5}' "$WORK/audit.tsv" | sort -u; }
for t in "${TAGS[@]}" buildcache buildcache-index; do
  grep -qxF "$NAME:$t" <(ci_events push allowed) || fail "the audit log has no push of $NAME:$t by ci:alice: $(cut -f3-6 "$WORK/audit.tsv" | tail -n 20)"
done
for other in acme/other alice/app; do
  grep -q "^$other" <(ci_events push denied) || fail "the audit log has no refused push to $other by ci:alice: $(cut -f3-6 "$WORK/audit.tsv" | tail -n 20)"
done
grep -qxF "$NAME:$INDEX" <(ci_events delete denied) ||
  fail "the audit log has no refused delete of $NAME@$INDEX by ci:alice: $(cut -f3-6 "$WORK/audit.tsv" | tail -n 20)"
grep -qxF "$NAME@$RELEASE_ID" <(ci_events package.version.delete denied) ||
  fail "the audit log has no refused packages-API delete of version $RELEASE_ID by ci:alice: $(cut -f3-6 "$WORK/audit.tsv" | tail -n 20)"
[[ -z "$(awk -F'\t' '$3 == "ci:alice" && $6 == "allowed" && $4 != "push"' "$WORK/audit.tsv")" ]] ||
  fail "the audit log shows ci:alice allowed something other than pushes: $(awk -F'\t' '$3 == "ci:alice" && $6 == "allowed" && $4 != "push"' "$WORK/audit.tsv")"

# ---------------------------------------------------------------------------------------------------
step "6. berth admin pull-secret: a kubernetes.io/dockerconfigjson Secret"
e2e_admin pull-secret --user alice --registry "$REG" --name regcred --namespace ci >"$WORK/secret.yaml"
python3 - "$WORK/secret.yaml" >"$WORK/dockerconfig.b64" <<'EOF' || fail "the pull secret is not a valid Secret: $(cat "$WORK/secret.yaml")"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]
assert len(docs) == 1, f"{len(docs)} YAML documents"
s = docs[0]
assert s.get("apiVersion") == "v1" and s.get("kind") == "Secret", (s.get("apiVersion"), s.get("kind"))
assert s.get("type") == "kubernetes.io/dockerconfigjson", s.get("type")
assert s.get("metadata") == {"name": "regcred", "namespace": "ci"}, s.get("metadata")
assert list(s.get("data", {})) == [".dockerconfigjson"], list(s.get("data", {}))
print(s["data"][".dockerconfigjson"])
EOF
base64 -d "$WORK/dockerconfig.b64" >"$WORK/dockerconfig.json" || fail ".dockerconfigjson is not base64"
jq -e --arg r "$REG" '.auths | keys == [$r]' "$WORK/dockerconfig.json" >/dev/null ||
  fail ".dockerconfigjson does not name exactly $REG: $(jq -c '.auths | keys' "$WORK/dockerconfig.json" 2>&1)"
pull_auth="$(jq -r --arg r "$REG" '.auths[$r].auth // empty' "$WORK/dockerconfig.json")"
PULL_CREDS="$(printf '%s' "$pull_auth" | base64 -d)" || fail "auths[\"$REG\"].auth is not base64"
[[ "$PULL_CREDS" =~ ^alice:berth_pat_[A-Za-z0-9_-]+$ ]] || fail "auths[\"$REG\"].auth does not decode to alice:<token>"
[[ "${PULL_CREDS#alice:}" != "$CI" && "${PULL_CREDS#alice:}" != "$ALICE_PAT" ]] || fail "the pull secret reuses an existing token"

step "6. start a private containerd"
e2e_containerd_start
run ctr --address "$CD_SOCK" version

# access_count PATTERN: how many access-log lines of the registry match PATTERN (ERE).
access_count() { grep -cE "$1" "$REG_LOG" || true; }
# ctr_pull NAMESPACE ARCH REF: pulls REF for linux/ARCH with the pull secret's credentials, then checks
# the image is the pushed index, that ARCH's manifest, config and layers are in the content store with
# their digests, and that the other platform's manifest and config are not.
ctr_pull() {
  local ns="$1" arch="$2" ref="$3" other line d
  other=$([[ "$arch" == amd64 ]] && echo arm64 || echo amd64)
  local ctr_ns=(ctr --address "$CD_SOCK" --namespace "$ns")
  local manifest_gets_before index_reqs_before
  manifest_gets_before="$(access_count "method=GET path=/v2/$NAME/manifests/${CHILD[$arch]} status=200")"
  index_reqs_before="$(access_count "method=(GET|HEAD) path=/v2/$NAME/manifests/(${ref##*[:@]}|$INDEX) status=200")"
  run "${ctr_ns[@]}" images pull --plain-http --user "$PULL_CREDS" --platform "linux/$arch" "$ref"
  run "${ctr_ns[@]}" images ls
  line="$(awk -v r="$ref" '$1 == r' "$RUN_OUT")"
  [[ -n "$line" ]] || fail "ctr images ls ($ns) does not list $ref: $(cat "$RUN_OUT")"
  [[ "$line" == *" $INDEX "* ]] || fail "ctr images ls ($ns) shows $ref without the index digest $INDEX: $line"
  [[ "$line" == *"$MT_INDEX"* ]] || fail "ctr images ls ($ns) shows $ref with another media type: $line"
  run "${ctr_ns[@]}" content ls -q
  cp "$RUN_OUT" "$WORK/content-$ns.txt"
  local want=("$INDEX" "${CHILD[$arch]}" "$(oci_manifest_config "$src" "${CHILD[$arch]}")")
  mapfile -t -O 3 want < <(oci_manifest_layers "$src" "${CHILD[$arch]}")
  for d in "${want[@]}"; do
    grep -qxF "$d" "$WORK/content-$ns.txt" || fail "ctr content ls ($ns, linux/$arch) lacks $d: $(cat "$WORK/content-$ns.txt")"
    run "${ctr_ns[@]}" content get "$d"
    assert_eq "$(sha256_of "$RUN_OUT")" "$d" "content of $d in containerd ($ns)"
  done
  for d in "${CHILD[$other]}" "$(oci_manifest_config "$src" "${CHILD[$other]}")"; do
    ! grep -qxF "$d" "$WORK/content-$ns.txt" || fail "ctr pull --platform linux/$arch ($ns) also fetched linux/$other's $d"
  done
  # The registry served it: the reference was resolved there, and (by tag, the first fetch of this
  # platform) the platform manifest was fetched there.
  (($(access_count "method=(GET|HEAD) path=/v2/$NAME/manifests/(${ref##*[:@]}|$INDEX) status=200") > index_reqs_before)) ||
    fail "the registry log shows no request resolving $ref during the pull"
  if [[ "$ref" != *@* ]]; then
    (($(access_count "method=GET path=/v2/$NAME/manifests/${CHILD[$arch]} status=200") > manifest_gets_before)) ||
      fail "the registry log shows no GET of the linux/$arch manifest ${CHILD[$arch]} during the pull"
  fi
  if [[ "$arch" == amd64 && "$(uname -m)" == x86_64 ]]; then
    run "${ctr_ns[@]}" images check "name==$ref"
    grep -q complete "$RUN_OUT" || fail "ctr images check ($ns): $ref is not complete: $(cat "$RUN_OUT")"
  fi
}

grep -q "method=GET path=/v2/$NAME/manifests/" "$REG_LOG" ||
  fail "the access log has no manifest GET lines of the expected form: $(grep -m 3 'access ' "$REG_LOG")"

step "6. ctr pulls $app:v1.2.3 for linux/amd64 and linux/arm64 with the pull secret's credentials"
ctr_pull tag-amd64 amd64 "$app:v1.2.3"
ctr_pull tag-arm64 arm64 "$app:v1.2.3"

step "6. ctr pulls $app@<index digest> for linux/amd64 and linux/arm64"
ctr_pull digest-amd64 amd64 "$app@$INDEX"
ctr_pull digest-arm64 arm64 "$app@$INDEX"

step "6. without credentials ctr is refused"
run_fails ctr --address "$CD_SOCK" --namespace anon images pull --plain-http --platform linux/amd64 "$app:v1.2.3"
grep -qiE 'unauthorized|401|pull access denied|insufficient_scope' "$RUN_OUT" || fail "anonymous ctr pull: $(tail -n 3 "$RUN_OUT")"

step "stop containerd"
e2e_containerd_stop

e2e_finish
