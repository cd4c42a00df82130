#!/usr/bin/env bash
# Migration from another registry (`berth admin import`, docs/import.md): a CNCF Distribution (Debian's
# docker-registry) with htpasswd authentication holds 20 tags — single-platform images, two-platform
# indexes, a cosign-style signature tag — and Berth imports them all: every tag afterwards has the
# source's exact manifest digest, the indexes pull whole with skopeo, the signature is attached to its
# image's version. An import killed midway and run again completes, fetching only what is missing; a
# second run fetches nothing. Wrong credentials fail clearly. Berth → Berth exercises the Bearer token
# flow of the source's challenge.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init skopeo umoci buildah docker-registry
e2e_containers_env
[[ -z "${BERTH_TEST_REGISTRY:-}" && "${BERTH_TEST_SERVER:-berth}" == berth ]] ||
  skip "needs its own Berth (berth admin import) and its own Distribution"
/usr/bin/python3 -c 'import bcrypt' 2>/dev/null || fail "python3-bcrypt is not installed (scripts/install-deps.sh)"

step "build the images offline (four single-platform, and amd64 + arm64 for the indexes)"
src="$WORK/src"
for i in 1 2 3 4 5; do e2e_build_image "$src" "v$i" --label "org.example.n=$i" >/dev/null; done  # v5: the "signature"
e2e_build_image "$src" big --extra-mib 48 >/dev/null  # a 48 MiB layer: streamed, and long enough to be interrupted
amd="$(e2e_build_image "$src" amd64 --arch amd64)"
arm="$(e2e_build_image "$src" arm64 --arch arm64)"

step "start CNCF Distribution with htpasswd authentication"
SRC_PORT="$(free_port)"
SRC="127.0.0.1:$SRC_PORT"
hash="$(/usr/bin/python3 -c 'import bcrypt; print(bcrypt.hashpw(b"s3cret-mover", bcrypt.gensalt(rounds=6)).decode())')"
# Go's bcrypt reads the $2a$ prefix; Python writes $2b$ (the same algorithm for these passwords).
echo "mover:${hash/\$2b\$/\$2a\$}" >"$WORK/htpasswd"
cat >"$WORK/source.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $WORK/source-data
  delete:
    enabled: true
http:
  addr: $SRC
auth:
  htpasswd:
    realm: source
    path: $WORK/htpasswd
EOF
env -u REGISTRY_AUTH_FILE docker-registry serve "$WORK/source.yml" >"$WORK/logs/source.log" 2>&1 &
SRC_PID=$!
e2e_on_exit "kill $SRC_PID 2>/dev/null; wait $SRC_PID 2>/dev/null"
for _ in $(seq 100); do
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$SRC/v2/")" == 401 ]] && break
  sleep 0.1
done
[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$SRC/v2/")" == 401 ]] ||
  fail "Distribution did not come up with authentication: $(tail -n 5 "$WORK/logs/source.log")"
SRC_CREDS="mover:s3cret-mover"

step "fill the source: 20 tags (16 single-platform, one with a 48 MiB layer, 3 two-platform indexes, a signature tag)"
TAGS=()
run skopeo copy --quiet --dest-tls-verify=false --dest-creds "$SRC_CREDS" "oci:$src:big" "docker://$SRC/team/app:0.big"
TAGS+=(0.big)
for n in $(seq 1 15); do
  t="1.$n"
  run skopeo copy --quiet --dest-tls-verify=false --dest-creds "$SRC_CREDS" "oci:$src:v$(((n - 1) % 4 + 1))" "docker://$SRC/team/app:$t"
  TAGS+=("$t")
done
run buildah manifest create localhost/import-index
run buildah manifest add --os linux --arch amd64 localhost/import-index "oci:$src:amd64"
run buildah manifest add --os linux --arch arm64 localhost/import-index "oci:$src:arm64"
run buildah manifest push --all --format oci --tls-verify=false --creds "$SRC_CREDS" localhost/import-index "docker://$SRC/team/app:multi-1"
TAGS+=(multi-1)
for t in multi-2 latest; do
  run skopeo copy --quiet --all --src-tls-verify=false --dest-tls-verify=false --src-creds "$SRC_CREDS" \
    --dest-creds "$SRC_CREDS" "docker://$SRC/team/app:multi-1" "docker://$SRC/team/app:$t"
  TAGS+=("$t")
done
# A cosign-style signature of 1.1: an image stored under sha256-<hex of 1.1>.sig (no subject).
run skopeo inspect --raw --tls-verify=false --creds "$SRC_CREDS" "docker://$SRC/team/app:1.1"
signed="$(sha256sum <"$RUN_OUT" | cut -d' ' -f1)"
sig_tag="sha256-$signed.sig"
run skopeo copy --quiet --dest-tls-verify=false --dest-creds "$SRC_CREDS" "oci:$src:v5" "docker://$SRC/team/app:$sig_tag"
TAGS+=("$sig_tag")
assert_eq "${#TAGS[@]}" 20 "tags in the source"
run skopeo list-tags --tls-verify=false --creds "$SRC_CREDS" "docker://$SRC/team/app"
assert_eq "$(jq '.Tags | length' "$RUN_OUT")" 20 "tags the source lists"

# digest_of REGISTRY REPO TAG CREDS: the manifest digest as stored (sha256 of the raw bytes).
digest_of() {
  run skopeo inspect --raw --tls-verify=false --creds "$4" "docker://$1/$2:$3"
  echo "sha256:$(sha256sum <"$RUN_OUT" | cut -d' ' -f1)"
}
declare -A SOURCE_DIGEST
for t in "${TAGS[@]}"; do SOURCE_DIGEST[$t]="$(digest_of "$SRC" team/app "$t" "$SRC_CREDS")"; done

export BERTH_AUTH_ENABLED=true
e2e_registry_start
e2e_admin user create alice >/dev/null
PAT="$(e2e_admin token create --user alice --scopes read:packages,write:packages,delete:packages)"
printf '%s\n' "$SRC_CREDS" >"$WORK/source.creds"

step "wrong credentials: the import fails and says so"
printf 'mover:wrong\n' >"$WORK/wrong.creds"
if out="$(timeout "$E2E_TIMEOUT" "$BERTH" admin --data "$REG_DATA" import "$SRC/team/app" --to alice/app --all-tags \
  --creds-file "$WORK/wrong.creds" --plain-http 2>&1)"; then
  fail "an import with wrong credentials succeeded: $out"
fi
grep -q "401" <<<"$out" || fail "the failure does not say the source refused the credentials: $out"

step "an import killed midway (SIGKILL while it streams the 48 MiB layer), then run again, completes"
"$BERTH" admin --data "$REG_DATA" import "$SRC/team/app" --to alice/app --all-tags --creds-file "$WORK/source.creds" \
  --plain-http >"$WORK/logs/killed-import.log" 2>&1 &
import_pid=$!
killed=""
for _ in $(seq 500); do
  # The upload being written: the big layer is on its way.
  if find "$REG_DATA/blobs/uploads" -type f -size +4M 2>/dev/null | grep -q .; then
    kill -9 "$import_pid" && killed=1
    break
  fi
  kill -0 "$import_pid" 2>/dev/null || break
  sleep 0.02
done
wait "$import_pid" 2>/dev/null || true
[[ -n "$killed" ]] || fail "the import ended before it could be killed mid-layer: $(tail -n 3 "$WORK/logs/killed-import.log")"
! grep -q '^imported' "$WORK/logs/killed-import.log" || fail "the killed import reported completion"
# Peak memory of the run that continues: the 48 MiB layer passes through it, streamed.
out="$(timeout "$E2E_TIMEOUT" /usr/bin/python3 -c '
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
sys.stderr.write(r.stderr)
print(r.stdout.strip())
print("peak_rss_kib", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(r.returncode)' "$BERTH" admin --data "$REG_DATA" import "$SRC/team/app" --to alice/app --all-tags \
  --creds-file "$WORK/source.creds" --plain-http 2>"$WORK/logs/import.log")" || fail "the import run again failed: $(tail -n 5 "$WORK/logs/import.log")"
log "$out"
grep -q '^imported 20 tags:' <<<"$out" || fail "the import did not report 20 tags: $out"
grep -qE ' [1-9][0-9]* blobs copied' <<<"$out" || fail "the continued import copied no blob (the killed one had not finished): $out"
rss="$(awk '/^peak_rss_kib/ {print $2}' <<<"$out")"
((rss < 40 * 1024)) || fail "the import's peak RSS was $rss KiB for a 48 MiB layer: not streamed"

step "every tag has the source's digest in Berth"
for t in "${TAGS[@]}"; do
  assert_eq "$(digest_of "$REG" alice/app "$t" "alice:$PAT")" "${SOURCE_DIGEST[$t]}" "digest of $t in Berth"
done
run skopeo list-tags --tls-verify=false --creds "alice:$PAT" "docker://$REG/alice/app"
assert_eq "$(jq '.Tags | length' "$RUN_OUT")" 20 "tags Berth lists"

step "the indexes pull whole from Berth (skopeo --all), identical to the source"
run skopeo copy --quiet --all --preserve-digests --src-tls-verify=false --src-creds "alice:$PAT" \
  "docker://$REG/alice/app:multi-1" "oci:$WORK/pulled:multi-1"
assert_eq "$(oci_tag_digest "$WORK/pulled" multi-1)" "${SOURCE_DIGEST[multi-1]}" "digest of the pulled index"
for child in "$amd" "$arm"; do
  [[ -n "$(jq -r --arg d "$child" '.manifests[] | select(.digest == $d) | .digest' "$(oci_blob "$WORK/pulled" "${SOURCE_DIGEST[multi-1]}")")" ]] ||
    fail "the pulled index lacks $child"
  assert_file "$(oci_blob "$WORK/pulled" "$child")" "platform manifest $child pulled"
done

step "versions: one per distinct image, the signature attached to 1.1's"
versions="$(curl -sS -u "alice:$PAT" "http://$REG/api/v3/users/alice/packages/container/app/versions?per_page=100")"
# 4 single-platform images, the big one and 1 index; the signature (v5 under the .sig tag) joins 1.1's.
assert_eq "$(jq length <<<"$versions")" 6 "number of versions after the import"
v11="$(jq -r --arg d "${SOURCE_DIGEST[1.1]}" '.[] | select(.name == $d) | .metadata.container.referrers | map(.digest) | join(" ")' <<<"$versions")"
[[ "$v11" == *"${SOURCE_DIGEST[$sig_tag]}"* ]] || fail "the signature is not attached to 1.1's version: '$v11'"

step "a second import fetches nothing"
out="$(e2e_admin import "$SRC/team/app" --to alice/app --all-tags --creds-file "$WORK/source.creds" --plain-http)"
[[ "$out" == *" 0 manifests copied"* && "$out" == *" 0 blobs copied"* ]] || fail "a repeated import copied again: $out"

step "Berth → Berth: the source's Bearer challenge (token from its realm) is answered"
printf 'alice:%s\n' "$PAT" >"$WORK/berth.creds"
out="$(e2e_admin import "$REG/alice/app" --to alice/copy --tag multi-1 --tag 1.2 --creds-file "$WORK/berth.creds" --plain-http)"
[[ "$out" == "imported 2 tags:"* ]] || fail "Berth to Berth: $out"
assert_eq "$(digest_of "$REG" alice/copy multi-1 "alice:$PAT")" "${SOURCE_DIGEST[multi-1]}" "digest of multi-1 copied within Berth"
[[ "$out" == *" 0 blobs copied"* ]] || fail "blobs Berth already holds were fetched again: $out"
run_fails skopeo inspect --raw --tls-verify=false "docker://$REG/alice/copy:1.2"  # private: anonymous is refused

e2e_finish
