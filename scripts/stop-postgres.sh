#!/usr/bin/env bash
# Stops a server started by start-postgres.sh and removes its directory.
# Usage: scripts/stop-postgres.sh DIR [--keep]
#   --keep  stop only (fast shutdown) and keep DIR, so start-postgres.sh DIR can start it again.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
dir="${1:?usage: stop-postgres.sh DIR [--keep]}"
keep="${2:-}"

as_owner=()
[[ $(id -u) -eq 0 ]] && as_owner=(runuser -u postgres --)

if [[ -f "$dir/data/postmaster.pid" ]]; then
  # Immediate when the data is thrown away anyway: no checkpoint to wait for.
  mode=immediate
  [[ "$keep" == --keep ]] && mode=fast
  "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -m "$mode" -w -t 30 stop >/dev/null 2>&1 || true
fi
if [[ "$keep" != --keep ]]; then
  rm -rf -- "$dir"
fi
