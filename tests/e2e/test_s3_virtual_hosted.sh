#!/usr/bin/env bash
# Blobs in S3 with virtual-hosted addressing (s3.path_style: false): Berth puts the bucket in the host
# name, http://BUCKET.localhost:PORT/KEY (libcurl resolves *.localhost to loopback by itself; radosgw
# has `rgw dns name = localhost`), not in the path. skopeo round-trips an image whose 12 MiB layer goes
# up as a multipart upload, and radosgw's own access log shows that Berth's requests named no bucket in
# their path, so the server took it from the Host header.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init skopeo umoci
e2e_containers_env

e2e_s3_shared_start
[[ -n "${BERTH_S3_VHOST_ENDPOINT:-}" ]] || fail "start-s3.sh printed no BERTH_S3_VHOST_ENDPOINT"
rgw_log="$BERTH_S3_DIR/log/client.rgw.berth.log"
prefix="e2e-vhost-$(printf '%04x%04x' $RANDOM $RANDOM)"
export BERTH_STORAGE=s3 BERTH_S3_PATH_STYLE=false BERTH_S3_ENDPOINT="$BERTH_S3_VHOST_ENDPOINT"
export BERTH_S3_PREFIX="$prefix/"

step "build the test image (a second layer of 12 MiB)"
src="$WORK/src"
src_digest="$(e2e_build_image "$src" 1.0 --extra-mib 12)"

e2e_registry_start
repo="$REG/acme/vhost"

step "push through the registry into S3, virtual-hosted"
run skopeo copy --preserve-digests --dest-tls-verify=false "oci:$src:1.0" "docker://$repo:1.0"

step "pull it back: identical manifest and blobs"
run skopeo copy --src-tls-verify=false "docker://$repo:1.0" "oci:$WORK/out:1.0"
assert_eq "$(oci_tag_digest "$WORK/out" 1.0)" "$src_digest" "manifest digest after the round trip"
while read -r layer; do assert_blob_ok "$WORK/out" "$layer"; done < <(oci_manifest_layers "$src" "$src_digest")

step "radosgw's access log: Berth's requests name the key first, never the bucket"
# Lines like: beast: 0x...: 127.0.0.1 - test [...] "PUT /KEY?QUERY HTTP/1.1" 200 ... The log is written
# by a background thread: wait for it to hold the requests made above.
reqs="$WORK/rgw-requests.txt"
for _ in $(seq 1 50); do
  grep ' beast: ' "$rgw_log" | grep -F "$prefix" | sed -E 's/^[^"]*"([A-Z]+) ([^ ]*) [^"]*" ([0-9]+).*/\1 \2 \3/' >"$reqs" || true
  grep -q "^GET /$prefix/blobs/.* 20[06]$" "$reqs" && break
  sleep 0.1
done
grep -q "^GET /$prefix/blobs/.* 20[06]$" "$reqs" ||
  fail "no successful virtual-hosted blob GET in $rgw_log: $(head -n 20 "$reqs")"
multipart="$(grep -c "^PUT /$prefix/.*[?&]partNumber=[0-9]*.* 200$" "$reqs" || true)"
((multipart >= 2)) || fail "expected the 12 MiB layer in at least 2 multipart parts, got $multipart: $(head -n 30 "$reqs")"
with_bucket="$(grep -c "^[A-Z]* /$BERTH_S3_BUCKET[/?]" "$reqs" || true)"
((with_bucket == 0)) || fail "$with_bucket requests named the bucket in the path: $(grep "^[A-Z]* /$BERTH_S3_BUCKET[/?]" "$reqs" | head)"
log "$(wc -l <"$reqs") requests under $prefix/, $multipart of them multipart parts, none with /$BERTH_S3_BUCKET/ in the path"

e2e_finish
echo "PASS test_s3_virtual_hosted"
