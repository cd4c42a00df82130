#!/usr/bin/env bash
# Blobs in S3 with redirects on (s3.redirect_seconds): a blob GET answers 307 to a presigned URL on the
# object store, the bytes fetched there are the blob's, HEAD still answers from the registry, and a real
# client (skopeo) pulls an image through the redirects with identical digests.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init skopeo umoci
e2e_containers_env

e2e_s3_shared_start
export BERTH_STORAGE=s3 BERTH_S3_REDIRECT_SECONDS=300
export BERTH_S3_PREFIX="e2e-redirect-$(printf '%04x%04x' $RANDOM $RANDOM)/"

step "build the test image"
src="$WORK/src"
src_digest="$(e2e_build_image "$src" 1.0)"

e2e_registry_start
repo="$REG/acme/redirected"

step "push through the registry into S3"
run skopeo copy --preserve-digests --dest-tls-verify=false "oci:$src:1.0" "docker://$repo:1.0"

layer="$(oci_manifest_layers "$src" "$src_digest" | head -n 1)"
step "GET the layer: 307 to the object store"
hdrs="$WORK/layer.headers"
e2e_curl -o /dev/null -D "$hdrs" "http://$REG/v2/acme/redirected/blobs/$layer"
status="$(head -n 1 "$hdrs" | tr -d '\r')"
[[ "$status" == *" 307"* ]] || fail "blob GET: status line '$status', wanted 307"
location="$(awk 'tolower($1) == "location:" {print $2}' "$hdrs" | tr -d '\r')"
[[ "$location" == "$BERTH_S3_ENDPOINT/"* ]] || fail "Location '$location' does not point at the object store"
[[ "$location" == *X-Amz-Signature=* ]] || fail "Location is not a presigned URL: $location"

step "the presigned URL serves the blob's bytes"
e2e_curl -o "$WORK/layer.bin" "$location"
got="sha256:$(sha256sum "$WORK/layer.bin" | cut -d' ' -f1)"
assert_eq "$got" "$layer" "digest of the bytes behind the redirect"

step "HEAD answers from the registry"
e2e_curl -I -o /dev/null -D "$WORK/head.headers" "http://$REG/v2/acme/redirected/blobs/$layer"
head_status="$(head -n 1 "$WORK/head.headers" | tr -d '\r')"
[[ "$head_status" == *" 200"* ]] || fail "blob HEAD: '$head_status', wanted 200"

step "a blob of another repository is not redirected to (no link, no URL)"
e2e_curl -o /dev/null -D "$WORK/other.headers" "http://$REG/v2/acme/other/blobs/$layer"
other="$(head -n 1 "$WORK/other.headers" | tr -d '\r')"
[[ "$other" == *" 404"* ]] || fail "blob GET in a repository without the blob: '$other', wanted 404"

step "skopeo pulls through the redirects"
run skopeo copy --src-tls-verify=false "docker://$repo:1.0" "oci:$WORK/out:1.0"
assert_eq "$(oci_tag_digest "$WORK/out" 1.0)" "$src_digest" "manifest digest after the round trip"
assert_blob_ok "$WORK/out" "$layer"

e2e_finish
echo "PASS test_s3_redirect"
