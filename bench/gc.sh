#!/usr/bin/env bash
# Garbage collection benchmark (docs/lifecycle.md): not a test, not in CI.
#
#   bench/gc.sh [--blobs N] [--size BYTES] [--s3]      (defaults: 100000 blobs of 1 KiB, filesystem)
#
# --s3: blobs in S3 on a private radosgw (scripts/start-s3.sh; memstore, loopback), metadata in SQLite;
#       radosgw runs at nice 19 during the GET measurements (it stands in for a remote object store).
#
# 1. fills a fresh registry (filesystem or S3, SQLite) with N unreferenced blobs through the API (berth-loadgen
#    push-mono) and one image for manifest GETs;
# 2. times `berth gc --dry-run` (one whole pass over N blob rows and N objects, deleting nothing) and
#    `berth gc --grace 0` (the same pass deleting them all: objects and bytes reclaimed per second);
# 3. measures manifest GET req/s by tag (c=64, 5 s) alone, then again while GC passes run back to back
#    over a second batch of unreferenced blobs, at the priority of berth serve's collector thread (nice 10).
# Prints a Markdown table with the machine's load. Uses build-bench (make bench builds it).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH:-$ROOT/build-bench/src/cli/berth}
LOADGEN=${LOADGEN:-$ROOT/build-bench/bench/berth-loadgen}
N=100000
SIZE=1024
S3=0
PORT=${BENCH_PORT:-15300}
while [ $# -gt 0 ]; do
  case "$1" in
    --blobs) N=$2; shift ;;
    --size) SIZE=$2; shift ;;
    --s3) S3=1 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
for bin in "$BERTH" "$LOADGEN"; do
  [ -x "$bin" ] || { echo "missing $bin (build with: make bench)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/berth-gc-bench.XXXXXX)
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null
  wait 2>/dev/null
  [ "$S3" = 1 ] && "$ROOT/scripts/stop-s3.sh" "$WORK/s3" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '[gc-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

STORE="filesystem"
if [ "$S3" = 1 ]; then
  log "starting radosgw"
  eval "$(BERTH_S3_WATCH_PID=$$ "$ROOT/scripts/start-s3.sh" "$WORK/s3")"
  export BERTH_STORAGE=s3 BERTH_S3_PREFIX="gc-bench/"
  STORE="S3 (radosgw, memstore)"
fi

BERTH_AUTH_ENABLED=false BERTH_ACCESS_LOG=false BERTH_LOG_LEVEL=error BERTH_GC_ENABLED=false \
  "$BERTH" serve --listen "127.0.0.1:$PORT" --data "$WORK/data" >"$WORK/berth.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

fill() {  # COUNT: unreferenced blobs of SIZE bytes
  "$LOADGEN" push-mono --port "$PORT" --size "$SIZE" --concurrency 8 --count "$1" --duration 600 \
    --label fill --out "$WORK/fill.jsonl" >/dev/null
}
seconds() { local s e; s=$(date +%s.%N); "$@" >"$WORK/last.out" 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
get_rate() {  # manifest GET by tag, c=64, 5 s: req/s
  "$LOADGEN" manifest-get --port "$PORT" --concurrency 64 --duration 5 --count 100000000 --label get \
    --out "$WORK/get.jsonl" >/dev/null
  tail -1 "$WORK/get.jsonl" | sed -n 's/.*"ops_per_s":\([0-9.]*\).*/\1/p'
}

log "pushing $N unreferenced blobs of $SIZE bytes"
fill "$N"
sleep 1.1  # grace 0 counts whole seconds
log "berth gc --dry-run"
T_DRY=$(seconds "$BERTH" gc --data "$WORK/data" --dry-run --grace 0)
DRY_OUT=$(cat "$WORK/last.out")
log "berth gc --grace 0"
T_RUN=$(seconds "$BERTH" gc --data "$WORK/data" --grace 0)
RUN_OUT=$(cat "$WORK/last.out")
OBJECTS=$(sed -n 's/^reclaimed \([0-9]*\) objects, \([0-9]*\) bytes.*/\1/p' <<<"$RUN_OUT")
BYTES=$(sed -n 's/^reclaimed \([0-9]*\) objects, \([0-9]*\) bytes.*/\2/p' <<<"$RUN_OUT")

if [ "$S3" = 1 ]; then
  # The object store stands in for one on other machines: at the lowest priority, so that the GET figures
  # measure what the collector costs Berth, not radosgw's share of the same two cores.
  # Every thread: renice -p of a process changes only its main thread on Linux.
  for pid in $(pgrep -f "$WORK/s3"); do
    ls "/proc/$pid/task" | xargs -r renice -n 19 -p >/dev/null
  done
fi
log "manifest GET alone"
GET_ALONE=$(get_rate)
log "manifest GET while GC passes run"
fill $((N / 4))
sleep 1.1
( while [ ! -e "$WORK/stop" ]; do nice -n 10 "$BERTH" gc --data "$WORK/data" --grace 0 >/dev/null 2>&1 || true; done ) &
GC_LOOP=$!
GET_GC=$(get_rate)
touch "$WORK/stop"; wait "$GC_LOOP" 2>/dev/null || true

cat <<EOF
## Garbage collection, $STORE + SQLite ($(date -u +%Y-%m-%d), $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg))

| measure | value |
|---|---:|
| blobs in the registry (unreferenced, $SIZE bytes each) | $N |
| \`berth gc --dry-run\`: one pass over every row and object, deleting nothing | ${T_DRY} s |
| \`berth gc --grace 0\`: the same pass deleting them | ${T_RUN} s |
| objects reclaimed | ${OBJECTS:-?} |
| objects per second | $(echo "scale=0; ${OBJECTS:-0} / $T_RUN" | bc) |
| bytes reclaimed per second | $(echo "scale=0; ${BYTES:-0} / $T_RUN" | bc) |
| manifest GET by tag, c=64: req/s alone | $GET_ALONE |
| manifest GET by tag, c=64: req/s while GC passes run back to back | $GET_GC |

Dry run said: $(head -1 <<<"$DRY_OUT")
EOF
