#!/usr/bin/env bash
# containerd: a private containerd daemon (everything below $WORK, no CRI plugin) pulls images from
# the registry over plain HTTP with ctr: an OCI image by tag, the same by digest, and a Docker
# schema 2 image; `ctr images ls` shows each with the registry's digest, and the content is complete.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init containerd ctr skopeo umoci
e2e_containers_env

step "build the test image"
src="$WORK/src"
e2e_build_image "$src" 1.0 >/dev/null

e2e_registry_start
app="$REG/acme/app"

step "push $app:1.0 (OCI) and $app:docker (Docker schema 2) with skopeo"
run skopeo copy --dest-tls-verify=false --digestfile "$WORK/oci.digest" "oci:$src:1.0" "docker://$app:1.0"
oci_digest="$(cat "$WORK/oci.digest")"
run skopeo copy --dest-tls-verify=false --format v2s2 --digestfile "$WORK/docker.digest" "oci:$src:1.0" "docker://$app:docker"
docker_digest="$(cat "$WORK/docker.digest")"
assert_ne "$docker_digest" "$oci_digest" "the Docker schema 2 manifest digest"
run skopeo inspect --raw --tls-verify=false "docker://$app:docker"
assert_eq "$(jq -r .mediaType "$RUN_OUT")" application/vnd.docker.distribution.manifest.v2+json "media type of :docker"

step "start a private containerd"
e2e_containerd_start
sock="$CD_SOCK"
cd_pid="$CD_PID"
CTR=(ctr --address "$sock" --namespace berth-e2e)
run ctr --address "$sock" version
log "containerd pid $cd_pid: $(grep -i '^Server' -A 3 "$RUN_OUT" | grep -i version | tr -s ' ' | head -n 1)"

# check_image REF DIGEST: `ctr images ls` lists REF with DIGEST, and all its content is present.
check_image() {
  run "${CTR[@]}" images ls
  local line
  line="$(awk -v r="$1" '$1 == r' "$RUN_OUT")"
  [[ -n "$line" ]] || fail "ctr images ls does not list $1: $(cat "$RUN_OUT")"
  [[ "$line" == *" $2 "* ]] || fail "ctr images ls shows $1 without digest $2: $line"
  run "${CTR[@]}" images check "name==$1"
  grep -q complete "$RUN_OUT" || fail "ctr images check: $1 is not complete: $(cat "$RUN_OUT")"
}

step "ctr images pull --plain-http $app:1.0"
run "${CTR[@]}" images pull --plain-http "$app:1.0"
check_image "$app:1.0" "$oci_digest"
# Every blob of the manifest is in containerd's content store, with the right digest.
for d in $(oci_manifest_config "$src" "$oci_digest") $(oci_manifest_layers "$src" "$oci_digest"); do
  run "${CTR[@]}" content get "$d"
  assert_eq "sha256:$(sha256sum "$RUN_OUT" | cut -d' ' -f1)" "$d" "content of $d in containerd"
done

step "ctr images pull --plain-http $app@$oci_digest"
run "${CTR[@]}" images pull --plain-http "$app@$oci_digest"
check_image "$app@$oci_digest" "$oci_digest"

step "ctr images pull --plain-http $app:docker (Docker schema 2)"
run "${CTR[@]}" images pull --plain-http "$app:docker"
check_image "$app:docker" "$docker_digest"

step "ctr images push --plain-http to a new repository"
run "${CTR[@]}" images tag "$app:1.0" "$REG/acme/pushed-by-ctr:1.0"
run "${CTR[@]}" images push --plain-http "$REG/acme/pushed-by-ctr:1.0"
run skopeo inspect --raw --tls-verify=false "docker://$REG/acme/pushed-by-ctr:1.0"
assert_eq "sha256:$(sha256sum "$RUN_OUT" | cut -d' ' -f1)" "$oci_digest" "digest of the manifest ctr pushed"
run skopeo copy --src-tls-verify=false "docker://$REG/acme/pushed-by-ctr:1.0" "oci:$WORK/ctr-pushed:1.0"
for d in $(oci_manifest_layers "$src" "$oci_digest"); do assert_blob_ok "$WORK/ctr-pushed" "$d"; done

step "pulling a missing tag fails"
run_fails "${CTR[@]}" images pull --plain-http "$app:missing"
grep -qiE 'not found' "$RUN_OUT" || fail "pull of a missing tag did not say not found: $(tail -n 3 "$RUN_OUT")"

step "stop containerd"
e2e_containerd_stop

e2e_finish
