#!/usr/bin/env bash
# Fleet mode: two `berth serve` nodes sharing one PostgreSQL database (metadata: postgres) and one S3
# bucket on a real radosgw (storage: s3), with nginx in front as the load balancer. Checks:
#   1. push through node A, pull through node B (skopeo, podman) and through nginx: same digests;
#   2. a chunked upload started on A, continued on B, finished on A (chunks under and over the 5 MiB S3
#      part minimum): 201, and the blob reads back from both nodes; one chunk sent to both nodes at
#      once is taken by one of them and refused (4xx) by the other, and the upload still completes;
#   3. the same blob pushed through both nodes at once (skopeo, and raw monolithic uploads): all
#      succeed, one blob in PostgreSQL and in the bucket;
#   4. two manifests raced onto one tag from two nodes: the tag ends on one of them, every node agrees;
#   5. a manifest deleted on A while B serves it in a loop: only 200 with the right bytes, or 404;
#   6. node A killed (SIGKILL) in the middle of a large push to it: the push retried through B
#      succeeds, pulls back intact (also through nginx while A is down), and A restarts and serves it;
#   7. a node whose S3 endpoint, bucket or PostgreSQL URL is unusable exits non-zero naming the backend;
#   8. authentication on, both nodes sharing the signing key: a token issued by A is accepted by B and
#      the reverse; skopeo with credentials through nginx;
#   9. /readyz answers 200, then 503 on both nodes once PostgreSQL is stopped, 200 once it is back.
# Prints FLEET_TIMING phase=<name> seconds=<s> per phase.
#   FLEET_BIG_MIB   size of the layer whose push is interrupted (default 200)
#   FLEET_S3        private (default: a radosgw of its own) | shared (scripts/start-s3.sh --shared)
source "$(dirname "${BASH_SOURCE[0]}")/fleet_lib.sh"
E2E_TIMEOUT="${E2E_TIMEOUT:-90}"
e2e_init skopeo podman umoci nginx psql sha256sum ss openssl
[[ -z "${BERTH_TEST_REGISTRY:-}" ]] || skip "starts its own fleet of Berth nodes"
[[ "${BERTH_TEST_SERVER:-berth}" == berth ]] || skip "tests Berth's fleet mode"
[[ -n "${BERTH:-}" && -x "${BERTH:-}" ]] || fail "BERTH must name the berth binary (got '${BERTH:-}')"
e2e_containers_env
big_mib="${FLEET_BIG_MIB:-200}"
tlsf=(--src-tls-verify=false --dest-tls-verify=false)
oci_accept='application/vnd.oci.image.manifest.v1+json'
rnd="$(printf '%04x%04x' $RANDOM $RANDOM)"

# ===================================================================================================
phase backends "radosgw, PostgreSQL and the test images (in parallel)"
fleet_s3_start
# The images build while radosgw starts (about 15 s).
build_bg() { # build_bg DIR TAG... (tags built one after the other into DIR) -- options per tag after ':'
  local dir="$1"; shift
  (
    for spec in "$@"; do
      tag="${spec%%:*}" opts="${spec#*:}"
      [[ "$opts" == "$spec" ]] && opts=""
      # shellcheck disable=SC2086
      bash "$BERTH_SOURCE_DIR/scripts/build-test-image.sh" --out "$dir" --tag "$tag" $opts \
        >"$dir.$tag.digest.tmp" 2>>"$WORK/logs/build-$(basename "$dir").log" || exit 1
      tail -n 1 "$dir.$tag.digest.tmp" >"$dir.$tag.digest"
    done
  ) &
  BUILD_PIDS+=($!)
}
BUILD_PIDS=()
build_bg "$WORK/img-app" "1.0"
build_bg "$WORK/img-race" "x:--label fleet=x" "y:--label fleet=y"
build_bg "$WORK/img-same" "1.0:--extra-mib 8 --label fleet=same"
build_bg "$WORK/img-del" "1.0:--label fleet=del"
build_bg "$WORK/img-big" "big:--extra-mib $big_mib"
fleet_pg_start fleet
for p in "${BUILD_PIDS[@]}"; do
  wait "$p" || fail "building a test image failed: $(tail -n 20 "$WORK"/logs/build-*.log)"
done
digest_of() { cat "$WORK/img-$1.$2.digest"; }
app_digest="$(digest_of app 1.0)" x_digest="$(digest_of race x)" y_digest="$(digest_of race y)"
same_digest="$(digest_of same 1.0)" del_digest="$(digest_of del 1.0)" big_digest="$(digest_of big big)"
for d in "$app_digest" "$x_digest" "$y_digest" "$same_digest" "$del_digest" "$big_digest"; do
  [[ "$d" == sha256:* ]] || fail "build-test-image.sh printed '$d', not a digest"
done
assert_ne "$x_digest" "$y_digest" "the two race manifests"
fleet_s3_wait "berth-fleet-$rnd" "fleet-$rnd/"

# ===================================================================================================
phase start_nodes "two nodes (S3 + PostgreSQL) and nginx in front"
fleet_env
e2e_on_exit fleet_stop_all
fleet_node_start A
fleet_node_start B
nginx_start A B
A="${NODE_ADDR[A]}" B="${NODE_ADDR[B]}" LB="$NGINX_ADDR"
grep -q 'storage=s3 metadata=postgres' "${NODE_LOG[A]}" || fail "node A does not say storage=s3 metadata=postgres"
# The drivers are modules loaded because the configuration names them (src/cli/modules).
for lib in berth-postgres.so berth-s3.so libpq.so libcurl.so; do
  grep -q "/$lib" "/proc/${NODE_PID[A]}/maps" || fail "node A has not loaded $lib"
done

# ===================================================================================================
phase push_pull "push through A; pull through B (skopeo, podman) and through nginx"
run skopeo copy --preserve-digests "${tlsf[@]}" "oci:$WORK/img-app:1.0" "docker://$A/fleet/app:1.0"
run skopeo copy --preserve-digests "${tlsf[@]}" "docker://$B/fleet/app:1.0" "oci:$WORK/pull-b:1.0"
assert_eq "$(oci_tag_digest "$WORK/pull-b" 1.0)" "$app_digest" "digest pulled through B"
for d in "$app_digest" $(oci_manifest_config "$WORK/img-app" "$app_digest") $(oci_manifest_layers "$WORK/img-app" "$app_digest"); do
  assert_blob_ok "$WORK/pull-b" "$d"
done
run skopeo inspect --tls-verify=false "docker://$LB/fleet/app:1.0"
assert_eq "$(jq -r .Digest "$RUN_OUT")" "$app_digest" "skopeo inspect through nginx"
run skopeo copy --preserve-digests "${tlsf[@]}" "docker://$LB/fleet/app:1.0" "oci:$WORK/pull-lb:1.0"
assert_eq "$(oci_tag_digest "$WORK/pull-lb" 1.0)" "$app_digest" "digest pulled through nginx"
assert_blob_ok "$WORK/pull-lb" "$(oci_manifest_layers "$WORK/img-app" "$app_digest" | tail -n 1)"
run podman pull --tls-verify=false "$B/fleet/app:1.0"
run podman image inspect --format '{{.Digest}}' "$B/fleet/app:1.0"
assert_eq "$(tr -d '[:space:]' <"$RUN_OUT")" "$app_digest" "podman pull through B: image digest"
run podman pull --tls-verify=false "$LB/fleet/app:1.0"
run podman image inspect --format '{{.Digest}}' "$LB/fleet/app:1.0"
assert_eq "$(tr -d '[:space:]' <"$RUN_OUT")" "$app_digest" "podman pull through nginx: image digest"
# And the other way: a push through nginx, read back from each node.
run skopeo copy --preserve-digests "${tlsf[@]}" "oci:$WORK/img-app:1.0" "docker://$LB/fleet/app-lb:1.0"
for n in "$A" "$B"; do
  e2e_curl -o "$WORK/m.json" -H "Accept: $oci_accept" "http://$n/v2/fleet/app-lb/manifests/1.0"
  assert_eq "$(sha256_of "$WORK/m.json")" "$app_digest" "manifest pushed through nginx, read from $n"
done

# ===================================================================================================
phase chunked_cross_node "chunked uploads: started on A, continued on B, finished on A"
# chunked_upload NAME SIZES...: the chunks, in MiB-ish byte counts, alternate A, B, A, ...; the last size
# goes with the closing PUT on A (0: an empty PUT).
chunked_upload() {
  local name="$1"; shift
  local sizes=("$@") blob="$WORK/chunked-$name.bin" i n=$# off=0 hdr="$WORK/chunked.hdr"
  : >"$blob"
  for ((i = 0; i < n; i++)); do
    head -c "${sizes[$i]}" /dev/urandom >"$WORK/chunk-$i"
    cat "$WORK/chunk-$i" >>"$blob"
  done
  local digest; digest="$(sha256_of "$blob")"
  local code
  code="$(e2e_curl -o /dev/null -D "$hdr" -w '%{http_code}' -X POST -H 'Content-Length: 0' \
    "http://$A/v2/fleet/chunked/blobs/uploads/")"
  assert_eq "$code" 202 "POST upload on A"
  local loc; loc="$(path_of "$(header_of "$hdr" Location)")"
  [[ "$loc" == /v2/fleet/chunked/blobs/uploads/* ]] || fail "Location of the new upload: '$loc'"
  local nodes=("$A" "$B") node
  for ((i = 0; i < n - 1; i++)); do
    node="${nodes[$((i % 2))]}"
    local size="${sizes[$i]}"
    code="$(e2e_curl --max-time 60 -o /dev/null -D "$hdr" -w '%{http_code}' -X PATCH -H 'Expect:' \
      -H 'Content-Type: application/octet-stream' -H "Content-Range: $off-$((off + size - 1))" \
      --data-binary "@$WORK/chunk-$i" "http://$node$loc")"
    assert_eq "$code" 202 "PATCH chunk $((i + 1)) ($size bytes at $off) on $node"
    off=$((off + size))
    assert_eq "$(header_of "$hdr" Range)" "0-$((off - 1))" "Range after chunk $((i + 1)) on $node"
    loc="$(path_of "$(header_of "$hdr" Location)")"
    # The other node sees the progress.
    local other="${nodes[$(((i + 1) % 2))]}"
    code="$(e2e_curl -o /dev/null -D "$hdr" -w '%{http_code}' "http://$other$loc")"
    assert_eq "$code" 204 "GET upload status on $other after chunk $((i + 1))"
    assert_eq "$(header_of "$hdr" Range)" "0-$((off - 1))" "upload status Range seen by $other"
  done
  local last="$WORK/chunk-$((n - 1))" sep='?'
  [[ "$loc" == *\?* ]] && sep='&'
  code="$(e2e_curl --max-time 60 -o "$WORK/put.out" -D "$hdr" -w '%{http_code}' -X PUT -H 'Expect:' \
    -H 'Content-Type: application/octet-stream' --data-binary "@$last" "http://$A$loc${sep}digest=$digest")"
  assert_eq "$code" 201 "closing PUT on A ($(wc -c <"$last") bytes): $(head -c 300 "$WORK/put.out")"
  assert_eq "$(header_of "$hdr" Docker-Content-Digest)" "$digest" "Docker-Content-Digest of the closing PUT"
  for node in "$A" "$B" "$LB"; do
    code="$(e2e_curl --max-time 60 -o "$WORK/got.bin" -w '%{http_code}' "http://$node/v2/fleet/chunked/blobs/$digest")"
    assert_eq "$code" 200 "GET the chunked blob through $node"
    assert_eq "$(sha256_of "$WORK/got.bin")" "$digest" "the chunked blob's bytes through $node"
  done
  log "chunked upload $name ($*): $digest"
}
MiB=$((1024 * 1024))
# 3 MiB (under the part minimum) on A, 7 MiB (over) on B, 1 MiB with the PUT on A.
chunked_upload small-first $((3 * MiB)) $((7 * MiB)) $((1 * MiB))
# 9 MiB on A, 2 MiB on B, 6 MiB + 17 bytes on A, 3 MiB on B, empty PUT on A.
chunked_upload large-first $((9 * MiB)) $((2 * MiB)) $((6 * MiB + 17)) $((3 * MiB)) 0
# One chunk sent to both nodes at once (a client retrying through the other node while the first
# attempt is still in flight): one of them takes it, the other refuses it (4xx, never 5xx), and the
# upload completes with the right digest.
head -c $((6 * MiB)) /dev/urandom >"$WORK/dup-1"
head -c $((1 * MiB)) /dev/urandom >"$WORK/dup-2"
dup_digest="$(cat "$WORK/dup-1" "$WORK/dup-2" | sha256sum | cut -d' ' -f1)"
e2e_curl -o /dev/null -D "$WORK/dup.hdr" -X POST -H 'Content-Length: 0' "http://$A/v2/fleet/chunked/blobs/uploads/"
loc="$(path_of "$(header_of "$WORK/dup.hdr" Location)")"
pids=()
for n in A B; do
  curl -s --max-time 60 -o "$WORK/dup-$n.out" -D "$WORK/dup-$n.hdr" -w '%{http_code}' -X PATCH -H 'Expect:' \
    -H 'Content-Type: application/octet-stream' -H "Content-Range: 0-$((6 * MiB - 1))" \
    --data-binary "@$WORK/dup-1" "http://${NODE_ADDR[$n]}$loc" >"$WORK/dup-$n.code" &
  pids+=($!)
done
wait "${pids[@]}"
codes="$(cat "$WORK/dup-A.code") $(cat "$WORK/dup-B.code")"
log "the same chunk PATCHed on A and B at once: $codes; the refusal: $(cat "$WORK/dup-A.out" "$WORK/dup-B.out" | head -c 300)"
[[ "$codes" == "202 4"[0-9][0-9] || "$codes" == "4"[0-9][0-9]" 202" ]] ||
  fail "the same chunk PATCHed on A and B at once answered '$codes', not one 202 and one 4xx"
e2e_curl -o /dev/null -D "$WORK/dup.hdr" "http://$B$loc"
assert_eq "$(header_of "$WORK/dup.hdr" Range)" "0-$((6 * MiB - 1))" "upload status after the duplicate PATCHes"
sep='?'; [[ "$loc" == *\?* ]] && sep='&'
code="$(e2e_curl --max-time 60 -o "$WORK/put.out" -w '%{http_code}' -X PUT -H 'Expect:' \
  -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/dup-2" "http://$A$loc${sep}digest=sha256:$dup_digest")"
assert_eq "$code" 201 "closing PUT after the duplicate PATCHes: $(head -c 300 "$WORK/put.out")"
code="$(e2e_curl --max-time 60 -o "$WORK/got.bin" -w '%{http_code}' "http://$B/v2/fleet/chunked/blobs/sha256:$dup_digest")"
assert_eq "$code" 200 "GET the blob of the duplicate PATCHes through B"
assert_eq "$(sha256_of "$WORK/got.bin")" "sha256:$dup_digest" "bytes of the blob of the duplicate PATCHes"

# ===================================================================================================
phase concurrent_same_blob "the same blob through both nodes at once"
same_layer="$(oci_manifest_layers "$WORK/img-same" "$same_digest" | tail -n 1)"
pids=()
for n in A B; do
  timeout --kill-after=10 "$E2E_TIMEOUT" skopeo copy --preserve-digests "${tlsf[@]}" \
    "oci:$WORK/img-same:1.0" "docker://${NODE_ADDR[$n]}/fleet/same:1.0" >"$WORK/logs/same-$n.log" 2>&1 &
  pids+=($!)
done
for i in 0 1; do
  wait "${pids[$i]}" || fail "parallel skopeo push $i failed: $(tail -n 5 "$WORK/logs/same-$([[ $i == 0 ]] && echo A || echo B).log")"
done
# Raw monolithic uploads (POST, then PUT with the body) of one new 6 MiB blob, three through each node
# and all at once, two repositories.
head -c $((6 * MiB)) /dev/urandom >"$WORK/mono.bin"
mono="$(sha256_of "$WORK/mono.bin")"
mono_upload() { # NODE REPO OUT
  local hdr="$3.hdr" code loc sep='?'
  code="$(curl -sS --max-time 60 -o /dev/null -D "$hdr" -w '%{http_code}' -X POST -H 'Content-Length: 0' \
    "http://$1/v2/$2/blobs/uploads/")" || code=000
  [[ "$code" == 202 ]] || { echo "POST $code" >"$3"; return; }
  loc="$(path_of "$(header_of "$hdr" Location)")"
  [[ "$loc" == *\?* ]] && sep='&'
  code="$(curl -sS --max-time 60 -o "$3.body" -w '%{http_code}' -X PUT -H 'Expect:' \
    -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/mono.bin" "http://$1$loc${sep}digest=$mono")" || code=000
  echo "PUT $code $(head -c 200 "$3.body")" >"$3"
}
pids=()
for i in 1 2 3; do
  for n in "$A" "$B"; do
    mono_upload "$n" "fleet/mono$((i % 2))" "$WORK/mono-$i-${n##*:}" &
    pids+=($!)
  done
done
for p in "${pids[@]}"; do wait "$p"; done
for f in "$WORK"/mono-*-*[0-9]; do
  [[ "$(cut -d' ' -f1-2 "$f")" == "PUT 201" ]] || fail "a concurrent monolithic upload answered: $(cat "$f")"
done
for d in "$same_layer" "$mono"; do
  for n in "$A" "$B"; do
    repo=fleet/same; [[ "$d" == "$mono" ]] && repo=fleet/mono1
    code="$(e2e_curl --max-time 60 -o "$WORK/got.bin" -w '%{http_code}' "http://$n/v2/$repo/blobs/$d")"
    assert_eq "$code" 200 "GET $d from $n"
    assert_eq "$(sha256_of "$WORK/got.bin")" "$d" "bytes of $d from $n"
  done
  assert_eq "$(fleet_psql "SELECT count(*) FROM blob WHERE digest = '$d'")" 1 "rows for $d in PostgreSQL's blob table"
  assert_eq "$(s3_keys "${S3_PREFIX}blobs/sha256/${d#sha256:}" | wc -l)" 1 "objects for $d in the bucket"
done
left="$(s3_keys "${S3_PREFIX}uploads/" | wc -l)"
log "objects left under uploads/ after every upload completed: $left; upload rows: $(fleet_psql 'SELECT count(*) FROM upload')"
((left == 0)) || log "WARNING: completed uploads left objects behind: $(s3_keys "${S3_PREFIX}uploads/" | head -n 5 | tr '\n' ' ')"

# ===================================================================================================
phase tag_race "two manifests raced onto one tag through A and B (20 PUTs each)"
run skopeo copy --preserve-digests "${tlsf[@]}" "oci:$WORK/img-race:x" "docker://$A/fleet/race:x"
run skopeo copy --preserve-digests "${tlsf[@]}" "oci:$WORK/img-race:y" "docker://$B/fleet/race:y"
race_loop() { # NODE MANIFEST_FILE OUT
  local i code
  for ((i = 0; i < 20; i++)); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X PUT -H "Content-Type: $oci_accept" \
      --data-binary "@$2" "http://$1/v2/fleet/race/manifests/race")" || code=000
    echo "$code" >>"$3"
  done
}
race_loop "$A" "$(oci_blob "$WORK/img-race" "$x_digest")" "$WORK/race-A" &
pa=$!
race_loop "$B" "$(oci_blob "$WORK/img-race" "$y_digest")" "$WORK/race-B" &
pb=$!
wait "$pa" "$pb"
for f in race-A race-B; do
  assert_eq "$(sort -u "$WORK/$f" | tr '\n' ' ')" "201 " "status codes of the 20 manifest PUTs in $f"
done
final=""
for n in "$A" "$B" "$LB" "$LB" "$LB" "$LB"; do
  code="$(e2e_curl -o "$WORK/m.json" -D "$WORK/m.hdr" -w '%{http_code}' -H "Accept: $oci_accept" \
    "http://$n/v2/fleet/race/manifests/race")"
  assert_eq "$code" 200 "GET fleet/race:race through $n"
  got="$(header_of "$WORK/m.hdr" Docker-Content-Digest)"
  assert_eq "$(sha256_of "$WORK/m.json")" "$got" "body of fleet/race:race through $n vs its digest header"
  [[ "$got" == "$x_digest" || "$got" == "$y_digest" ]] || fail "the raced tag points at $got, neither x nor y"
  [[ -z "$final" ]] && final="$got"
  assert_eq "$got" "$final" "digest of the raced tag through $n"
done
tags="$(e2e_curl "http://$B/v2/fleet/race/tags/list" | jq -r '.tags | sort | join(",")')"
assert_eq "$tags" "race,x,y" "tags of fleet/race through B"
log "the raced tag ends on $([[ "$final" == "$x_digest" ]] && echo x || echo y) ($final)"

# ===================================================================================================
phase delete_during_pull "a manifest deleted on A while B serves it in a loop"
run skopeo copy --preserve-digests "${tlsf[@]}" "oci:$WORK/img-del:1.0" "docker://$A/fleet/del:1.0"
rm -f "$WORK/del.deleted"
(
  # Alternates GET by digest and by tag; stops once the delete is done and 10 GETs in a row were 404,
  # or after 20 s / 2000 requests.
  i=0 streak=0 deadline=$((SECONDS + 20))
  while ((i < 2000 && SECONDS < deadline)); do
    i=$((i + 1))
    ref="$del_digest"; ((i % 2)) || ref=1.0
    code="$(curl -s -o "$WORK/del.body" -w '%{http_code}' --max-time 10 -H "Accept: $oci_accept" \
      "http://$B/v2/fleet/del/manifests/$ref")" || code=000
    verdict=ok
    if [[ "$code" == 200 ]]; then
      [[ "$(sha256_of "$WORK/del.body")" == "$del_digest" ]] || verdict=corrupt
      streak=0
    elif [[ "$code" == 404 ]]; then
      streak=$((streak + 1))
    else
      verdict=bad
    fi
    echo "$i $ref $code $verdict" >>"$WORK/del.trace"
    [[ -f "$WORK/del.deleted" ]] && ((streak >= 10)) && break
  done
) &
loop_pid=$!
for _ in $(seq 1 100); do
  [[ -f "$WORK/del.trace" ]] && (($(wc -l <"$WORK/del.trace") >= 30)) && break
  sleep 0.05
done
code="$(http_code DELETE "http://$A/v2/fleet/del/manifests/$del_digest")"
touch "$WORK/del.deleted"
assert_eq "$code" 202 "DELETE the manifest on A"
wait "$loop_pid"
n200="$(awk '$3 == 200' "$WORK/del.trace" | wc -l)"
n404="$(awk '$3 == 404' "$WORK/del.trace" | wc -l)"
nbad="$(awk '$4 != "ok"' "$WORK/del.trace" | wc -l)"
log "pull loop through B: $(wc -l <"$WORK/del.trace") GETs, $n200 x 200, $n404 x 404, $nbad bad"
((nbad == 0)) || fail "GETs through B during the delete that were neither 200-with-the-right-bytes nor 404: $(awk '$4 != "ok"' "$WORK/del.trace" | head -n 5 | tr '\n' ';')"
((n200 > 0 && n404 > 0)) || fail "the loop saw no 200 before or no 404 after the delete ($n200 / $n404)"
# Once a 404 was seen, no later GET by digest may find the manifest again.
first404="$(awk '$3 == 404 && $2 ~ /^sha256:/ {print $1; exit}' "$WORK/del.trace")"
awk -v f="$first404" '$1 > f && $2 ~ /^sha256:/ && $3 == 200' "$WORK/del.trace" | grep -q . &&
  fail "node B served the deleted manifest again after answering 404"
for n in "$A" "$B"; do
  assert_eq "$(http_code GET "http://$n/v2/fleet/del/manifests/1.0" -H "Accept: $oci_accept")" 404 "tag of the deleted manifest on $n"
done

# ===================================================================================================
phase kill_mid_push "node A killed (SIGKILL) during a ${big_mib} MiB push to it; retried through B"
big_layer="$(oci_manifest_layers "$WORK/img-big" "$big_digest" | tail -n 1)"
big_size="$(stat -c %s "$(oci_blob "$WORK/img-big" "$big_layer")")"
# Bytes node A has received on its open connections (ss -i: bytes_received per TCP connection).
received_by_a() {
  ss -Htin state established "( sport = :${NODE_ADDR[A]##*:} )" 2>/dev/null | grep -o 'bytes_received:[0-9]*' |
    awk -F: '{s += $2} END {print s + 0}'
}
timeout --kill-after=10 "$E2E_TIMEOUT" skopeo copy --preserve-digests "${tlsf[@]}" --retry-times 0 \
  "oci:$WORK/img-big:big" "docker://$A/fleet/big:1.0" >"$WORK/logs/big-a.log" 2>&1 &
push_pid=$!
# Kill once A has received 40 MiB of the push (bounded: 60 s).
received=0
for _ in $(seq 1 1200); do
  kill -0 "$push_pid" 2>/dev/null || break
  received="$(received_by_a)"
  ((received >= 40 * MiB)) && break
  sleep 0.05
done
kill -0 "$push_pid" 2>/dev/null || fail "the push to A ended before it could be interrupted: $(tail -n 3 "$WORK/logs/big-a.log")"
fleet_node_kill A
log "node A killed after reading $((received / MiB)) MiB of the push"
rc=0; wait "$push_pid" || rc=$?
((rc != 0)) || fail "the push to the killed node A reported success"
log "the interrupted push failed as it should (exit $rc): $(tail -n 1 "$WORK/logs/big-a.log" | cut -c1-200)"
run skopeo copy --preserve-digests "${tlsf[@]}" "oci:$WORK/img-big:big" "docker://$B/fleet/big:1.0"
run skopeo copy --preserve-digests "${tlsf[@]}" "docker://$B/fleet/big:1.0" "oci:$WORK/pull-big:1.0"
assert_eq "$(oci_tag_digest "$WORK/pull-big" 1.0)" "$big_digest" "digest of the big image pulled through B"
assert_blob_ok "$WORK/pull-big" "$big_layer"
# nginx while A is down: the failed connection sends each request on to B.
run skopeo inspect --tls-verify=false "docker://$LB/fleet/big:1.0"
assert_eq "$(jq -r .Digest "$RUN_OUT")" "$big_digest" "skopeo inspect through nginx with A down"
code="$(e2e_curl --max-time 60 -o "$WORK/big.bin" -w '%{http_code}' "http://$LB/v2/fleet/big/blobs/$big_layer")"
assert_eq "$code" 200 "GET the big layer through nginx with A down"
assert_eq "$(sha256_of "$WORK/big.bin")" "$big_layer" "the big layer's bytes through nginx with A down"
rm -f "$WORK/big.bin"
fleet_node_start A
e2e_curl -I -o /dev/null -D "$WORK/h.hdr" "http://$A/v2/fleet/big/blobs/$big_layer"
head -n 1 "$WORK/h.hdr" | grep -q ' 200' || fail "HEAD the big layer on the restarted A: $(head -n 1 "$WORK/h.hdr")"
assert_eq "$(header_of "$WORK/h.hdr" Content-Length)" "$big_size" "Content-Length of the big layer on the restarted A"
log "upload rows left in PostgreSQL (the killed push's session): $(fleet_psql 'SELECT count(*) FROM upload')"

# ===================================================================================================
phase startup_failures "nodes with an unusable S3 endpoint, bucket or PostgreSQL URL exit non-zero"
# bad_node WHAT PATTERN VAR=VALUE...: the node must exit non-zero within 60 s; stderr must match PATTERN.
bad_node() {
  local what="$1" pattern="$2"; shift 2
  local err="$WORK/logs/bad-node-$what.log" rc=0 t0=$SECONDS
  timeout --kill-after=5 60 env "${FLEET_ENV[@]}" "$@" "$BERTH" serve --listen "127.0.0.1:$(free_port)" \
    --data "$WORK/node-bad" >"$err" 2>&1 || rc=$?
  ((rc != 0)) || fail "a node with $what exited 0: $(tail -n 3 "$err")"
  ((rc != 124 && rc != 137)) || fail "a node with $what did not exit within 60 s: $(tail -n 3 "$err")"
  grep -qiE "$pattern" "$err" || fail "a node with $what exited $rc without naming the backend (/$pattern/): $(tail -n 3 "$err")"
  log "$what: exit $rc after $((SECONDS - t0))s: $(grep -iE "$pattern" "$err" | tail -n 1 | cut -c1-300)"
}
dead_port="$(free_port)"
bad_node "an unreachable S3 endpoint" "s3.*127\.0\.0\.1:$dead_port|127\.0\.0\.1:$dead_port.*s3" \
  BERTH_S3_ENDPOINT="http://127.0.0.1:$dead_port"
bad_node "a missing bucket" "s3.*no-such-bucket-$rnd" BERTH_S3_BUCKET="no-such-bucket-$rnd"
bad_node "wrong S3 credentials" "s3" BERTH_S3_SECRET_KEY="wrong-secret-$rnd"
bad_node "an unreachable PostgreSQL" "postgres" BERTH_POSTGRES_URL="postgresql://berth:sekrit-$rnd@127.0.0.1:$dead_port/fleet"
grep -q "sekrit-$rnd" "$WORK/logs/bad-node-an unreachable PostgreSQL.log" && fail "the PostgreSQL password appears in the node's error"
bad_node "a missing PostgreSQL database" "postgres" BERTH_POSTGRES_URL="${PG_URL%/*}/no_such_db_$rnd"
mkdir -p "$WORK/no-modules"
bad_node "no driver modules" "postgres.*driver module berth-postgres.so not found" BERTH_MODULE_DIR="$WORK/no-modules"

# ===================================================================================================
phase auth "authentication on, one signing key: tokens from A work on B and the reverse"
# The key as docs/fleet.md makes it: an ES256 (P-256) private key in PEM, the same file on every node.
mkdir -p "$WORK/keys"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/keys/token-signing.pem" 2>"$WORK/logs/openssl.log" ||
  fail "openssl genpkey: $(cat "$WORK/logs/openssl.log")"
auth_env=(BERTH_AUTH_ENABLED=true BERTH_AUTH_SIGNING_KEY_FILE="$WORK/keys/token-signing.pem")
fleet_node_stop A
fleet_node_stop B
fleet_node_start A "${auth_env[@]}"
fleet_node_start B "${auth_env[@]}"
admin() { timeout 60 env "${FLEET_ENV[@]}" "$BERTH" admin --data "$WORK/admin-data" "$@" 2>>"$WORK/logs/admin.log"; }
admin user create alice || fail "berth admin user create alice (PostgreSQL): $(tail -n 3 "$WORK/logs/admin.log")"
PAT="$(admin token create --user alice --scopes read:packages,write:packages)" ||
  fail "berth admin token create: $(tail -n 3 "$WORK/logs/admin.log")"
[[ "$PAT" =~ ^berth_pat_ ]] || fail "token create printed '$PAT'"
token_from() { # NODE: a push+pull JWT for alice/fleet issued by NODE
  curl -sS --max-time 10 -u "alice:$PAT" "http://$1/token?service=berth&scope=repository:alice/fleet:pull,push" | jq -r '.token // empty'
}
jwt_a="$(token_from "$A")" jwt_b="$(token_from "$B")"
[[ -n "$jwt_a" && -n "$jwt_b" ]] || fail "GET /token with alice's PAT gave no token"
assert_eq "$(http_code GET "http://$B/v2/")" 401 "GET /v2/ on B without a token"
assert_eq "$(http_code GET "http://$B/v2/" -H "Authorization: Bearer ${jwt_a}x")" 401 "GET /v2/ on B with a corrupted token"
assert_eq "$(http_code GET "http://$B/v2/" -H "Authorization: Bearer $jwt_a")" 200 "GET /v2/ on B with A's token"
assert_eq "$(http_code GET "http://$A/v2/" -H "Authorization: Bearer $jwt_b")" 200 "GET /v2/ on A with B's token"
# A blob pushed on B with A's token, read on A with B's token.
head -c 4096 /dev/urandom >"$WORK/auth.bin"
auth_d="$(sha256_of "$WORK/auth.bin")"
code="$(curl -sS --max-time 30 -o /dev/null -D "$WORK/a.hdr" -w '%{http_code}' -X POST -H 'Content-Length: 0' \
  -H "Authorization: Bearer $jwt_a" "http://$B/v2/alice/fleet/blobs/uploads/")"
assert_eq "$code" 202 "POST upload on B with A's token"
loc="$(path_of "$(header_of "$WORK/a.hdr" Location)")" sep='?'
[[ "$loc" == *\?* ]] && sep='&'
code="$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
  -H "Authorization: Bearer $jwt_a" --data-binary "@$WORK/auth.bin" "http://$A$loc${sep}digest=$auth_d")"
assert_eq "$code" 201 "closing PUT of that upload on A with A's token"
assert_eq "$(http_code HEAD "http://$A/v2/alice/fleet/blobs/$auth_d" -I -H "Authorization: Bearer $jwt_b")" 200 "HEAD the blob on A with B's token"
assert_eq "$(http_code HEAD "http://$B/v2/alice/fleet/blobs/$auth_d" -I)" 401 "HEAD the private blob on B anonymously"
# Real clients through nginx: the challenge's realm is nginx's /token, so tokens come from either node.
run skopeo copy --preserve-digests "${tlsf[@]}" --dest-creds "alice:$PAT" "oci:$WORK/img-app:1.0" "docker://$LB/alice/fleet:1.0"
run skopeo copy "${tlsf[@]}" --src-creds "alice:$PAT" "docker://$LB/alice/fleet:1.0" "oci:$WORK/pull-auth:1.0"
assert_eq "$(oci_tag_digest "$WORK/pull-auth" 1.0)" "$app_digest" "digest pulled with credentials through nginx"
run skopeo inspect --tls-verify=false --creds "alice:$PAT" "docker://$B/alice/fleet:1.0"
assert_eq "$(jq -r .Digest "$RUN_OUT")" "$app_digest" "skopeo inspect with credentials on B"
run_fails skopeo inspect --tls-verify=false "docker://$LB/alice/fleet:1.0"
grep -qiE 'unauthorized|authentication required|401' "$RUN_OUT" ||
  fail "anonymous skopeo inspect of a private package through nginx failed, but not with 401: $(tail -n 2 "$RUN_OUT")"
# /token requests each node answered since it was restarted with authentication on.
tokens_on() { awk '/^==== start/ {n = 0} /path=\/token/ {n++} END {print n + 0}' "${NODE_LOG[$1]}"; }
log "/token requests answered: node A $(tokens_on A), node B $(tokens_on B) (nginx passed $(grep -c ' /token' "$NGINX_DIR/access.log"))"

# ===================================================================================================
phase readyz "/readyz: 200 on both nodes, 503 once PostgreSQL is stopped, 200 once it is back"
for n in "$A" "$B" "$LB"; do
  assert_eq "$(http_code GET "http://$n/readyz")" 200 "GET /readyz through $n"
done
fleet_pg_stop
t0=$EPOCHREALTIME
for n in A B; do
  assert_eq "$(wait_code 503 30 "http://${NODE_ADDR[$n]}/readyz" --max-time 15)" 503 "GET /readyz on $n with PostgreSQL stopped"
done
log "both nodes not ready $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s after PostgreSQL stopped; /healthz on A: $(http_code GET "http://$A/healthz")"
assert_eq "$(http_code GET "http://$A/healthz")" 200 "GET /healthz on A with PostgreSQL stopped (the process is alive)"
# The same server again (same directory and port): the nodes reconnect by themselves.
timeout 60 bash "$BERTH_SOURCE_DIR/scripts/start-postgres.sh" "$PG_DIR" >/dev/null 2>>"$WORK/logs/start-postgres.log" ||
  fail "restarting PostgreSQL failed: $(tail -n 5 "$WORK/logs/start-postgres.log")"
t0=$EPOCHREALTIME
for n in A B; do
  assert_eq "$(wait_code 200 30 "http://${NODE_ADDR[$n]}/readyz" --max-time 15)" 200 "GET /readyz on $n after PostgreSQL came back"
done
log "both nodes ready again $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s after PostgreSQL restarted"
code="$(http_code GET "http://$B/v2/alice/fleet/manifests/1.0" -H "Accept: $oci_accept" -H "Authorization: Bearer $jwt_a")"
assert_eq "$code" 200 "GET a manifest on B after PostgreSQL came back"
fleet_pg_stop

# ===================================================================================================
phase shutdown "SIGTERM both nodes; no sanitizer reports"
for n in A B; do
  fleet_node_stop "$n"
  log "node $n exit status after SIGTERM (PostgreSQL down): $NODE_EXIT"
  [[ "$NODE_EXIT" != killed ]] || fail "node $n did not stop within 15 s of SIGTERM"
done
for n in "${!NODE_LOG[@]}"; do
  grep -qiE 'AddressSanitizer|runtime error:|LeakSanitizer' "${NODE_LOG[$n]}" && fail "sanitizer report in node $n's log"
done
phase_end
printf '%s\n' "${FLEET_TIMINGS[@]}" >&2
