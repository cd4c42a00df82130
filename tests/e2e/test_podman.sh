#!/usr/bin/env bash
# podman: pull from an OCI layout, push to the registry, remove it locally, pull it back (by tag and
# by digest), and run a container from the pulled image; an immutable tag and a storage quota refuse
# podman's push with their reasons.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init podman skopeo umoci runc
e2e_containers_env

step "build the test image and load it into podman"
src="$WORK/src"
e2e_build_image "$src" 1.0 >/dev/null
run podman pull -q "oci:$src:1.0"
image_id="$(tail -n 1 "$RUN_OUT")"
[[ "$image_id" =~ ^[0-9a-f]{64}$ ]] || fail "podman pull printed no image id: $(cat "$RUN_OUT")"

e2e_registry_start
ref="$REG/acme/tools/busybox:1.0"

step "podman push $ref"
run podman tag "$image_id" "$ref"
run podman push --tls-verify=false --digestfile "$WORK/pushed.digest" "$ref"
pushed="$(cat "$WORK/pushed.digest")"
[[ "$pushed" == sha256:* ]] || fail "podman push wrote no digest"
log "pushed manifest $pushed"
code="$(e2e_curl -o /dev/null -w '%{http_code}' -I \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
  "$REG_SCHEME://$REG/v2/acme/tools/busybox/manifests/$pushed")"
assert_eq "$code" 200 "HEAD /v2/acme/tools/busybox/manifests/<pushed digest>"
run skopeo inspect --tls-verify=false "docker://$ref"
assert_eq "$(jq -r .Digest "$RUN_OUT")" "$pushed" "digest of $ref seen by skopeo inspect"

step "podman rmi, then the image is gone locally"
run podman rmi -f "$image_id"
run_fails podman image exists "$ref"

step "podman pull $ref"
run podman pull --tls-verify=false "$ref"
run podman image inspect "$ref"
assert_eq "$(jq -r '.[0].Digest' "$RUN_OUT")" "$pushed" "digest of the pulled image"
jq -e --arg d "$REG/acme/tools/busybox@$pushed" '.[0].RepoDigests | index($d)' "$RUN_OUT" >/dev/null ||
  fail "RepoDigests lacks $REG/acme/tools/busybox@$pushed: $(jq -c '.[0].RepoDigests' "$RUN_OUT")"
assert_eq "$(jq -r '.[0].Id' "$RUN_OUT")" "$image_id" "image id (config digest) after the round trip"

step "podman pull by digest"
run podman rmi -f "$ref"
run podman pull --tls-verify=false "$REG/acme/tools/busybox@$pushed"
run podman image exists "$REG/acme/tools/busybox@$pushed"

step "podman run --rm $ref /bin/busybox echo ok"
run podman run --rm --network none "$REG/acme/tools/busybox@$pushed" /bin/busybox echo ok
out="$(tr -d '\r' <"$RUN_OUT" | tail -n 1)"
assert_eq "$out" ok "output of the container"

step "pulling a tag that does not exist fails"
run_fails podman pull --tls-verify=false "$REG/acme/tools/busybox:nope"
grep -qiE 'manifest unknown|not found' "$RUN_OUT" ||
  fail "pull of a missing tag did not report manifest unknown: $(tail -n 3 "$RUN_OUT")"

step "an immutable tag: podman cannot move it, and says why (docs/lifecycle.md)"
e2e_admin tag-rule add --owner acme stable >/dev/null
run podman tag "$REG/acme/tools/busybox@$pushed" "$REG/acme/tools/busybox:stable"
run podman push --tls-verify=false "$REG/acme/tools/busybox:stable"
# The same image as a Docker schema 2 manifest: another digest under the same tag.
run_fails podman push --tls-verify=false --format v2s2 "$REG/acme/tools/busybox:stable"
grep -q "immutable" "$RUN_OUT" || fail "podman did not report the immutable tag: $(tail -n 3 "$RUN_OUT")"
run skopeo inspect --tls-verify=false "docker://$REG/acme/tools/busybox:stable"
assert_eq "$(jq -r .Digest "$RUN_OUT")" "$pushed" "digest of the immutable tag after the refused push"

step "a push over the owner's storage quota fails cleanly"
e2e_admin quota set --owner quota 1000 >/dev/null
run podman tag "$REG/acme/tools/busybox@$pushed" "$REG/quota/busybox:1.0"
run_fails podman push --tls-verify=false "$REG/quota/busybox:1.0"
grep -q "storage quota exceeded" "$RUN_OUT" || fail "podman did not report the quota: $(tail -n 3 "$RUN_OUT")"
run_fails skopeo inspect --tls-verify=false "docker://$REG/quota/busybox:1.0"
e2e_admin quota show --owner quota >"$WORK/quota.txt"
grep -q $'owner quota\t0\t1000' "$WORK/quota.txt" || fail "quota show: $(cat "$WORK/quota.txt")"

e2e_finish
