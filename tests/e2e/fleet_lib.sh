# shellcheck shell=bash
# Helpers for fleet tests (several `berth serve` nodes sharing one PostgreSQL and one S3 bucket, with
# nginx in front). Source it instead of lib.sh (it sources lib.sh), then call e2e_init.
#
# Environment (besides lib.sh's):
#   FLEET_S3=private (default) | shared   private: a radosgw of this test's own (scripts/start-s3.sh DIR,
#                                          stopped at exit); shared: scripts/start-s3.sh --shared (the
#                                          cluster outlives the test; what the test wrote is deleted)
#
# Everything listens on 127.0.0.1. Every process started here is stopped by the exit trap: nodes,
# nginx, PostgreSQL (stop-postgres.sh) and a private radosgw (stop-s3.sh).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------------------------------
# Failure reports show every node's log, not only $REG_LOG.

eval "e2e_lib_fail() $(declare -f fail | tail -n +2)"
fail() {
  {
    local n
    for n in "${!NODE_LOG[@]}"; do
      [[ -s "${NODE_LOG[$n]}" ]] || continue
      echo "---- last 15 lines of node $n's log (${NODE_LOG[$n]}) ----"
      tail -n 15 "${NODE_LOG[$n]}" | cut -c1-400
    done
    if [[ -n "${NGINX_DIR:-}" && -s "$NGINX_DIR/error.log" ]]; then
      echo "---- last 10 lines of nginx's error log ----"
      tail -n 10 "$NGINX_DIR/error.log" | cut -c1-400
    fi
  } >&2
  e2e_lib_fail "$@"
}

# ---------------------------------------------------------------------------------------------------
# Timings: `phase NAME "what"` ends the previous phase (printing FLEET_TIMING phase=... seconds=...)
# and starts a step. `phase_end` ends the last one.

FLEET_PHASE="" FLEET_PHASE_T0=""
FLEET_TIMINGS=()
phase_end() {
  [[ -n "$FLEET_PHASE" ]] || return 0
  local s
  s="$(awk -v a="$FLEET_PHASE_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
  FLEET_TIMINGS+=("FLEET_TIMING phase=$FLEET_PHASE seconds=$s")
  echo "FLEET_TIMING phase=$FLEET_PHASE seconds=$s"
  FLEET_PHASE=""
}
phase() {
  phase_end
  FLEET_PHASE="$1"; FLEET_PHASE_T0="$EPOCHREALTIME"
  shift
  step "[$FLEET_PHASE] $*"
}

# ---------------------------------------------------------------------------------------------------
# PostgreSQL

PG_DIR="" PG_ADMIN_URL="" PG_URL=""
# fleet_pg_start DB: a throwaway server (scripts/start-postgres.sh) and an empty database DB in it.
# Sets PG_DIR, PG_ADMIN_URL (database postgres) and PG_URL (database DB).
fleet_pg_start() {
  local db="$1" base=/tmp
  [[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
  # Not below $WORK: the server runs as user postgres, which cannot enter $WORK (mode 0700).
  PG_DIR="$(mktemp -d "$base/berth-fleet-pg-XXXXXX")"
  e2e_on_exit "bash '$BERTH_SOURCE_DIR/scripts/stop-postgres.sh' '$PG_DIR'"
  PG_ADMIN_URL="$(timeout 60 bash "$BERTH_SOURCE_DIR/scripts/start-postgres.sh" "$PG_DIR" 2>"$WORK/logs/start-postgres.log")" ||
    fail "scripts/start-postgres.sh failed: $(tail -n 20 "$WORK/logs/start-postgres.log")"
  [[ "$PG_ADMIN_URL" == postgresql://* ]] || fail "start-postgres.sh printed '$PG_ADMIN_URL'"
  timeout 30 psql "$PG_ADMIN_URL" -qAtc "CREATE DATABASE $db" >/dev/null || fail "CREATE DATABASE $db failed"
  PG_URL="${PG_ADMIN_URL%/*}/$db"
  log "PostgreSQL: $PG_URL (dir $PG_DIR)"
}

# fleet_pg_stop: stops the server, keeping its directory (the exit trap removes it).
fleet_pg_stop() {
  bash "$BERTH_SOURCE_DIR/scripts/stop-postgres.sh" "$PG_DIR" --keep
}

# fleet_psql SQL: one query against PG_URL, unaligned tuples only.
fleet_psql() { timeout 30 psql "$PG_URL" -qAtc "$1"; }

# ---------------------------------------------------------------------------------------------------
# S3 (radosgw)

S3_ENDPOINT="" S3_REGION="" S3_ACCESS_KEY="" S3_SECRET_KEY="" S3_DIR="" S3_BUCKET="" S3_PREFIX=""
S3_EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# fleet_s3_start: starts radosgw (private or shared, see FLEET_S3) without waiting: call fleet_s3_wait.
# A Ceph cluster's first start now and then fails on a race inside Ceph ("the monitor does not answer":
# the first command reached the monitor before the client knew the cluster's fsid): up to three tries.
FLEET_S3_PID=""
fleet_s3_start() {
  local out="$WORK/s3.env" err="$WORK/logs/start-s3.log"
  if [[ "${FLEET_S3:-private}" == shared ]]; then
    (
      for try in 1 2 3; do
        echo "== try $try" >>"$err"
        rc=0
        BERTH_S3_WATCH_PID=$$ timeout 240 bash "$BERTH_SOURCE_DIR/scripts/start-s3.sh" --shared >"$out" 2>>"$err" || rc=$?
        ((rc == 1)) || exit $rc
      done
      exit 1
    ) &
  else
    S3_DIR="$(mktemp -d /tmp/berth-fleet-s3-XXXXXX)"
    e2e_on_exit "bash '$BERTH_SOURCE_DIR/scripts/stop-s3.sh' '$S3_DIR'"
    # The cluster also stops itself once this shell is gone, should the trap never run (kill -9).
    (
      for try in 1 2 3; do
        echo "== try $try" >>"$err"
        rc=0
        BERTH_S3_WATCH_PID=$$ timeout 240 bash "$BERTH_SOURCE_DIR/scripts/start-s3.sh" "$S3_DIR" >"$out" 2>>"$err" || rc=$?
        ((rc == 1)) || exit $rc
        bash "$BERTH_SOURCE_DIR/scripts/stop-s3.sh" "$S3_DIR"  # what the failed try left, logs and all
        mkdir -p "$S3_DIR"
      done
      exit 1
    ) &
  fi
  FLEET_S3_PID=$!
}

# fleet_s3_wait BUCKET PREFIX: waits for fleet_s3_start, creates BUCKET, sets the S3_* variables.
fleet_s3_wait() {
  local rc=0
  wait "$FLEET_S3_PID" || rc=$?
  FLEET_S3_PID=""
  ((rc != 2)) || fail "radosgw is not installed (scripts/install-deps.sh test)"
  ((rc == 0)) || fail "scripts/start-s3.sh failed (exit $rc): $(tail -n 30 "$WORK/logs/start-s3.log")"
  S3_ENDPOINT="$(sed -n 's/^export BERTH_S3_ENDPOINT=//p' "$WORK/s3.env")"
  S3_REGION="$(sed -n 's/^export BERTH_S3_REGION=//p' "$WORK/s3.env")"
  S3_ACCESS_KEY="$(sed -n 's/^export BERTH_S3_ACCESS_KEY=//p' "$WORK/s3.env")"
  S3_SECRET_KEY="$(sed -n 's/^export BERTH_S3_SECRET_KEY=//p' "$WORK/s3.env")"
  [[ -n "$S3_ENDPOINT" && -n "$S3_ACCESS_KEY" ]] || fail "start-s3.sh printed no endpoint/credentials"
  S3_BUCKET="$1" S3_PREFIX="$2"
  local code
  code="$(s3_curl -o "$WORK/logs/create-bucket.out" -w '%{http_code}' -X PUT "$S3_ENDPOINT/$S3_BUCKET")" || code=000
  [[ $code == 200 ]] || fail "creating bucket $S3_BUCKET answered HTTP $code: $(head -c 300 "$WORK/logs/create-bucket.out")"
  [[ "${FLEET_S3:-private}" != shared ]] || e2e_on_exit "s3_purge_bucket"
  log "S3: $S3_ENDPOINT bucket $S3_BUCKET prefix $S3_PREFIX"
}

# s3_curl ARGS...: a SigV4-signed request (curl signs; radosgw also wants x-amz-content-sha256).
s3_curl() {
  curl -sS --max-time 30 -H "x-amz-content-sha256: $S3_EMPTY_SHA" --aws-sigv4 "aws:amz:$S3_REGION:s3" \
    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" "$@"
}

# s3_keys PREFIX: the keys of the bucket under PREFIX (one a line; up to 1000). The prefix goes in the
# query with its slashes encoded, as SigV4's canonical query string has them (curl signs it as written).
s3_keys() {
  s3_curl "$S3_ENDPOINT/$S3_BUCKET?list-type=2&max-keys=1000&prefix=${1//\//%2F}" | grep -o '<Key>[^<]*</Key>' |
    sed 's/<Key>\(.*\)<\/Key>/\1/' || true
}

# s3_purge_bucket: deletes every object, aborts every multipart upload, deletes the bucket (shared mode).
s3_purge_bucket() {
  local k u _
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    mapfile -t keys < <(s3_keys "")
    ((${#keys[@]})) || break
    for k in "${keys[@]}"; do s3_curl -o /dev/null -X DELETE "$S3_ENDPOINT/$S3_BUCKET/$k"; done
  done
  s3_curl "$S3_ENDPOINT/$S3_BUCKET?uploads=" | tr '<' '\n' |
    awk -F'>' '$1 == "Key" {k = $2} $1 == "UploadId" {print k " " $2}' | while read -r k u; do
    s3_curl -o /dev/null -X DELETE "$S3_ENDPOINT/$S3_BUCKET/$k?uploadId=$u"
  done
  s3_curl -o /dev/null -X DELETE "$S3_ENDPOINT/$S3_BUCKET"
}

# ---------------------------------------------------------------------------------------------------
# Nodes

declare -A NODE_PID=() NODE_ADDR=() NODE_LOG=() NODE_DATA=()
FLEET_ENV=()  # the fleet's shared configuration, set by fleet_env

# fleet_env: the environment every node gets (storage: s3, metadata: postgres), from the S3_*/PG_*
# variables.
fleet_env() {
  FLEET_ENV=(
    BERTH_STORAGE=s3 BERTH_METADATA=postgres BERTH_POSTGRES_URL="$PG_URL"
    BERTH_S3_ENDPOINT="$S3_ENDPOINT" BERTH_S3_REGION="$S3_REGION" BERTH_S3_BUCKET="$S3_BUCKET"
    BERTH_S3_ACCESS_KEY="$S3_ACCESS_KEY" BERTH_S3_SECRET_KEY="$S3_SECRET_KEY" BERTH_S3_PREFIX="$S3_PREFIX"
    BERTH_S3_PATH_STYLE=true BERTH_AUTH_ENABLED=false
  )
}

# fleet_node_start NAME [VAR=VALUE...]: starts (or restarts, on the same port) node NAME with the fleet
# environment plus the given variables; waits until /healthz and /readyz answer 200.
fleet_node_start() {
  local name="$1"; shift
  [[ -z "${NODE_PID[$name]:-}" ]] || fail "node $name is already running"
  [[ -n "${NODE_ADDR[$name]:-}" ]] || NODE_ADDR[$name]="127.0.0.1:$(free_port)"
  NODE_DATA[$name]="$WORK/node-$name"
  NODE_LOG[$name]="$WORK/logs/node-$name.log"
  mkdir -p "${NODE_DATA[$name]}"
  echo "==== start $(date +%T.%N) $*" >>"${NODE_LOG[$name]}"
  env "${FLEET_ENV[@]}" "$@" "$BERTH" serve --listen "${NODE_ADDR[$name]}" --data "${NODE_DATA[$name]}" \
    >>"${NODE_LOG[$name]}" 2>&1 &
  NODE_PID[$name]=$!
  # lib.sh's wait (fails if the process exits first; its message names the node's address), pointed at
  # this node: it reads REG, REG_PID and REG_SCHEME, shadowed here for its call only.
  local REG="${NODE_ADDR[$name]}" REG_PID="${NODE_PID[$name]}" REG_SCHEME=http
  e2e_wait_ready /readyz 30
  log "node $name pid ${NODE_PID[$name]} on ${NODE_ADDR[$name]}"
}

# fleet_node_stop NAME: SIGTERM, up to 15 s, then SIGKILL. Sets NODE_EXIT. Never fails.
NODE_EXIT=""
fleet_node_stop() {
  local name="$1" pid="${NODE_PID[$1]:-}"
  NODE_EXIT=""
  [[ -n "$pid" ]] || return 0
  NODE_PID[$name]=""
  local REG_PID="$pid"  # lib.sh's stop, on this node (shadowed for its call only)
  e2e_registry_stop || true
  NODE_EXIT="$E2E_REG_EXIT"
}

# fleet_node_kill NAME: SIGKILL, as a crash or a power cut would.
fleet_node_kill() {
  local pid="${NODE_PID[$1]:-}"
  [[ -n "$pid" ]] || return 0
  NODE_PID[$1]=""
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

fleet_stop_all() {
  local n
  for n in "${!NODE_PID[@]}"; do fleet_node_stop "$n"; done
  nginx_stop
}

# ---------------------------------------------------------------------------------------------------
# nginx as the load balancer

NGINX_DIR="" NGINX_ADDR="" NGINX_PID=""
# nginx_start NODE...: nginx on a free port, balancing over the named nodes. Sets NGINX_ADDR.
nginx_start() {
  NGINX_DIR="$WORK/nginx"
  mkdir -p "$NGINX_DIR"
  NGINX_ADDR="127.0.0.1:$(free_port)"
  local servers="" n
  for n in "$@"; do servers+="    server ${NODE_ADDR[$n]} max_fails=1 fail_timeout=5s;"$'\n'; done
  {
    e2e_nginx_conf_head "$NGINX_DIR" 2 1024 "$NGINX_DIR/access.log"
    cat <<EOF

  upstream berth {
$servers    keepalive 32;
  }
  server {
    listen $NGINX_ADDR;
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    proxy_set_header Host \$http_host;
    proxy_set_header Connection "";
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_read_timeout 900s;
    proxy_send_timeout 900s;
    location / {
      proxy_pass http://berth;
    }
  }
}
EOF
  } >"$NGINX_DIR/nginx.conf"
  e2e_nginx_run "$NGINX_DIR" "http://$NGINX_ADDR/v2/"
  NGINX_PID="$E2E_NGINX_PID"
  local code
  code="$(http_code GET "http://$NGINX_ADDR/v2/")"
  [[ "$code" == 200 || "$code" == 401 ]] || fail "nginx on $NGINX_ADDR: GET /v2/ answered '$code'"
  log "nginx pid $NGINX_PID on $NGINX_ADDR over: $*"
}

nginx_stop() {
  [[ -n "$NGINX_PID" ]] || return 0
  local pid="$NGINX_PID" i
  NGINX_PID=""
  kill -QUIT "$pid" 2>/dev/null  # graceful; the workers follow the master
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

# ---------------------------------------------------------------------------------------------------
# HTTP helpers

# http_code METHOD URL [curl args...]: prints the status code (000 on a transport error).
http_code() {
  local m="$1" u="$2"; shift 2
  curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X "$m" "$@" "$u" || true
}

# header_of FILE NAME: a header's value from a curl -D dump (last response).
header_of() { awk -v n="$(tr 'A-Z' 'a-z' <<<"$2"):" 'tolower($1) == n {sub(/^[^:]*: */, ""); v = $0} END {print v}' "$1" | tr -d '\r'; }

# wait_code CODE SECONDS URL [curl args...]: polls GET URL until it answers CODE; prints the last status.
wait_code() {
  local want="$1" deadline=$((SECONDS + $2)) url="$3" code=""; shift 3
  while :; do
    code="$(http_code GET "$url" "$@")"
    [[ "$code" == "$want" ]] || ((SECONDS >= deadline)) || { sleep 0.2; continue; }
    break
  done
  echo "$code"
}

# path_of URL_OR_PATH: the path (and query) of a Location header, absolute or not.
path_of() { sed -E 's#^[a-zA-Z]+://[^/]+##' <<<"$1"; }

sha256_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
