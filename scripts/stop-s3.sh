#!/usr/bin/env bash
# Stops the S3 test server that scripts/start-s3.sh started in DIR and removes DIR.
# Usage: scripts/stop-s3.sh DIR [--keep]   (--keep leaves DIR and its logs in place)
# Only the processes whose pid files are in DIR/run are signalled.
set -uo pipefail
dir="${1:?usage: stop-s3.sh DIR [--keep]}"
keep="${2:-}"
[[ -d $dir/run ]] || exit 0

pids=()
for f in "$dir"/run/*.pid; do
  [[ -f $f ]] || continue
  pid="$(cat "$f" 2>/dev/null)"
  [[ $pid =~ ^[0-9]+$ ]] && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
done
# radosgw and the OSD take a moment to shut down; after 10 s they are killed.
for _ in $(seq 1 100); do
  alive=0
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
  ((alive)) || break
  sleep 0.1
done
for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done

[[ $keep == --keep ]] || rm -rf "$dir"
exit 0
