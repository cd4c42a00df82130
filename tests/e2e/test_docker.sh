#!/usr/bin/env bash
# Docker Engine (Debian's docker.io 20.10: /usr/sbin/dockerd and /usr/bin/docker) against Berth with
# authentication on. The test starts its own dockerd (own data, exec and config roots; vfs; no bridge,
# no iptables) in a private mount namespace where /etc/docker (so certs.d), /etc/hosts and /run are
# the test's own, and shares it between all the cases:
#   1. dockerd treats loopback (127.0.0.0/8) as an insecure registry: plain HTTP to 127.0.0.1 works
#      without --insecure-registry;
#   2. an image built offline (docker import of a busybox rootfs, docker build --network none with a
#      RUN step) is pushed with a PAT (docker login --password-stdin), removed, pulled back (by tag
#      and by digest) and run; its image id is the config digest in the registry;
#   3. docker manifest inspect of an OCI index (amd64 + arm64) lists both platforms; docker pull of an
#      index picks amd64; docker manifest create + push of a Docker manifest list across repositories;
#   4. a CI token logs in and pushes to its package, and is denied any other;
#   5. an expired PAT cannot log in; a PAT revoked after login: pushes with the stored credentials
#      fail, and logging in with it fails;
#   6. after docker logout a private image cannot be pulled, a public one can (and cannot be pushed);
#   7. TLS: on 127.0.0.1 dockerd does not verify the certificate at all (loopback is insecure); on a
#      name that is not loopback IPv4 (berth-v6.test → ::1, in dockerd's own /etc/hosts) a plain-HTTP
#      registry is refused, and a TLS one fails with an x509 error until its CA is in
#      certs.d/HOST:PORT/ca.crt, then login, push and pull work;
#   8. no token appears in the registry log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init openssl skopeo umoci python3 unshare file base64

[[ -z "${BERTH_TEST_REGISTRY:-}" ]] || skip "needs its own Berth (authentication on, identities made with berth admin)"
[[ "${BERTH_TEST_SERVER:-berth}" == berth ]] || skip "tests Berth's authentication with Docker"
[[ $(id -u) -eq 0 ]] || skip "starting a private dockerd needs root"
[[ -x /usr/sbin/dockerd && -x /usr/bin/docker ]] ||
  fail "docker.io is not installed (/usr/sbin/dockerd, /usr/bin/docker; scripts/install-deps.sh test)"
export BERTH_AUTH_ENABLED=true

# refused_with FILE REGEX "what": a failed client call's output says why (REGEX, case-insensitive).
refused_with() {
  grep -qiE "$2" "$1" || fail "$3: expected the output to match /$2/, got: $(tail -n 5 "$1")"
}

# ---------------------------------------------------------------------------------------------------
# The private dockerd

DK="$WORK/docker"                   # --data-root, --exec-root, pid file, log
DOCKER_SOCK="$WORK/docker.sock"
DOCKER_ETC="$WORK/docker-etc"       # mounted on /etc/docker for dockerd only
DOCKER_CERTS="$DOCKER_ETC/certs.d"  # what dockerd reads as /etc/docker/certs.d
DOCKER_HOSTS="$WORK/docker-hosts"   # mounted on /etc/hosts for dockerd only
DOCKER_CGROUP="$(basename "$WORK")" # --cgroup-parent, removed on exit
V6_NAME="berth-v6.test"             # resolves to ::1 for dockerd only
DOCKERD_PID=""
export DOCKER_CONFIG="$WORK/docker-config"
export DOCKER_BUILDKIT=0            # the classic builder: offline, no BuildKit session
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_CLI_EXPERIMENTAL
# Debian's 20.10 client explicitly (/usr/local/bin/docker may be another version).
DOCKER=(/usr/bin/docker -H "unix://$DOCKER_SOCK")

# dockerd_stop: stops dockerd (SIGTERM, SIGKILL after 20 s), then whatever it left: its containerd and
# shims (found by the exec root in their command line, killed by pid), mounts below its roots, and
# its cgroups. Never exits (runs from the exit trap).
dockerd_stop() {
  [[ -n "$DOCKERD_PID" ]] || return 0
  local pid="$DOCKERD_PID" i p m
  DOCKERD_PID=""
  timeout 30 "${DOCKER[@]}" ps -aq 2>/dev/null | xargs -r timeout 30 "${DOCKER[@]}" rm -f >/dev/null 2>&1
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    log "dockerd (pid $pid) did not stop within 20 s of SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  local cmd
  for p in /proc/[0-9]*; do
    [[ "${p#/proc/}" != "$$" && "${p#/proc/}" != "$BASHPID" ]] || continue
    cmd="$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" || continue
    if [[ "$cmd" == *"$DK/"* ]]; then
      log "killing ${p#/proc/} left by dockerd: ${cmd:0:120}"
      kill -KILL "${p#/proc/}" 2>/dev/null
    fi
  done
  # Its mounts live in its own namespace, gone with its last process; these would be any that leaked.
  awk -v d="$DK/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null
  done
  for p in /sys/fs/cgroup/*/"$DOCKER_CGROUP"; do
    [[ -d "$p" ]] && find "$p" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  return 0
}

# dockerd_start: starts dockerd in a private mount namespace and waits until it answers.
dockerd_start() {
  mkdir -p "$DK/data" "$DK/exec" "$DOCKER_CERTS" "$DOCKER_CONFIG"
  echo '{}' >"$DOCKER_ETC/daemon.json"
  { cat /etc/hosts; echo "::1 $V6_NAME"; } >"$DOCKER_HOSTS"
  # docker manifest is experimental in the 20.10 client.
  echo '{"experimental": "enabled"}' >"$DOCKER_CONFIG/config.json"
  local args=(--data-root "$DK/data" --exec-root "$DK/exec" --pidfile "$DK/dockerd.pid"
    -H "unix://$DOCKER_SOCK" --config-file /etc/docker/daemon.json
    --bridge=none --iptables=false --ip-masq=false --storage-driver=vfs
    --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "/$DOCKER_CGROUP")
  log "starting: dockerd ${args[*]}"
  # dockerd has no option for its certs.d (/etc/docker/certs.d for a rootful daemon), so it gets its
  # own /etc/docker; its /run holds what it and its containerd create there (/run/docker/plugins,
  # /run/containerd/s). Mounts are private to the namespace: the host sees none of them.
  # shellcheck disable=SC2016
  unshare --mount --propagation private -- /bin/sh -c '
    mount --bind "$1" /etc/docker && mount --bind "$2" /etc/hosts && mount -t tmpfs -o mode=0755 tmpfs /run || exit 97
    shift 2; exec "$@"' sh "$DOCKER_ETC" "$DOCKER_HOSTS" /usr/sbin/dockerd "${args[@]}" >"$DK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  e2e_on_exit dockerd_stop
  local i st
  for ((i = 0; i < 300; i++)); do
    if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
      st=0; wait "$DOCKERD_PID" || st=$?
      DOCKERD_PID=""
      local why; why="$(grep -E 'level=(fatal|error)|failed to start|^[a-z]' "$DK/dockerd.log" | tail -n 3 || true)"
      ((st != 97)) || skip "cannot make dockerd's private mount namespace: $(tail -n 3 "$DK/dockerd.log")"
      # A sandbox without the privileges or cgroups dockerd needs: say so instead of failing.
      if grep -qiE 'level=fatal.*(operation not permitted|permission denied|cgroup|mount)' "$DK/dockerd.log"; then
        skip "dockerd cannot run here: $why"
      fi
      fail "dockerd exited (status $st): $(tail -n 15 "$DK/dockerd.log")"
    fi
    if timeout 5 "${DOCKER[@]}" version --format '{{.Server.Version}}' >"$WORK/logs/docker-version.txt" 2>&1; then
      log "dockerd $(cat "$WORK/logs/docker-version.txt") (pid $DOCKERD_PID) on $DOCKER_SOCK"
      return 0
    fi
    sleep 0.2
  done
  fail "dockerd did not answer within 60 s: $(tail -n 15 "$DK/dockerd.log")"
}

# docker_login USER TOKEN HOST: docker login --password-stdin; must succeed and store the credentials
# in $DOCKER_CONFIG/config.json (not in a credential helper).
docker_login() {
  run "${DOCKER[@]}" login -u "$1" --password-stdin "$3" <<<"$2"
  refused_with "$RUN_OUT" 'Login Succeeded' "docker login $3 as $1"
  local want; want="$(printf '%s:%s' "$1" "$2" | base64 -w0)"
  [[ "$(jq -r --arg h "$3" '.auths[$h].auth // empty' "$DOCKER_CONFIG/config.json")" == "$want" ]] ||
    fail "docker login did not store the credentials for $3 in $DOCKER_CONFIG/config.json: $(jq -c '{credsStore, auths: (.auths | keys)}' "$DOCKER_CONFIG/config.json")"
}

# docker_push REF: pushes; prints nothing, sets PUSHED to the manifest digest docker reports.
PUSHED=""
docker_push() {
  run "${DOCKER[@]}" push "$1"
  PUSHED="$(sed -nE 's/^.*: digest: (sha256:[0-9a-f]{64}) size: [0-9]+$/\1/p' "$RUN_OUT" | tail -n 1)"
  [[ -n "$PUSHED" ]] || fail "docker push $1 reported no digest: $(tail -n 5 "$RUN_OUT")"
}

# image_id REF: docker's image id (the config digest).
image_id() {
  run "${DOCKER[@]}" image inspect --format '{{.Id}}' "$1"
  tail -n 1 "$RUN_OUT"
}

# registry_manifest REF USER:TOKEN: the raw manifest in the registry, to $WORK/manifest.json.
registry_manifest() {
  run skopeo inspect --raw --tls-verify=false --creds "$2" "docker://$1"
  cp "$RUN_OUT" "$WORK/manifest.json"
  jq -e . "$WORK/manifest.json" >/dev/null || fail "skopeo inspect --raw $1 printed no JSON: $(head -c 300 "$RUN_OUT")"
}

# ---------------------------------------------------------------------------------------------------
step "identities: user alice; PATs (read/write, to revoke, expired); a CI token for alice/ci-app; alice/pub public"
e2e_admin user create alice
PAT="$(e2e_admin token create --user alice --scopes read:packages,write:packages --name docker-rw)"
PAT_REVOKE="$(e2e_admin token create --user alice --scopes read:packages,write:packages --name docker-revoke)"
PAT_EXPIRED="$(e2e_admin token create --user alice --scopes read:packages,write:packages --name docker-expired --expires 1s)"
CI="$(e2e_admin token create --ci --user alice --packages alice/ci-app --scopes read:packages,write:packages --ttl 1h)"
for t in "$PAT" "$PAT_REVOKE" "$PAT_EXPIRED"; do
  [[ "$t" =~ ^berth_pat_[A-Za-z0-9_-]+$ ]] || fail "token create printed '$t', not only a PAT"
done
[[ "$CI" =~ ^berth_ci_[A-Za-z0-9_-]+$ ]] || fail "token create --ci printed '$CI', not only a CI token"
SECRETS=("$PAT" "$PAT_REVOKE" "$PAT_EXPIRED" "$CI")
e2e_admin package visibility alice/pub public

step "an OCI index (amd64 + arm64) in an OCI layout"
oci="$WORK/multi-oci"
amd_digest="$(e2e_build_image "$oci" amd64)"
arm_digest="$(e2e_build_image "$oci" arm64 --arch arm64)"
jq -cn --arg d0 "$amd_digest" --argjson s0 "$(stat -c %s "$(oci_blob "$oci" "$amd_digest")")" \
  --arg d1 "$arm_digest" --argjson s1 "$(stat -c %s "$(oci_blob "$oci" "$arm_digest")")" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [
     {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d0, size: $s0, platform: {architecture: "amd64", os: "linux"}},
     {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d1, size: $s1, platform: {architecture: "arm64", os: "linux"}}]}' |
  tr -d '\n' >"$WORK/index.json"
index_digest="sha256:$(sha256sum "$WORK/index.json" | cut -d' ' -f1)"
cp "$WORK/index.json" "$(oci_blob "$oci" "$index_digest")"
jq --arg d "$index_digest" --argjson s "$(stat -c %s "$WORK/index.json")" \
  '.manifests += [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s,
                   annotations: {"org.opencontainers.image.ref.name": "1"}}]' "$oci/index.json" >"$WORK/layout-index.json"
mv "$WORK/layout-index.json" "$oci/index.json"
assert_eq "$(oci_tag_digest "$oci" 1)" "$index_digest" "the index in the layout"

e2e_registry_start
http_reg="$REG"

step "start a private dockerd (vfs, no bridge, no iptables, own mount namespace)"
dockerd_start
run "${DOCKER[@]}" version --format '{{.Client.Version}} {{.Server.Version}}'
[[ "$(cat "$RUN_OUT")" == 20.10.* ]] || fail "expected Debian's docker 20.10 client and daemon, got: $(cat "$RUN_OUT")"
run "${DOCKER[@]}" info --format '{{.Driver}} {{json .RegistryConfig.InsecureRegistryCIDRs}}'
info="$(cat "$RUN_OUT")"
[[ "$info" == vfs* ]] || fail "dockerd does not use the vfs storage driver: $info"
# 1. Loopback is insecure by default, with no --insecure-registry flag.
[[ "$info" == *'"127.0.0.0/8"'* ]] || fail "dockerd does not list 127.0.0.0/8 as an insecure registry: $info"
hdr="$(e2e_curl -o /dev/null -D - "http://$REG/v2/" | tr -d '\r' | grep -i '^docker-distribution-api-version:' || true)"
[[ "$hdr" == *registry/2.0* ]] || fail "GET /v2/ (401) lacks Docker-Distribution-API-Version: registry/2.0"

# ---------------------------------------------------------------------------------------------------
step "2. build an image offline: docker import of a busybox rootfs, docker build --network none"
busybox=""
for c in /bin/busybox /usr/bin/busybox; do
  if [[ -x "$c" ]] && file -L "$c" | grep -q 'statically linked'; then busybox="$c"; break; fi
done
[[ -n "$busybox" ]] || fail "no static busybox (busybox-static)"
rootfs="$WORK/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
install -m 0755 "$busybox" "$rootfs/bin/busybox"
for applet in sh cat echo ls true; do ln -s busybox "$rootfs/bin/$applet"; done
printf 'root:x:0:0:root:/:/bin/sh\n' >"$rootfs/etc/passwd"
tar -C "$rootfs" --numeric-owner -cf "$WORK/rootfs.tar" .
run "${DOCKER[@]}" import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' "$WORK/rootfs.tar" e2e-imported:latest
mkdir -p "$WORK/ctx"
printf 'FROM e2e-imported:latest\nRUN echo hello > /greeting\n' >"$WORK/ctx/Dockerfile"
app="$REG/alice/app:1.0"
run "${DOCKER[@]}" build --network none -t "$app" "$WORK/ctx"
grep -q 'Successfully tagged' "$RUN_OUT" || fail "docker build did not tag the image: $(tail -n 5 "$RUN_OUT")"
app_id="$(image_id "$app")"
[[ "$app_id" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "no image id for $app: $app_id"
run "${DOCKER[@]}" run --rm --network none "$app" cat /greeting
assert_eq "$(tr -d '\r' <"$RUN_OUT" | tail -n 1)" hello "the built image's /greeting"

step "5. docker login with an expired PAT fails"
run_fails "${DOCKER[@]}" login -u alice --password-stdin "$REG" <<<"$PAT_EXPIRED"
refused_with "$RUN_OUT" 'unauthorized' "docker login with an expired PAT"
[[ "$(jq -r --arg h "$REG" '.auths[$h] // empty' "$DOCKER_CONFIG/config.json")" == "" ]] ||
  fail "the refused login stored credentials"

step "2. docker login with the PAT over plain HTTP (127.0.0.1 needs no --insecure-registry); push $app"
docker_login alice "$PAT" "$REG"
docker_push "$app"
app_digest="$PUSHED"
log "docker pushed $app_digest"
registry_manifest "$app" "alice:$PAT"
assert_eq "sha256:$(sha256sum "$WORK/manifest.json" | cut -d' ' -f1)" "$app_digest" "digest of the manifest in the registry"
assert_eq "$(jq -r .mediaType "$WORK/manifest.json")" application/vnd.docker.distribution.manifest.v2+json "media type of docker's push"
assert_eq "$(jq -r .config.digest "$WORK/manifest.json")" "$app_id" "config digest in the registry vs docker's image id"
assert_eq "$(jq '.layers | length' "$WORK/manifest.json")" 2 "layers of $app (imported rootfs + RUN)"
run "${DOCKER[@]}" image inspect --format '{{json .RootFS.Layers}}' "$app"
cp "$RUN_OUT" "$WORK/docker-layers.json"
assert_eq "$(jq length "$WORK/docker-layers.json")" 2 "docker's layer count for $app"
# Each layer the registry has is the blob docker uploaded: fetch them and compare the diff ids.
run skopeo copy --src-tls-verify=false --src-creds "alice:$PAT" "docker://$app" "dir:$WORK/app-dir"
for d in $(jq -r '.layers[].digest' "$WORK/manifest.json"); do
  f="$WORK/app-dir/${d#sha256:}"
  assert_file "$f" "layer $d"
  assert_eq "sha256:$(sha256sum "$f" | cut -d' ' -f1)" "$d" "content of layer $d"
  zcat "$f" | sha256sum | cut -d' ' -f1 >>"$WORK/diff-ids.txt"
done
assert_eq "$(sed 's/^/sha256:/' "$WORK/diff-ids.txt" | paste -sd,)" "$(jq -r 'join(",")' "$WORK/docker-layers.json")" \
  "uncompressed layers in the registry vs docker's RootFS.Layers"

step "2. docker rmi, pull $app back (by tag and by digest), run it"
run "${DOCKER[@]}" rmi "$app"
run_fails "${DOCKER[@]}" image inspect "$app"
run "${DOCKER[@]}" pull "$app"
grep -qF "Digest: $app_digest" "$RUN_OUT" || fail "docker pull reported another digest: $(tail -n 4 "$RUN_OUT")"
assert_eq "$(image_id "$app")" "$app_id" "image id after the round trip"
run "${DOCKER[@]}" image inspect --format '{{json .RepoDigests}}' "$app"
jq -e --arg d "$REG/alice/app@$app_digest" 'index($d)' "$RUN_OUT" >/dev/null ||
  fail "RepoDigests lacks $REG/alice/app@$app_digest: $(cat "$RUN_OUT")"
run "${DOCKER[@]}" run --rm --network none "$app" cat /greeting
assert_eq "$(tr -d '\r' <"$RUN_OUT" | tail -n 1)" hello "output of the pulled image"
run "${DOCKER[@]}" rmi "$app"
run "${DOCKER[@]}" pull "$REG/alice/app@$app_digest"
assert_eq "$(image_id "$REG/alice/app@$app_digest")" "$app_id" "image id pulled by digest"
run "${DOCKER[@]}" tag "$app_id" "$app"

step "2. a tag that does not exist: docker pull says manifest unknown / not found"
run_fails "${DOCKER[@]}" pull "$REG/alice/app:nope"
refused_with "$RUN_OUT" 'manifest unknown|not found' "pull of a missing tag"

# ---------------------------------------------------------------------------------------------------
step "3. an OCI index of OCI manifests (alice/multi:oci, pushed with skopeo): docker pull picks amd64"
run skopeo copy --all --preserve-digests --dest-tls-verify=false --dest-creds "alice:$PAT" "oci:$oci:1" "docker://$REG/alice/multi:oci"
run "${DOCKER[@]}" pull "$REG/alice/multi:oci"
grep -qF "Digest: $index_digest" "$RUN_OUT" || fail "docker pull of the index reported another digest: $(tail -n 4 "$RUN_OUT")"
assert_eq "$(image_id "$REG/alice/multi:oci")" "$(jq -r .config.digest "$(oci_blob "$oci" "$amd_digest")")" \
  "image id of the index's amd64 child"
# The 20.10 client's `docker manifest` knows no OCI image manifest (its distribution library lacks
# ocischema; the daemon has it): it reads the index, then gives up on the first child. A client
# limitation, not the registry's: Berth serves the child with its own media type.
run_fails "${DOCKER[@]}" manifest inspect --insecure "$REG/alice/multi:oci"
refused_with "$RUN_OUT" 'unsupported manifest media type.*application/vnd.oci.image.manifest.v1\+json' \
  "docker manifest inspect (20.10) of an index of OCI manifests"

step "3. docker manifest inspect of the OCI index alice/multi:1 (Docker schema 2 children, amd64 + arm64)"
# The children as Docker schema 2 manifests (skopeo converts them), then the index with curl.
index_entries=()
for arch in amd64 arm64; do
  run skopeo copy --format v2s2 --dest-tls-verify=false --dest-creds "alice:$PAT" "oci:$oci:$arch" "docker://$REG/alice/multi:$arch"
  registry_manifest "$REG/alice/multi:$arch" "alice:$PAT"
  assert_eq "$(jq -r .mediaType "$WORK/manifest.json")" application/vnd.docker.distribution.manifest.v2+json "media type of alice/multi:$arch"
  index_entries+=("$(jq -cn --arg d "sha256:$(sha256sum "$WORK/manifest.json" | cut -d' ' -f1)" \
    --argjson s "$(stat -c %s "$WORK/manifest.json")" --arg a "$arch" \
    '{mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: $d, size: $s, platform: {architecture: $a, os: "linux"}}')")
done
printf '%s\n' "${index_entries[@]}" | jq -cs '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: .}' |
  tr -d '\n' >"$WORK/index-v2s2.json"
code="$(e2e_curl -o "$WORK/put-index.out" -w '%{http_code}' -u "alice:$PAT" -X PUT \
  -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary "@$WORK/index-v2s2.json" \
  "http://$REG/v2/alice/multi/manifests/1")"
assert_eq "$code" 201 "PUT the index alice/multi:1 ($(head -c 200 "$WORK/put-index.out"))"
multi1_digest="sha256:$(sha256sum "$WORK/index-v2s2.json" | cut -d' ' -f1)"
run "${DOCKER[@]}" manifest inspect --insecure "$REG/alice/multi:1"
cp "$RUN_OUT" "$WORK/manifest-inspect-1.json"
registry_manifest "$REG/alice/multi:1" "alice:$PAT"
assert_eq "sha256:$(sha256sum "$WORK/manifest.json" | cut -d' ' -f1)" "$multi1_digest" "digest of alice/multi:1 in the registry"
assert_eq "$(jq -r .mediaType "$WORK/manifest.json")" application/vnd.oci.image.index.v1+json "media type of alice/multi:1"
# (docker manifest inspect prints the list it assembled, always as a Docker manifest list.)
assert_eq "$(jq -r '[.manifests[].platform | "\(.os)/\(.architecture)"] | sort | join(",")' "$WORK/manifest-inspect-1.json")" \
  "linux/amd64,linux/arm64" "platforms docker manifest inspect lists"
assert_eq "$(jq -c '[.manifests[] | {digest, size}]' "$WORK/manifest-inspect-1.json")" \
  "$(jq -c '[.manifests[] | {digest, size}]' "$WORK/index-v2s2.json")" "children docker manifest inspect lists"
run "${DOCKER[@]}" manifest inspect --insecure -v "$REG/alice/multi:1"
assert_eq "$(jq -r '[.[].Descriptor.platform.architecture] | sort | join(",")' "$RUN_OUT")" "amd64,arm64" \
  "platforms of docker manifest inspect -v"
assert_eq "$(jq -r '[.[].SchemaV2Manifest.config.digest] | map(select(. != null)) | length' "$RUN_OUT")" 2 \
  "children docker manifest inspect -v fetched"
run "${DOCKER[@]}" pull "$REG/alice/multi:1"
grep -qF "Digest: $multi1_digest" "$RUN_OUT" || fail "docker pull of alice/multi:1 reported another digest: $(tail -n 4 "$RUN_OUT")"

step "3. docker manifest create + push: a Docker manifest list over alice/app:1.0 and an arm64 image in another repository"
run skopeo copy --format v2s2 --dest-tls-verify=false --dest-creds "alice:$PAT" "oci:$oci:arm64" "docker://$REG/alice/multi-arm:1"
registry_manifest "$REG/alice/multi-arm:1" "alice:$PAT"
arm_v2s2="sha256:$(sha256sum "$WORK/manifest.json" | cut -d' ' -f1)"
run "${DOCKER[@]}" manifest create --insecure "$REG/alice/multi:2" "$app" "$REG/alice/multi-arm:1"
run "${DOCKER[@]}" manifest push --insecure --purge "$REG/alice/multi:2"
list_digest="$(grep -oE 'sha256:[0-9a-f]{64}' "$RUN_OUT" | tail -n 1)"
[[ -n "$list_digest" ]] || fail "docker manifest push printed no digest: $(cat "$RUN_OUT")"
registry_manifest "$REG/alice/multi:2" "alice:$PAT"
assert_eq "sha256:$(sha256sum "$WORK/manifest.json" | cut -d' ' -f1)" "$list_digest" "digest of the pushed list"
assert_eq "$(jq -r .mediaType "$WORK/manifest.json")" application/vnd.docker.distribution.manifest.list.v2+json "media type of the list"
assert_eq "$(jq -r '[.manifests[] | "\(.platform.architecture)=\(.digest)"] | sort | join(",")' "$WORK/manifest.json")" \
  "amd64=$app_digest,arm64=$arm_v2s2" "the list's children"
# The arm64 child (and its blobs) now live in alice/multi too: docker mounted them across repositories.
run skopeo inspect --raw --tls-verify=false --creds "alice:$PAT" "docker://$REG/alice/multi@$arm_v2s2"
run "${DOCKER[@]}" manifest inspect --insecure "$REG/alice/multi:2"
assert_eq "$(jq -r '[.manifests[].platform.architecture] | sort | join(",")' "$RUN_OUT")" "amd64,arm64" \
  "platforms of the pushed list (docker manifest inspect)"

# ---------------------------------------------------------------------------------------------------
step "4. a CI token: docker login, push to alice/ci-app works"
run "${DOCKER[@]}" logout "$REG"
docker_login alice "$CI" "$REG"
run "${DOCKER[@]}" tag "$app_id" "$REG/alice/ci-app:1.0"
docker_push "$REG/alice/ci-app:1.0"
assert_eq "$PUSHED" "$app_digest" "digest the CI token pushed"

step "4. the CI token is denied a push to alice/other (not in its packages)"
run "${DOCKER[@]}" tag "$app_id" "$REG/alice/other:1.0"
run_fails "${DOCKER[@]}" push "$REG/alice/other:1.0"
refused_with "$RUN_OUT" 'denied' "CI token push outside its packages"
# A refusal Docker takes as final: the 403's message is not DENIED's bare default text (dockerd treats
# that as a temporary error and retries each layer for about 50 s before saying "denied").
retries="$(grep -c 'Retrying in' "$RUN_OUT" || true)"
assert_eq "$retries" 0 "dockerd retries of a denied push ('Retrying in' lines)"
run_fails skopeo inspect --tls-verify=false --creds "alice:$PAT" "docker://$REG/alice/other:1.0"
refused_with "$RUN_OUT" 'manifest unknown|name unknown|not found|404' "the refused push left alice/other:1.0"

# ---------------------------------------------------------------------------------------------------
step "5. a PAT revoked after login: a push with the stored credentials fails"
# (dockerd asks /token once per layer: each refusal counts as a failed login, five a minute block the
# address; the good login just before clears the count.)
docker_login alice "$PAT_REVOKE" "$REG"
run "${DOCKER[@]}" tag "$app_id" "$REG/alice/app:before-revoke"
docker_push "$REG/alice/app:before-revoke"
e2e_admin token list --user alice >"$WORK/tokens.tsv"
revoke_id="$(awk -F'\t' '$8 == "docker-revoke" {print $1}' "$WORK/tokens.tsv")"
[[ "$revoke_id" =~ ^[0-9]+$ ]] || fail "token list shows no token named docker-revoke: $(cat "$WORK/tokens.tsv")"
e2e_admin token revoke "$revoke_id"
run "${DOCKER[@]}" tag "$app_id" "$REG/alice/app:after-revoke"
run_fails "${DOCKER[@]}" push "$REG/alice/app:after-revoke"
refused_with "$RUN_OUT" 'unauthorized|authentication required' "push with a revoked PAT stored"
run_fails skopeo inspect --tls-verify=false --creds "alice:$PAT" "docker://$REG/alice/app:after-revoke"
refused_with "$RUN_OUT" 'manifest unknown|not found' "the refused push left the tag after-revoke"

step "5. docker login with the revoked PAT fails"
# A good login first: it clears the failed-login count (five a minute block the address).
docker_login alice "$PAT" "$REG"
run_fails "${DOCKER[@]}" login -u alice --password-stdin "$REG" <<<"$PAT_REVOKE"
refused_with "$RUN_OUT" 'unauthorized' "docker login with a revoked PAT"
# The refused login leaves the stored (good) credentials alone.
[[ "$(jq -r --arg h "$REG" '.auths[$h].auth // empty' "$DOCKER_CONFIG/config.json")" == "$(printf 'alice:%s' "$PAT" | base64 -w0)" ]] ||
  fail "the refused login changed the stored credentials"

# ---------------------------------------------------------------------------------------------------
step "6. push the public alice/pub:1.0, then docker logout"
run "${DOCKER[@]}" tag "$app_id" "$REG/alice/pub:1.0"
docker_push "$REG/alice/pub:1.0"
run "${DOCKER[@]}" logout "$REG"
[[ "$(jq -r --arg h "$REG" '.auths[$h] // empty' "$DOCKER_CONFIG/config.json")" == "" ]] ||
  fail "docker logout left credentials for $REG"

step "6. anonymous: a pull of the private $app fails, of the public alice/pub works, a push to it fails"
run "${DOCKER[@]}" rmi -f "$app_id"
run_fails "${DOCKER[@]}" image inspect "$app_id"
run_fails "${DOCKER[@]}" pull "$app"
refused_with "$RUN_OUT" 'pull access denied|denied|unauthorized|not found' "anonymous pull of a private image"
run_fails "${DOCKER[@]}" image inspect "$app"
run "${DOCKER[@]}" pull "$REG/alice/pub:1.0"
grep -qF "Digest: $app_digest" "$RUN_OUT" || fail "anonymous pull of alice/pub reported another digest: $(tail -n 4 "$RUN_OUT")"
run "${DOCKER[@]}" run --rm --network none "$REG/alice/pub:1.0" cat /greeting
assert_eq "$(tr -d '\r' <"$RUN_OUT" | tail -n 1)" hello "output of the anonymously pulled public image"
run "${DOCKER[@]}" tag "$REG/alice/pub:1.0" "$REG/alice/pub:anon"
run_fails "${DOCKER[@]}" push "$REG/alice/pub:anon"
refused_with "$RUN_OUT" 'unauthorized|authentication required|denied' "anonymous push to a public package"

# ---------------------------------------------------------------------------------------------------
# 7. TLS
step "7. TLS on 127.0.0.1: make a CA and certificates, restart Berth with TLS (same data)"
pki="$WORK/pki"
e2e_make_pki "$pki"
export E2E_CA_CERT="$pki/ca.crt"
e2e_registry_stop || fail "the registry did not stop on SIGTERM"
assert_eq "$E2E_REG_EXIT" 0 "berth's exit status after SIGTERM"
cp "$REG_LOG" "$WORK/logs/registry-http.log"  # (e2e_registry_start starts a new registry.log)
e2e_registry_start --tls "$pki/server.crt" "$pki/server.key"
[[ "$REG" != "$http_reg" ]] || fail "the TLS registry got the plain registry's address"
tls_app="$REG/alice/app:tls"

step "7. on 127.0.0.1 dockerd skips certificate verification (loopback is insecure): login and push work without the CA"
[[ ! -e "$DOCKER_CERTS/$REG" ]] || fail "certs.d has $REG already"
docker_login alice "$PAT" "$REG"
run "${DOCKER[@]}" tag "$app_id" "$tls_app"
docker_push "$tls_app"
assert_eq "$PUSHED" "$app_digest" "digest pushed over TLS to 127.0.0.1"
code="$(e2e_curl -u "alice:$PAT" -o /dev/null -w '%{http_code}' \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "https://$REG/v2/alice/app/manifests/tls")"
assert_eq "$code" 200 "the tag pushed over TLS, seen with curl over https (verified)"
step "7. ... and with the CA in certs.d/$REG/ca.crt"
mkdir -p "$DOCKER_CERTS/$REG"
cp "$pki/ca.crt" "$DOCKER_CERTS/$REG/ca.crt"
run "${DOCKER[@]}" rmi "$tls_app"
run "${DOCKER[@]}" pull "$tls_app"
grep -qF "Digest: $app_digest" "$RUN_OUT" || fail "pull over TLS reported another digest: $(tail -n 4 "$RUN_OUT")"
run "${DOCKER[@]}" logout "$REG"

# berth_v6_start [--tls CERT KEY]: Berth (same data) on [::1]:V6_PORT, as REG=berth-v6.test:V6_PORT.
V6_PORT="$(python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null)" ||
  V6_PORT=""
berth_v6_start() {
  local args=(serve --listen "[::1]:$V6_PORT" --data "$REG_DATA") scheme=http ca=()
  if [[ "${1:-}" == --tls ]]; then args+=(--tls-cert "$2" --tls-key "$3"); scheme=https; ca=(--cacert "$pki/ca.crt"); fi
  step "7. start Berth on [::1]:$V6_PORT ($scheme), named $V6_NAME:$V6_PORT in dockerd's /etc/hosts"
  # shellcheck disable=SC2034  # REG_KIND, REG_SCHEME: read by lib.sh (fail, e2e_registry_stop)
  REG_LOG="$WORK/logs/registry-v6-$scheme.log" REG_KIND=berth REG_SCHEME="$scheme" REG="$V6_NAME:$V6_PORT"
  log "starting: $BERTH ${args[*]}"
  "$BERTH" "${args[@]}" >"$REG_LOG" 2>&1 &
  REG_PID=$!
  local i code=""
  for ((i = 0; i < 150; i++)); do
    kill -0 "$REG_PID" 2>/dev/null || { REG_PID=""; fail "berth on [::1] exited: $(tail -n 5 "$REG_LOG")"; }
    code="$(curl -sS --max-time 2 "${ca[@]}" --resolve "$V6_NAME:$V6_PORT:[::1]" -o /dev/null -w '%{http_code}' \
      "$scheme://$V6_NAME:$V6_PORT/healthz" 2>/dev/null || true)"
    [[ "$code" == 200 ]] && return 0
    sleep 0.2
  done
  fail "berth on [::1]:$V6_PORT did not answer within 30 s (last status '$code')"
}

if [[ -z "$V6_PORT" ]]; then
  # Without ::1 there is no loopback address outside 127.0.0.0/8, which dockerd never verifies.
  log "SKIPPED the TLS checks on a verified address: no IPv6 loopback (::1) here"
  e2e_registry_stop || fail "the TLS registry did not stop on SIGTERM"
else
step "7. a certificate for $V6_NAME and ::1, signed by the test CA"
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=serverAuth" "subjectAltName=DNS:$V6_NAME,IP:::1" >"$pki/v6.ext"
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$V6_NAME" -keyout "$pki/v6.key" -out "$pki/v6.csr" \
  2>>"$WORK/logs/openssl.log" || fail "openssl: v6 key"
openssl x509 -req -sha256 -days 2 -in "$pki/v6.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
  -extfile "$pki/v6.ext" -out "$pki/v6.crt" 2>>"$WORK/logs/openssl.log" || fail "openssl: sign v6"
e2e_registry_stop || fail "the TLS registry did not stop on SIGTERM"
assert_eq "$E2E_REG_EXIT" 0 "berth's exit status after SIGTERM"

berth_v6_start
step "7. $REG is not loopback IPv4: dockerd refuses its plain HTTP (no --insecure-registry)"
run_fails "${DOCKER[@]}" login -u alice --password-stdin "$REG" <<<"$PAT"
refused_with "$RUN_OUT" 'server gave HTTP response to HTTPS client' "docker login to a plain-HTTP registry outside 127.0.0.0/8"
run "${DOCKER[@]}" tag "$app_id" "$REG/alice/app:v6"
run_fails "${DOCKER[@]}" push "$REG/alice/app:v6"
refused_with "$RUN_OUT" 'server gave HTTP response to HTTPS client' "docker push to a plain-HTTP registry outside 127.0.0.0/8"
grep 'access ' "$REG_LOG" | grep -v 'path=/healthz' >"$WORK/v6-http-access.txt" &&
  fail "a plain-HTTP request from dockerd reached the registry: $(head -n 3 "$WORK/v6-http-access.txt")"
e2e_registry_stop || fail "the registry on [::1] did not stop on SIGTERM"

berth_v6_start --tls "$pki/v6.crt" "$pki/v6.key"
v6_app="$REG/alice/app:v6"
step "7. without its CA, docker push and login to $REG fail with an x509 error"
[[ ! -e "$DOCKER_CERTS/$REG" ]] || fail "certs.d has $REG already"
run_fails "${DOCKER[@]}" push "$v6_app"
refused_with "$RUN_OUT" 'x509|certificate' "docker push over TLS without the CA"
run_fails "${DOCKER[@]}" login -u alice --password-stdin "$REG" <<<"$PAT"
refused_with "$RUN_OUT" 'x509|certificate' "docker login over TLS without the CA"

step "7. with the CA in certs.d/$REG/ca.crt: login, push, rmi, pull, run"
mkdir -p "$DOCKER_CERTS/$REG"
cp "$pki/ca.crt" "$DOCKER_CERTS/$REG/ca.crt"
docker_login alice "$PAT" "$REG"
docker_push "$v6_app"
assert_eq "$PUSHED" "$app_digest" "digest pushed over verified TLS"
code="$(curl -sS --max-time 10 --cacert "$pki/ca.crt" --resolve "$V6_NAME:$V6_PORT:[::1]" -u "alice:$PAT" -o /dev/null -w '%{http_code}' \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "https://$REG/v2/alice/app/manifests/v6")"
assert_eq "$code" 200 "the tag pushed over verified TLS, seen with curl"
run "${DOCKER[@]}" rmi "$v6_app"
run "${DOCKER[@]}" pull "$v6_app"
grep -qF "Digest: $app_digest" "$RUN_OUT" || fail "pull over verified TLS reported another digest: $(tail -n 4 "$RUN_OUT")"
run "${DOCKER[@]}" run --rm --network none "$v6_app" cat /greeting
assert_eq "$(tr -d '\r' <"$RUN_OUT" | tail -n 1)" hello "output of the image pulled over verified TLS"
run "${DOCKER[@]}" logout "$REG"
fi

step "8. no token in the registry logs"
for s in "${SECRETS[@]}"; do
  for f in "$WORK"/logs/registry*.log; do
    ! grep -qF -- "$s" "$f" || fail "a token (${s:0:14}…) is in $f"
  done
done

step "stop dockerd"
dockerd_stop
e2e_finish
