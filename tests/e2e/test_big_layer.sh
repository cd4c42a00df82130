#!/usr/bin/env bash
# A 1 GiB (incompressible) layer: push with skopeo, pull back into an OCI layout, digests match,
# Range reads of the blob work, and the server's peak RSS (VmHWM) stays under 200 MiB: blobs are
# streamed, never held in memory. Prints PEAK_RSS_KIB=<n>.
#   E2E_BIG_MIB     size of the random layer in MiB (default 1024)
#   E2E_RSS_MAX_KIB limit on the server's VmHWM (default 204800 = 200 MiB)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init skopeo umoci sha256sum
big_mib="${E2E_BIG_MIB:-1024}"
rss_max_kib="${E2E_RSS_MAX_KIB:-204800}"

step "build an image with a $big_mib MiB random layer"
src="$WORK/src"
src_digest="$(e2e_build_image "$src" big --extra-mib "$big_mib")"
big_layer="$(oci_manifest_layers "$src" "$src_digest" | tail -n 1)"
big_size="$(stat -c %s "$(oci_blob "$src" "$big_layer")")"
((big_size >= big_mib * 1024 * 1024)) || fail "the random layer is only $big_size bytes"
log "layer $big_layer: $big_size bytes"

e2e_registry_start
rss_start="$(e2e_peak_rss_kib)"
if [[ "$REG_KIND" == berth && -n "$REG_PID" ]]; then
  # A single node loads the fleet drivers' modules (and libpq, libcurl with their ~40 dependencies) only
  # when configured: none of them may be mapped here.
  loaded="$(grep -oE '/[^ ]*(berth-postgres|berth-s3|libpq|libcurl|libldap|libgnutls)[^ ]*' "/proc/$REG_PID/maps" | sort -u | tr '\n' ' ' || true)"
  [[ -z "$loaded" ]] || fail "a single node (filesystem + SQLite) mapped fleet-driver libraries: $loaded"
fi
ref="$REG/acme/big/random:1.0"

step "skopeo push (${big_mib} MiB layer)"
t0=$SECONDS
E2E_TIMEOUT=300 run skopeo copy --preserve-digests --dest-tls-verify=false "oci:$src:big" "docker://$ref"
push_s=$((SECONDS - t0))
log "push took ${push_s}s"
rss_after_push="$(e2e_peak_rss_kib)"

step "HEAD and Range GET of the big blob"
hdrs="$WORK/head.headers"
e2e_curl -I -o /dev/null -D "$hdrs" "$REG_SCHEME://$REG/v2/acme/big/random/blobs/$big_layer"
head -n 1 "$hdrs" | grep -q ' 200' || fail "HEAD blob: $(head -n 1 "$hdrs")"
len="$(awk 'tolower($1) == "content-length:" {print $2}' "$hdrs" | tr -d '\r')"
assert_eq "$len" "$big_size" "Content-Length of HEAD blob"
off=$((big_size - 5000))
code="$(e2e_curl -o "$WORK/range.bin" -w '%{http_code}' -H "Range: bytes=$off-$((off + 999))" \
  "$REG_SCHEME://$REG/v2/acme/big/random/blobs/$big_layer")"
assert_eq "$code" 206 "status of a Range GET"
cmp -s "$WORK/range.bin" <(tail -c 5000 "$(oci_blob "$src" "$big_layer")" | head -c 1000) ||
  fail "the bytes of Range: bytes=$off-$((off + 999)) differ from the layer's"

step "skopeo pull into a new OCI layout"
dst="$WORK/dst"
t0=$SECONDS
E2E_TIMEOUT=300 run skopeo copy --preserve-digests --src-tls-verify=false "docker://$ref" "oci:$dst:1.0"
pull_s=$((SECONDS - t0))
log "pull took ${pull_s}s"
assert_eq "$(oci_tag_digest "$dst" 1.0)" "$src_digest" "manifest digest after the round trip"
assert_eq "$(oci_manifest_layers "$dst" "$src_digest" | tail -n 1)" "$big_layer" "big layer digest in the pulled manifest"
assert_blob_ok "$dst" "$big_layer"
assert_eq "$(stat -c %s "$(oci_blob "$dst" "$big_layer")")" "$big_size" "size of the pulled big layer"

step "peak RSS of the server"
peak="$(e2e_peak_rss_kib)"
if [[ -z "$peak" ]]; then
  log "the registry is not a process of this test ($REG_KIND): no RSS measurement"
  echo "PEAK_RSS_KIB=unknown"
else
  log "VmHWM: at start ${rss_start} KiB, after push ${rss_after_push} KiB, after pull ${peak} KiB (limit ${rss_max_kib} KiB)"
  echo "PEAK_RSS_KIB=$peak"
  echo "BIG_LAYER_MIB=$big_mib PUSH_S=$push_s PULL_S=$pull_s SERVER=$REG_KIND"
  ((peak < rss_max_kib)) || fail "the server's peak RSS ${peak} KiB is not under ${rss_max_kib} KiB"
fi

e2e_finish
