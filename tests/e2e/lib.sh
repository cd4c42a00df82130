# shellcheck shell=bash
# Shared helpers for the end-to-end tests (tests/e2e/test_*.sh). Source it, then call e2e_init.
#
# Environment:
#   BERTH                 path of the berth binary (set by ctest; required unless one of the next two)
#   BERTH_SOURCE_DIR      source tree (default: two levels above this file)
#   BERTH_TEST_REGISTRY   host:port of an already running plain-HTTP registry to test instead of
#                         starting one (tests that need their own server process skip those parts)
#   BERTH_TEST_SERVER     berth (default) | distribution: which server e2e_registry_start starts;
#                         distribution = CNCF Distribution from Debian (/usr/bin/docker-registry)
#   E2E_TIMEOUT           seconds allowed to each client call (default 120)
#   E2E_KEEP=1            keep the temporary directory (its path is printed) for debugging
#   E2E_STORAGE_DRIVER    containers-storage driver for podman/buildah (default vfs)
#
# Everything a test creates lives in $WORK (removed on exit); every process it starts is stopped by
# the exit trap. Only loopback addresses are used.

set -euo pipefail

E2E_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BERTH_SOURCE_DIR="${BERTH_SOURCE_DIR:-$(cd "$E2E_LIB_DIR/../.." && pwd)}"
E2E_TIMEOUT="${E2E_TIMEOUT:-120}"
E2E_NAME="$(basename "${0%.sh}")"
E2E_CLEANUPS=()
E2E_START=$SECONDS
E2E_STEP=""
E2E_STEP_START=$SECONDS
WORK=""
REG="" REG_PID="" REG_LOG="" REG_SCHEME="http" REG_KIND=""
REG_DATA=""  # the data directory e2e_registry_start gives the server (set by e2e_init)

# ---------------------------------------------------------------------------------------------------
# Reporting

log()  { printf '[%s +%ss] %s\n' "$E2E_NAME" "$((SECONDS - E2E_START))" "$*" >&2; }

# step "what": starts a named step; the failure message says which step failed.
step() {
  if [[ -n "$E2E_STEP" ]]; then log "ok: $E2E_STEP ($((SECONDS - E2E_STEP_START))s)"; fi
  E2E_STEP="$*"; E2E_STEP_START=$SECONDS
  log "== $*"
}

# fail "why": prints the failure, the step and the server log's tail, and exits 1.
fail() {
  {
    echo
    echo "FAIL [$E2E_NAME] step: ${E2E_STEP:-<none>}"
    echo "FAIL [$E2E_NAME] $*"
    if [[ -n "$REG_PID" ]] && ! kill -0 "$REG_PID" 2>/dev/null; then
      local st=0; wait "$REG_PID" 2>/dev/null || st=$?
      echo "FAIL [$E2E_NAME] the registry process $REG_PID ($REG_KIND) is no longer running: exit status $st$( ((st > 128)) && echo " (signal $((st - 128)))")"
      REG_PID=""
    fi
    if [[ -n "$REG_LOG" && -s "$REG_LOG" ]]; then
      echo "---- last 25 lines of the registry log ($REG_LOG) ----"
      tail -n 25 "$REG_LOG" | cut -c1-600
      echo "----"
    fi
  } >&2
  exit 1
}

skip() { log "SKIP: $*"; echo "SKIPPED [$E2E_NAME]: $*"; E2E_SKIPPED=1; E2E_STEP=""; exit 0; }

assert_eq() { # assert_eq ACTUAL EXPECTED "what"
  [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"
}
assert_ne() { [[ "$1" != "$2" ]] || fail "$3: did not expect '$2'"; }
assert_file() { [[ -f "$1" ]] || fail "${2:-file missing}: $1"; }

# run CMD...: runs a client command under `timeout $E2E_TIMEOUT`, output to a log file; on failure
# prints the command, its exit status and the tail of its output, and fails the test.
# The output is kept in $RUN_OUT (a file) for the caller to inspect.
E2E_RUN_N=0
RUN_OUT=""
run() {
  E2E_RUN_N=$((E2E_RUN_N + 1))
  RUN_OUT="$WORK/logs/run-$E2E_RUN_N-$(basename "$1").log"
  local rc=0
  timeout --kill-after=10 "$E2E_TIMEOUT" "$@" >"$RUN_OUT" 2>&1 || rc=$?
  if ((rc != 0)); then
    {
      echo "---- command failed (exit $rc$( ((rc == 124)) && echo ', TIMED OUT after '"$E2E_TIMEOUT"'s')): $*"
      tail -n 60 "$RUN_OUT"
      echo "----"
    } >&2
    fail "command failed (exit $rc): $*"
  fi
}

# run_fails CMD...: the command must fail (non-zero, not a timeout). Output in $RUN_OUT.
run_fails() {
  E2E_RUN_N=$((E2E_RUN_N + 1))
  RUN_OUT="$WORK/logs/run-$E2E_RUN_N-$(basename "$1").log"
  local rc=0
  timeout --kill-after=10 "$E2E_TIMEOUT" "$@" >"$RUN_OUT" 2>&1 || rc=$?
  if ((rc == 0)); then
    { echo "---- command unexpectedly succeeded: $*"; tail -n 30 "$RUN_OUT"; echo "----"; } >&2
    fail "command should have failed but succeeded: $*"
  fi
  ((rc != 124)) || fail "command timed out instead of failing: $*"
}

# ---------------------------------------------------------------------------------------------------
# Lifetime

e2e_on_exit() { E2E_CLEANUPS+=("$*"); }

e2e_exit_trap() {
  local rc=$?
  set +e
  if [[ -n "$E2E_STEP" && $rc -eq 0 ]]; then log "ok: $E2E_STEP ($((SECONDS - E2E_STEP_START))s)"; fi
  local i
  for ((i = ${#E2E_CLEANUPS[@]} - 1; i >= 0; i--)); do
    eval "${E2E_CLEANUPS[$i]}" >/dev/null 2>&1
  done
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    # Unmount anything a container tool left mounted below $WORK (deepest first), then remove it.
    awk -v w="$WORK" '$2 ~ "^"w {print $2}' /proc/self/mounts | sort -r | while read -r m; do
      umount -l "$m" 2>/dev/null
    done
    if [[ "${E2E_KEEP:-0}" == 1 ]]; then
      log "kept $WORK"
    else
      rm -rf "$WORK" 2>/dev/null || { chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"; }
    fi
  fi
  if ((rc == 0)); then
    if [[ -n "${E2E_SKIPPED:-}" ]]; then
      echo "SKIP $E2E_NAME ($((SECONDS - E2E_START))s)"
    else
      echo "PASS $E2E_NAME ($((SECONDS - E2E_START))s)"
    fi
  else
    echo "FAIL $E2E_NAME (exit $rc, $((SECONDS - E2E_START))s)"
  fi
  exit $rc
}

# e2e_init: creates $WORK, installs the exit trap, checks the needed tools.
e2e_init() {
  # Lower case only: podman names an image pulled from oci:DIR after DIR, and names are lower case.
  local _
  for _ in 1 2 3 4 5; do
    WORK="/tmp/berth-e2e-$(printf '%04x%04x%04x' $RANDOM $RANDOM $RANDOM)"
    mkdir -m 0700 "$WORK" 2>/dev/null && break
    WORK=""
  done
  [[ -n "$WORK" ]] || { echo "cannot create a work dir in /tmp" >&2; exit 1; }
  mkdir -p "$WORK/logs" "$WORK/tmp"
  export TMPDIR="$WORK/tmp"
  REG_DATA="$WORK/registry-data"
  trap e2e_exit_trap EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  log "work dir $WORK"
  local t
  for t in curl jq timeout "$@"; do
    command -v "$t" >/dev/null || fail "required tool '$t' is not installed (run scripts/install-deps.sh)"
  done
}

# free_port: prints a TCP port free on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------------------------------------------
# Registry under test

# e2e_registry_start [--tls CERT KEY]: starts the registry under test on a free loopback port and waits
# until it answers. Sets REG (host:port), REG_SCHEME (http|https), REG_PID, REG_LOG, REG_KIND.
# With BERTH_TEST_REGISTRY set, uses that registry (plain HTTP only): REG_PID stays empty.
e2e_registry_start() {
  local cert="" key=""
  if [[ "${1:-}" == --tls ]]; then cert="$2"; key="$3"; REG_SCHEME=https; fi
  step "start the registry (${BERTH_TEST_REGISTRY:+external }${BERTH_TEST_REGISTRY:-${BERTH_TEST_SERVER:-berth}}${cert:+, TLS})"
  if [[ -n "${BERTH_TEST_REGISTRY:-}" ]]; then
    [[ -z "$cert" ]] || skip "BERTH_TEST_REGISTRY is a plain-HTTP registry; this test needs its own TLS server"
    REG="$BERTH_TEST_REGISTRY" REG_KIND=external REG_PID=""
    log "using the running registry at $REG"
    e2e_wait_ready /v2/ 15
    return
  fi
  local port; port="$(free_port)"
  REG="127.0.0.1:$port"
  local data="$REG_DATA"
  mkdir -p "$data"
  REG_LOG="$WORK/logs/registry.log"
  case "${BERTH_TEST_SERVER:-berth}" in
    berth)
      REG_KIND=berth
      [[ -n "${BERTH:-}" && -x "${BERTH:-}" ]] ||
        fail "BERTH must name the berth binary (got '${BERTH:-}'), or set BERTH_TEST_REGISTRY / BERTH_TEST_SERVER=distribution"
      local args=(serve --listen "$REG" --data "$data")
      [[ -z "$cert" ]] || args+=(--tls-cert "$cert" --tls-key "$key")
      log "starting: $BERTH ${args[*]}"
      # Authentication is off unless a test asks for it (BERTH_AUTH_ENABLED=true before starting).
      BERTH_AUTH_ENABLED="${BERTH_AUTH_ENABLED:-false}" "$BERTH" "${args[@]}" >"$REG_LOG" 2>&1 &
      REG_PID=$!
      e2e_on_exit "e2e_registry_stop"
      e2e_wait_ready /healthz 30
      ;;
    distribution)
      REG_KIND=distribution
      command -v docker-registry >/dev/null || fail "docker-registry (CNCF Distribution) is not installed"
      {
        echo "version: 0.1"
        echo "log:"
        echo "  level: info"
        echo "storage:"
        echo "  filesystem:"
        echo "    rootdirectory: $data"
        echo "  delete:"
        echo "    enabled: true"
        echo "  maintenance:"
        echo "    uploadpurging:"
        echo "      enabled: false"
        echo "http:"
        echo "  addr: $REG"
        if [[ -n "$cert" ]]; then
          echo "  tls:"
          echo "    certificate: $cert"
          echo "    key: $key"
        fi
      } >"$WORK/distribution.yml"
      log "starting: docker-registry serve $WORK/distribution.yml ($REG)"
      # REGISTRY_* variables override Distribution's config (REGISTRY_AUTH_FILE is podman's): drop them.
      env -u REGISTRY_AUTH_FILE docker-registry serve "$WORK/distribution.yml" >"$REG_LOG" 2>&1 &
      REG_PID=$!
      e2e_on_exit "e2e_registry_stop"
      e2e_wait_ready /v2/ 30
      ;;
    *) fail "BERTH_TEST_SERVER must be berth or distribution" ;;
  esac
  log "registry ($REG_KIND) pid $REG_PID listening on $REG_SCHEME://$REG"
}

# e2e_admin ARGS...: `$BERTH admin --data $REG_DATA ARGS...` under `timeout $E2E_TIMEOUT`; works before
# e2e_registry_start (to prepare users and tokens) and while Berth runs. Its stdout is the command's
# (secrets, for the commands that create one); on failure prints its stderr and fails the test (when
# called inside "$(...)", set -e then stops the test).
e2e_admin() {
  [[ -n "${BERTH:-}" && -x "${BERTH:-}" ]] || fail "BERTH must name the berth binary for 'berth admin' (got '${BERTH:-}')"
  mkdir -p "$REG_DATA"
  local err="$WORK/logs/admin.log" rc=0
  echo "\$ berth admin $*" >>"$err"
  timeout --kill-after=10 "$E2E_TIMEOUT" "$BERTH" admin --data "$REG_DATA" "$@" 2>>"$err" || rc=$?
  ((rc == 0)) || fail "berth admin $* failed (exit $rc): $(tail -n 5 "$err")"
}

# e2e_curl ARGS...: curl against the registry with the right CA for https.
e2e_curl() {
  local ca=()
  [[ "$REG_SCHEME" != https || -z "${E2E_CA_CERT:-}" ]] || ca=(--cacert "$E2E_CA_CERT")
  curl -sS --max-time 10 "${ca[@]}" "$@"
}

# e2e_wait_ready PATH SECONDS: waits until GET PATH answers 200.
e2e_wait_ready() {
  local path="$1" deadline=$((SECONDS + $2)) code=""
  while ((SECONDS < deadline)); do
    if [[ -n "$REG_PID" ]] && ! kill -0 "$REG_PID" 2>/dev/null; then
      local st=0; wait "$REG_PID" || st=$?
      REG_PID=""
      fail "the registry exited (status $st) before answering GET $path"
    fi
    code="$(e2e_curl -o /dev/null -w '%{http_code}' --max-time 2 "$REG_SCHEME://$REG$path" 2>/dev/null || true)"
    [[ "$code" == 200 ]] && return 0
    sleep 0.2
  done
  fail "GET $REG_SCHEME://$REG$path did not answer 200 within $2s (last status '$code')"
}

# e2e_registry_stop: SIGTERM, then waits up to 15 s; SIGKILL after that and returns 1. Never exits
# (it also runs from the exit trap). Sets E2E_REG_EXIT to the exit status.
E2E_REG_EXIT=""
e2e_registry_stop() {
  [[ -n "$REG_PID" ]] || return 0
  local pid="$REG_PID"; REG_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    E2E_REG_EXIT=killed
    log "the registry (pid $pid) did not stop within 15 s of SIGTERM: killed"
    return 1
  fi
  E2E_REG_EXIT=0; wait "$pid" 2>/dev/null || E2E_REG_EXIT=$?
  log "registry stopped (exit status $E2E_REG_EXIT)"
}

# e2e_finish: the last step of a test: stops the registry with SIGTERM; Berth must exit 0 (graceful
# shutdown). Distribution exits 143 on SIGTERM, which is accepted for it.
e2e_finish() {
  [[ -n "$REG_PID" ]] || return 0
  step "stop the registry (SIGTERM)"
  kill -0 "$REG_PID" 2>/dev/null || fail "the registry died during the test"
  e2e_registry_stop || fail "the registry did not stop within 15 s of SIGTERM"
  if [[ "$REG_KIND" == berth ]]; then
    assert_eq "$E2E_REG_EXIT" 0 "berth's exit status after SIGTERM"
    grep -qiE 'AddressSanitizer|runtime error:|LeakSanitizer' "$REG_LOG" && fail "sanitizer report in the registry log"
  fi
  return 0
}

# e2e_peak_rss_kib: VmHWM of the registry process in KiB (empty if not ours).
e2e_peak_rss_kib() {
  [[ -n "$REG_PID" && -r /proc/$REG_PID/status ]] || return 0
  awk '/^VmHWM:/ {print $2}' "/proc/$REG_PID/status"
}

# ---------------------------------------------------------------------------------------------------
# Test images

# e2e_build_image DIR TAG [build-test-image.sh options...]: builds a test image into an OCI layout;
# prints the manifest digest.
e2e_build_image() {
  local dir="$1" tag="$2" out; shift 2
  out="$(timeout "$E2E_TIMEOUT" bash "$BERTH_SOURCE_DIR/scripts/build-test-image.sh" --out "$dir" --tag "$tag" "$@" \
    2>"$WORK/logs/build-image-$tag.log" | tail -n 1)" ||
    fail "build-test-image.sh failed: $(tail -n 20 "$WORK/logs/build-image-$tag.log")"
  [[ "$out" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "build-test-image.sh printed '$out', not a manifest digest"
  assert_eq "$(oci_tag_digest "$dir" "$tag")" "$out" "digest of tag $tag in $dir/index.json"
  echo "$out"
}

# oci_tag_digest DIR TAG: manifest digest of TAG in an OCI layout's index.json.
oci_tag_digest() {
  jq -r --arg t "$2" '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest][0] // empty' "$1/index.json"
}
# oci_blob DIR DIGEST: path of a blob in an OCI layout.
oci_blob() { echo "$1/blobs/${2%%:*}/${2#*:}"; }
# oci_manifest_layers DIR MANIFEST_DIGEST: the layer digests, one a line.
oci_manifest_layers() { jq -r '.layers[].digest' "$(oci_blob "$1" "$2")"; }
oci_manifest_config() { jq -r '.config.digest' "$(oci_blob "$1" "$2")"; }
# assert_blob_ok DIR DIGEST: the blob exists and its content hashes to its name.
assert_blob_ok() {
  local f; f="$(oci_blob "$1" "$2")"
  assert_file "$f" "blob $2 missing from $1"
  local got; got="sha256:$(sha256sum "$f" | cut -d' ' -f1)"
  assert_eq "$got" "$2" "content of blob $f"
}

# ---------------------------------------------------------------------------------------------------
# Isolated podman / buildah / skopeo configuration

# e2e_containers_env: private containers-storage, registries.conf (no search registries, nothing
# insecure), containers.conf and auth file below $WORK, exported for podman, buildah and skopeo.
e2e_containers_env() {
  local c="$WORK/containers"
  mkdir -p "$c/graph" "$c/run" "$c/tmp" "$c/libpod-tmp"
  cat >"$c/storage.conf" <<EOF
[storage]
driver = "${E2E_STORAGE_DRIVER:-vfs}"
graphroot = "$c/graph"
runroot = "$c/run"
EOF
  cat >"$c/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "disabled"
EOF
  # Running containers here: this machine has hybrid cgroups (v1 controllers + v2), which crun
  # refuses ("cgroups in hybrid mode not supported"), so runc; and the container init may not set
  # RLIMIT_NPROC / RLIMIT_NOFILE to the host's hard limits (EPERM), so lower ones. No network.
  cat >"$c/containers.conf" <<EOF
[containers]
netns = "none"
log_driver = "k8s-file"
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$c/events.log"
tmp_dir = "$c/libpod-tmp"
image_copy_tmp_dir = "$c/tmp"
[network]
network_config_dir = "$c/networks"
EOF
  mkdir -p "$c/networks"
  echo '{}' >"$c/auth.json"
  export CONTAINERS_STORAGE_CONF="$c/storage.conf"
  export CONTAINERS_REGISTRIES_CONF="$c/registries.conf"
  export CONTAINERS_CONF="$c/containers.conf"
  export REGISTRY_AUTH_FILE="$c/auth.json"
  export BUILDAH_ISOLATION=chroot
  [[ -f /etc/containers/policy.json ]] ||
    fail "/etc/containers/policy.json is missing (package containers-common / golang-github-containers-common)"
  # Stop whatever podman may have left running (containers, conmon) before the work dir goes.
  e2e_on_exit "timeout 30 podman rm -af -t 0; timeout 30 buildah rm -a"
}

# e2e_containerd_start: a private containerd daemon (no CRI) in $WORK/containerd, stopped on exit.
# Sets CD_SOCK (its socket) and CD_PID.
e2e_containerd_start() {
  local cd_dir="$WORK/containerd" i
  mkdir -p "$cd_dir/root" "$cd_dir/state" "$cd_dir/opt"
  CD_SOCK="$cd_dir/containerd.sock"
  cat >"$cd_dir/config.toml" <<EOF
version = 2
root = "$cd_dir/root"
state = "$cd_dir/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]
[grpc]
  address = "$CD_SOCK"
[ttrpc]
  address = "$CD_SOCK.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$cd_dir/opt"
EOF
  containerd --config "$cd_dir/config.toml" >"$WORK/logs/containerd.log" 2>&1 &
  CD_PID=$!
  e2e_on_exit e2e_containerd_stop
  for ((i = 0; i < 100; i++)); do
    kill -0 "$CD_PID" 2>/dev/null || fail "containerd exited: $(tail -n 20 "$WORK/logs/containerd.log")"
    timeout 5 ctr --address "$CD_SOCK" version >/dev/null 2>&1 && break
    sleep 0.2
  done
}

# e2e_containerd_stop: SIGTERM, then SIGKILL after 10 s.
e2e_containerd_stop() {
  local i
  kill -TERM "$CD_PID" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$CD_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$CD_PID" 2>/dev/null; then
    log "containerd did not stop on SIGTERM: SIGKILL"
    kill -KILL "$CD_PID" 2>/dev/null || true
  fi
  wait "$CD_PID" 2>/dev/null || true
  return 0
}

# e2e_make_pki DIR: a test CA (DIR/ca.crt, DIR/ca.key) and a server certificate it signed for
# 127.0.0.1 and localhost (DIR/server.crt, DIR/server.key).
e2e_make_pki() {
  local pki="$1"
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=Berth e2e test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>"$WORK/logs/openssl.log" || fail "openssl: CA: $(cat "$WORK/logs/openssl.log")"
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=127.0.0.1" \
    -keyout "$pki/server.key" -out "$pki/server.csr" 2>>"$WORK/logs/openssl.log" || fail "openssl: server key"
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$pki/server.ext"
  openssl x509 -req -sha256 -days 2 -in "$pki/server.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -extfile "$pki/server.ext" -out "$pki/server.crt" 2>>"$WORK/logs/openssl.log" ||
    fail "openssl: sign: $(cat "$WORK/logs/openssl.log")"
  openssl verify -CAfile "$pki/ca.crt" "$pki/server.crt" >/dev/null || fail "the server certificate does not verify"
}

# ---------------------------------------------------------------------------------------------------
# Shared S3 server and nginx

# e2e_s3_shared_start: starts (or joins) the shared radosgw (scripts/start-s3.sh --shared, which stops
# it once this shell is gone) and exports the BERTH_S3_* variables it prints. A Ceph cluster's first
# start now and then fails on a race inside Ceph (exit 1): up to three tries.
e2e_s3_shared_start() {
  step "start the shared S3 server (radosgw)"
  export BERTH_S3_WATCH_PID=$$
  local out="" rc try
  for try in 1 2 3; do
    echo "== try $try" >>"$WORK/logs/start-s3.log"
    rc=0
    out="$(timeout 240 bash "$BERTH_SOURCE_DIR/scripts/start-s3.sh" --shared 2>>"$WORK/logs/start-s3.log")" || rc=$?
    ((rc == 1)) || break
  done
  ((rc != 2)) || fail "radosgw is not installed (scripts/install-deps.sh test)"
  ((rc == 0)) || fail "start-s3.sh failed (exit $rc): $(tail -n 20 "$WORK/logs/start-s3.log")"
  eval "$out"
  [[ -n "${BERTH_S3_ENDPOINT:-}" && -n "${BERTH_S3_ACCESS_KEY:-}" ]] ||
    fail "start-s3.sh printed no endpoint/credentials: $out"
}

# e2e_nginx_conf_head DIR WORKERS CONNECTIONS ACCESS_LOG: prints the start of an nginx.conf whose pid,
# logs and temporary files are below DIR, up to the open `http {` block (the caller adds its upstreams
# and servers and the closing brace). ACCESS_LOG: a file, or "off".
e2e_nginx_conf_head() {
  local d="$1"
  [[ $(id -u) -ne 0 ]] || echo "user root;"
  cat <<EOC
worker_processes $2;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections $3; }
http {
  access_log $4;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
EOC
}

# e2e_nginx_run DIR URL [curl args...]: checks DIR/nginx.conf (nginx -t), starts nginx in the
# foreground on it, stopped at exit, and waits until URL answers with any HTTP status. Sets
# E2E_NGINX_PID.
E2E_NGINX_PID=""
e2e_nginx_run() {
  local d="$1" url="$2" i code=""; shift 2
  command -v nginx >/dev/null || fail "nginx is not installed (scripts/install-deps.sh test)"
  mkdir -p "$d/tmp"
  nginx -t -p "$d" -e "$d/error.log" -c "$d/nginx.conf" >"$WORK/logs/nginx-t.log" 2>&1 ||
    fail "nginx -t: $(cat "$WORK/logs/nginx-t.log")"
  nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" -g 'daemon off;' >"$WORK/logs/nginx.out" 2>&1 &
  E2E_NGINX_PID=$!
  e2e_on_exit "kill -QUIT $E2E_NGINX_PID 2>/dev/null; wait $E2E_NGINX_PID 2>/dev/null"
  for ((i = 0; i < 100; i++)); do
    kill -0 "$E2E_NGINX_PID" 2>/dev/null ||
      fail "nginx exited: $(cat "$WORK/logs/nginx.out" "$d/error.log" 2>/dev/null)"
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" || true)"
    [[ "$code" != 000 && -n "$code" ]] && return 0
    sleep 0.1
  done
  fail "nginx in $d: $url did not answer within 10 s"
}
