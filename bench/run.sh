#!/usr/bin/env bash
# Side-by-side benchmark: CNCF Distribution (Debian's docker-registry) vs Berth, same scenarios, same
# machine, on loopback. Writes bench/RESULTS.md (replaced on every run).
#
#   bench/run.sh [--quick] [--only distribution|berth] [--scenarios LIST] [--out FILE]
#
# --scenarios runs only the named berth-loadgen scenarios (comma-separated, e.g. pkg-versions,pkg-size;
# tag-list needs manifest-push) and then writes $BENCH_TMP/berth-bench-subset.md unless --out is given,
# so that a partial run never replaces bench/RESULTS.md. The pkg-* scenarios (the packages API) run
# against Berth only: Distribution has no such API, and is not started when only they are selected.
#
# Environment: BERTH (the berth binary), LOADGEN (berth-loadgen), DISTRIBUTION (docker-registry binary,
# installed with apt-get when missing), BENCH_TMP (where the servers keep their data; default /tmp),
# BENCH_PORT (ports BENCH_PORT+1 and +2 on 127.0.0.1 are used; default 15100). `make bench` builds and
# sets BERTH/LOADGEN.
#
# Not a test: it does not run in CI. Full run ≈ 8–12 minutes on 2 cores; --quick ≈ 2 minutes.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$ROOT/build-bench/src/cli/berth}
LOADGEN=${LOADGEN:-$ROOT/build-bench/bench/berth-loadgen}
DISTRIBUTION=${DISTRIBUTION:-/usr/bin/docker-registry}
BENCH_TMP=${BENCH_TMP:-/tmp}
PORT0=${BENCH_PORT:-15100}
QUICK=0
ONLY=""
SCENARIOS=""
OUT=""

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY=$2; shift ;;
    --scenarios) SCENARIOS=",$2,"; shift ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ -z "$OUT" ]; then
  OUT=$ROOT/bench/RESULTS.md
  [ -n "$SCENARIOS" ] && OUT=$BENCH_TMP/berth-bench-subset.md
fi
# Only Berth-only scenarios selected: no need for Distribution.
if [ -n "$SCENARIOS" ] && [ -z "$ONLY" ] && [ -z "$(tr ',' '\n' <<<"$SCENARIOS" | grep -v -e '^$' -e '^pkg-')" ]; then
  ONLY=berth
fi

for bin in "$BERTH" "$LOADGEN"; do
  [ -x "$bin" ] || { echo "missing $bin (build with: make bench, or cmake -DBERTH_BENCH=ON)" >&2; exit 2; }
done
if [ "$ONLY" != berth ] && [ ! -x "$DISTRIBUTION" ]; then
  log "installing docker-registry (CNCF Distribution) with apt-get"
  apt-get install -y docker-registry >/dev/null || { apt-get update >/dev/null && apt-get install -y docker-registry >/dev/null; }
  DISTRIBUTION=$(command -v docker-registry)
fi

WORK=$(mktemp -d "$BENCH_TMP/berth-bench.XXXXXX")
JSONL=$WORK/results.jsonl
declare -A PID PORT
cleanup() {
  local label
  for label in "${!PID[@]}"; do
    if kill -0 "${PID[$label]}" 2>/dev/null; then
      kill -TERM "${PID[$label]}" 2>/dev/null || true
      wait "${PID[$label]}" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_ready() {  # PORT PID
  for _ in $(seq 1 100); do
    if curl -fs -o /dev/null "http://127.0.0.1:$1/v2/"; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start_distribution() {  # PORT DATA
  mkdir -p "$2"
  cat >"$WORK/distribution.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $2
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$1
YAML
  "$DISTRIBUTION" serve "$WORK/distribution.yml" >"$WORK/distribution.log" 2>&1 &
  PID[distribution]=$!
}

start_berth() {  # PORT DATA
  # Authentication off, as Distribution runs here: equivalent settings, same work per request.
  BERTH_AUTH_ENABLED=false BERTH_ACCESS_LOG=false BERTH_LOG_LEVEL=error "$BERTH" serve --listen "127.0.0.1:$1" --data "$2" \
    >"$WORK/berth.log" 2>&1 &
  PID[berth]=$!
}

# Scenario parameters: full / quick. Every scenario is bounded in time and in count.
MiB=1048576
N_VERSIONS=10000  # packages API: the issue's size of package, in both modes (its setup takes a few seconds)
if [ $QUICK = 1 ]; then
  D_PUSH=2; D_PULL=2; D_MAN=3; D_LIST=2; D_MIX=3; N_TAGS=1000; N_REPOS=200; N_BIG=8; N_PULL=2
else
  D_PUSH=12; D_PULL=10; D_MAN=20; D_LIST=10; D_MIX=20; N_TAGS=10000; N_REPOS=2000; N_BIG=96; N_PULL=8
fi

LABELS=(distribution berth)
[ -n "$ONLY" ] && LABELS=("$ONLY")

# Both servers run side by side, idle unless under test, and each scenario runs against one and then
# the other right away, so that load from elsewhere on the machine weighs on both alike.
FAILED=()
scenario() {  # SCENARIO ARGS...
  local sc=$1 label
  shift
  [ -n "$SCENARIOS" ] && [[ $SCENARIOS != *",$sc,"* ]] && return 0
  for label in "${LABELS[@]}"; do
    case $sc in pkg-*) [ "$label" = berth ] || continue ;; esac  # the packages API: Berth only
    if ! kill -0 "${PID[$label]}" 2>/dev/null; then
      FAILED+=("$label: not running for $sc $*")
      continue
    fi
    sync  # do not let the previous scenario's writeback land in this one
    # Blob pushes start with free memory: the benchmark writes ~40 GB, and once the page cache has filled
    # RAM, whoever writes next pays for reclaiming the previous server's pages (direct reclaim is charged
    # to the allocating process), which made the second server of each pair look costlier. Not before
    # the other scenarios, whose pre-pushed data should stay cached. Root only.
    case $sc in push-*) echo 1 > /proc/sys/vm/drop_caches 2>/dev/null || true ;; esac
    log "$label: $sc $*"
    if ! "$LOADGEN" "$sc" --port "${PORT[$label]}" --label "$label" --server-pid "${PID[$label]}" --out "$JSONL" "$@" \
        2>>"$WORK/loadgen-$label.err"; then
      FAILED+=("$label: $sc $* ($(tail -1 "$WORK/loadgen-$label.err" | cut -c1-200))")
      tail -3 "$WORK/loadgen-$label.err" >&2 || true
    fi
    kill -0 "${PID[$label]}" 2>/dev/null || log "$label died during $sc"
  done
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
port=$PORT0
for label in "${LABELS[@]}"; do
  port=$((port + 1))
  PORT[$label]=$port
  if [ "$label" = distribution ]; then start_distribution $port "$WORK/data-$label"; else start_berth $port "$WORK/data-$label"; fi
  wait_ready $port "${PID[$label]}" || { cat "$WORK/$label.log" >&2; echo "$label did not start" >&2; exit 1; }
  log "$label ready on 127.0.0.1:$port (pid ${PID[$label]})"
done

scenario push-mono --size $MiB --concurrency 1 --duration $D_PUSH --count 5000
scenario push-mono --size $MiB --concurrency 8 --duration $D_PUSH --count 10000
scenario push-mono --size $((64 * MiB)) --concurrency 1 --duration $D_PUSH --count $N_BIG
scenario push-mono --size $((64 * MiB)) --concurrency 8 --duration $D_PUSH --count $N_BIG
scenario push-chunked --size $((64 * MiB)) --chunk $((8 * MiB)) --concurrency 1 --duration $D_PUSH --count $N_BIG
scenario push-chunked --size $((64 * MiB)) --chunk $((8 * MiB)) --concurrency 8 --duration $D_PUSH --count $N_BIG
scenario pull --size $((64 * MiB)) --blobs $N_PULL --seed 1 --concurrency 1 --duration $D_PULL --count 100000
scenario pull --size $((64 * MiB)) --blobs $N_PULL --seed 1 --concurrency 16 --duration $D_PULL --count 100000
scenario manifest-get --concurrency 64 --duration $D_MAN --count 10000000
scenario manifest-head --concurrency 64 --duration $D_MAN --count 10000000
scenario manifest-push --concurrency 8 --tags $N_TAGS --duration 300 --repo bench/tags
scenario tag-list --repo bench/tags --expect $N_TAGS --concurrency 1 --duration $D_LIST --count 100000
scenario tag-list --repo bench/tags --expect $N_TAGS --page 100 --concurrency 1 --duration $D_LIST --count 100000
scenario catalog --repos $N_REPOS --concurrency 1 --duration $D_LIST --count 100000
scenario mixed --concurrency 16 --duration $D_MIX --count 10000000
# Berth only: the packages API on a package of N_VERSIONS versions (the first one pushes them).
scenario pkg-versions --repo bench/package --versions $N_VERSIONS --concurrency 1 --duration $D_LIST --count 1000000
scenario pkg-versions --repo bench/package --versions $N_VERSIONS --concurrency 8 --duration $D_LIST --count 1000000
scenario pkg-size --repo bench/package --versions $N_VERSIONS --concurrency 1 --duration $D_LIST --count 1000000
scenario pkg-size --repo bench/package --versions $N_VERSIONS --concurrency 8 --duration $D_LIST --count 1000000

ELAPSED=$(( $(date +%s) - START ))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# openssl's single-core sha256 speed at 16 KiB blocks, in MiB/s (openssl prints 1000-byte kB/s).
SHA_K=$(openssl speed -seconds 3 -bytes 16384 -evp sha256 2>/dev/null | awk '/^sha256/ {print $2}' | tr -d k)
SHA_MIBPS=$(awk -v k="$SHA_K" 'BEGIN { printf "%.0f", k * 1000 / 1048576 }')

MODE=full; [ $QUICK = 1 ] && MODE=quick
MODE_NOTE=""; [ -n "$SCENARIOS" ] && MODE_NOTE=", only the scenarios ${SCENARIOS:1:${#SCENARIOS}-2}"
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "# Berth vs CNCF Distribution — benchmark results"
  echo
  echo "Produced by \`make bench\` (\`bench/run.sh\`, $MODE mode$MODE_NOTE, ${ELAPSED}s) on $(date -u '+%Y-%m-%d %H:%M UTC'), Berth at \`$REV\`"
  echo "plus the working tree. Replaced on every run; do not edit by hand. The load generator is \`bench/loadgen.cc\`"
  echo "(\`berth-loadgen\`): keep-alive HTTP/1.1 on loopback, every status code checked, every pulled byte sha256-verified."
  echo
  echo "- Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; generator and servers share the CPUs."
  echo "- Load average (1, 5, 15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER. Both servers run side by side, idle unless under"
  echo "  test; each scenario runs against Distribution, then right away against Berth."
  echo "- Distribution: \`$("$DISTRIBUTION" --version 2>/dev/null | head -1)\`, filesystem storage, \`storage.delete.enabled: true\`, \`storage.cache.blobdescriptor: inmemory\`, log level error, access log off."
  echo "- Berth: \`berth serve\` with \`BERTH_ACCESS_LOG=false BERTH_LOG_LEVEL=error\`, default configuration (filesystem blobs, SQLite metadata)."
  echo "- Both keep their data in \`$BENCH_TMP\` ($(df -T "$BENCH_TMP" | awk 'NR==2 {print $2}') on $(df "$BENCH_TMP" | awk 'NR==2 {print $1}')); \`sync\` runs before each scenario, and the page cache is dropped before each blob-push scenario ($( [ -w /proc/sys/vm/drop_caches ] && echo "done: running as root" || echo "skipped: not root"))."
  echo "- sha256 single core (\`openssl speed -evp sha256\`, 16 KiB blocks): **$SHA_MIBPS MiB/s**."
  echo "- Server CPU = utime+stime from \`/proc/PID/stat\` over the measured phase (10 ms ticks); peak RSS = \`VmHWM\` after"
  echo "  resetting it (\`echo 5 > /proc/PID/clear_refs\`) at the start of each scenario. Setup (pre-pushing what is pulled) is not measured."
  echo "- Ratios are Berth / Distribution; the target column is the issue's goal for that ratio (✓ met, ✗ not yet)."
  echo "  The packages API rows (Berth only, no counterpart in Distribution) follow the table, with absolute targets."
  echo
  "$LOADGEN" report --in "$JSONL" --sha256-mibps "$SHA_MIBPS"
  echo
  echo "## Scenarios"
  echo
  echo "| scenario | what one operation is | bounds (time / count) |"
  echo "|---|---|---|"
  echo "| blob push, monolithic | POST /blobs/uploads/ then PUT <location>?digest= with the whole body; unique content per blob | ${D_PUSH}s / 5000 (1 MiB), $N_BIG (64 MiB) |"
  echo "| blob push, chunked | POST, then PATCH 8 MiB chunks with Content-Range, then PUT ?digest= | ${D_PUSH}s / $N_BIG |"
  echo "| blob pull | GET /blobs/<digest> of $N_PULL pre-pushed 64 MiB blobs, size and sha256 checked (the generator's hashing bounds MiB/s: compare server CPU) | ${D_PULL}s |"
  echo "| manifest GET / HEAD | by tag, 64 keep-alive connections; GET bodies sha256-checked, HEAD digest header checked | ${D_MAN}s |"
  echo "| manifest PUT | a distinct OCI manifest under each of $N_TAGS tags, 8 connections | $N_TAGS / 300s |"
  echo "| tag list | GET /tags/list of those $N_TAGS tags, whole, and with n=100 following Link (Distribution 2.8 ignores n: one page) | ${D_LIST}s each |"
  echo "| catalog | create $N_REPOS repositories (2 blobs + 1 manifest each), then GET /_catalog following Link (Distribution pages by 100 and refuses n > 1000) | ${D_LIST}s |"
  echo "| mixed | 16 connections: 90% pull (manifest by tag + its 1 MiB layer), 10% push (1 MiB layer + manifest) | ${D_MIX}s |"
  echo "| packages API (Berth only) | after pushing $N_VERSIONS distinct manifests (a version each) into bench/package: GET /api/v3/users/bench/packages/container/package/versions (first page of 30) or …/package (the package object and its size), c=1 and c=8; every body checked | ${D_LIST}s / 1000000 each |"
  if [ ${#FAILED[@]} -gt 0 ]; then
    echo
    echo "## Scenarios that reported errors"
    echo
    for f in "${FAILED[@]}"; do echo "- $f"; done
  fi
} >"$OUT"
log "wrote $OUT"
cat "$OUT"
