#!/usr/bin/env bash
# skopeo: OCI layout -> registry (nested repository name) -> new OCI layout, bit for bit; inspect,
# list-tags, registry-to-registry copy, delete (and the deleted image can no longer be pulled).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init skopeo umoci
e2e_containers_env

step "build the test image"
src="$WORK/src"
src_digest="$(e2e_build_image "$src" 1.0)"
[[ "$src_digest" == sha256:* ]] || fail "build-test-image.sh printed no digest"
log "source manifest $src_digest"

e2e_registry_start
repo="$REG/acme/platform/sbl/busybox"
tlsf=(--tls-verify=false)

step "push oci-layout -> $repo:1.0"
run skopeo copy --preserve-digests --dest-tls-verify=false "oci:$src:1.0" "docker://$repo:1.0"

step "HEAD/GET the manifest with curl"
hdrs="$WORK/manifest.headers"
e2e_curl -o "$WORK/manifest.get" -D "$hdrs" \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$REG_SCHEME://$REG/v2/acme/platform/sbl/busybox/manifests/1.0"
status="$(head -n 1 "$hdrs" | tr -d '\r')"
[[ "$status" == *" 200"* ]] || fail "GET manifest 1.0: status line '$status'"
hdr_digest="$(awk 'tolower($1) == "docker-content-digest:" {print $2}' "$hdrs" | tr -d '\r')"
assert_eq "$hdr_digest" "$src_digest" "Docker-Content-Digest of GET /v2/acme/platform/sbl/busybox/manifests/1.0"
cmp -s "$WORK/manifest.get" "$(oci_blob "$src" "$src_digest")" ||
  fail "GET manifest returned bytes that differ from the pushed manifest"

step "skopeo inspect shows the tag and the digest"
run skopeo inspect "${tlsf[@]}" "docker://$repo:1.0"
cp "$RUN_OUT" "$WORK/inspect.json"
assert_eq "$(jq -r .Digest "$WORK/inspect.json")" "$src_digest" "skopeo inspect .Digest"
jq -e '.RepoTags | index("1.0")' "$WORK/inspect.json" >/dev/null ||
  fail "skopeo inspect .RepoTags lacks 1.0: $(jq -c .RepoTags "$WORK/inspect.json")"
assert_eq "$(jq -r .Architecture "$WORK/inspect.json")" amd64 "skopeo inspect .Architecture"
run skopeo inspect --raw "${tlsf[@]}" "docker://$repo:1.0"
cmp -s "$RUN_OUT" "$(oci_blob "$src" "$src_digest")" || fail "skopeo inspect --raw differs from the pushed manifest"

step "registry-to-registry copy to :copy, then list-tags"
run skopeo copy --src-tls-verify=false --dest-tls-verify=false "docker://$repo:1.0" "docker://$repo:copy"
run skopeo list-tags "${tlsf[@]}" "docker://$repo"
tags="$(jq -r '.Tags | sort | join(",")' "$RUN_OUT")"
assert_eq "$tags" "1.0,copy" "skopeo list-tags"
assert_eq "$(jq -r .Repository "$RUN_OUT")" "$repo" "skopeo list-tags .Repository"

step "pull $repo:1.0 -> new oci-layout; digests and blobs identical"
dst="$WORK/dst"
run skopeo copy --preserve-digests --src-tls-verify=false "docker://$repo:1.0" "oci:$dst:1.0"
dst_digest="$(oci_tag_digest "$dst" 1.0)"
assert_eq "$dst_digest" "$src_digest" "manifest digest in the pulled layout's index.json"
assert_blob_ok "$dst" "$dst_digest"
cmp -s "$(oci_blob "$src" "$src_digest")" "$(oci_blob "$dst" "$dst_digest")" || fail "manifest bytes differ"
src_blobs="$( (oci_manifest_config "$src" "$src_digest"; oci_manifest_layers "$src" "$src_digest") | tr '\n' ' ')"
dst_blobs="$( (oci_manifest_config "$dst" "$dst_digest"; oci_manifest_layers "$dst" "$dst_digest") | tr '\n' ' ')"
assert_eq "$dst_blobs" "$src_blobs" "config and layer digests of the pulled manifest"
for d in $src_blobs; do
  assert_blob_ok "$dst" "$d"
  cmp -s "$(oci_blob "$src" "$d")" "$(oci_blob "$dst" "$d")" || fail "blob $d differs between source and pulled layout"
done
log "identical: manifest + $(wc -w <<<"$src_blobs") blobs"

step "pull by digest"
run skopeo copy --src-tls-verify=false "docker://$repo@$src_digest" "oci:$WORK/bydigest:x"
assert_eq "$(oci_tag_digest "$WORK/bydigest" x)" "$src_digest" "digest pulled by digest"

step "skopeo delete, then pulling fails"
run skopeo delete "${tlsf[@]}" "docker://$repo:1.0"
run_fails skopeo copy --src-tls-verify=false "docker://$repo:1.0" "oci:$WORK/gone:1.0"
grep -qiE 'manifest unknown|not found|404' "$RUN_OUT" ||
  fail "pull of the deleted tag failed, but not with manifest unknown / 404: $(tail -n 3 "$RUN_OUT")"
run_fails skopeo copy --src-tls-verify=false "docker://$repo@$src_digest" "oci:$WORK/gone2:1.0"
grep -qiE 'manifest unknown|not found|404' "$RUN_OUT" ||
  fail "pull of the deleted digest failed, but not with manifest unknown / 404: $(tail -n 3 "$RUN_OUT")"
code="$(e2e_curl -o /dev/null -w '%{http_code}' -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "$REG_SCHEME://$REG/v2/acme/platform/sbl/busybox/manifests/$src_digest")"
assert_eq "$code" 404 "HEAD of the deleted manifest by digest"
# The manifest (by digest) is gone, so no tag may still point at it.
run skopeo list-tags "${tlsf[@]}" "docker://$repo"
jq -e '(.Tags // []) | index("1.0") | not' "$RUN_OUT" >/dev/null ||
  fail "tag 1.0 still listed after its manifest was deleted: $(jq -c .Tags "$RUN_OUT")"

e2e_finish
