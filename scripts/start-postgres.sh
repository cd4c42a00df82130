#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 server for tests, from Debian's postgresql-15 package.
#
# Usage: scripts/start-postgres.sh [DIR]
#   DIR  where the cluster lives (created if missing; default: a new temporary directory). If DIR already
#        holds a cluster started by this script (and since stopped with stop-postgres.sh DIR --keep), it
#        is started again on the same port, so tests can restart a server under a connected client.
# Prints the connection URL (postgresql://berth@127.0.0.1:PORT/postgres) on stdout and, on stderr,
# "dir: DIR" so a caller that did not pass DIR knows what to give stop-postgres.sh.
#
# The server listens on 127.0.0.1 only, trusts local TCP connections (it is a scratch server) except
# for the role "berth_pw", which must authenticate with a password (tests use it to check that
# passwords never leak into error messages), and runs without fsync: durability is not under test.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
if [[ ! -x "$PG_BIN/initdb" || ! -x "$PG_BIN/pg_ctl" ]]; then
  echo "start-postgres: $PG_BIN/initdb not found: install postgresql-15 (scripts/install-deps.sh test)" >&2
  exit 2
fi

dir="${1:-}"
if [[ -z "$dir" ]]; then
  # tmpfs when there is one: initdb there takes a third of a second instead of over one.
  base="${TMPDIR:-/tmp}"
  [[ -d /dev/shm && -w /dev/shm ]] && base=/dev/shm
  dir="$(mktemp -d "$base/berth-pg-XXXXXX")"
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

# initdb and postgres refuse to run as root: hand the directory to an unprivileged user.
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  owner=postgres
  if ! id -u "$owner" >/dev/null 2>&1; then
    echo "start-postgres: running as root but there is no '$owner' user to run the server as" >&2
    exit 2
  fi
  chown "$owner:" "$dir"
  as_owner=(runuser -u "$owner" --)
fi

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  else
    echo $((20000 + RANDOM % 40000))
  fi
}

if [[ ! -f "$dir/data/PG_VERSION" ]]; then
  # --no-sync: a scratch cluster need not survive a power cut, and fsyncing it costs seconds.
  "${as_owner[@]}" "$PG_BIN/initdb" -D "$dir/data" -U berth --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    --no-sync --no-instructions >"$dir/initdb.log" 2>&1 || {
    echo "start-postgres: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    exit 1
  }
  cat >"$dir/data/pg_hba.conf" <<'EOF'
local all all               trust
host  all berth_pw 127.0.0.1/32 scram-sha-256
host  all all      127.0.0.1/32 trust
EOF
fi

# A port picked as free can be taken before the server binds it: try a few.
for attempt in 1 2 3 4 5; do
  if [[ -f "$dir/port" && $attempt -eq 1 ]]; then
    port="$(cat "$dir/port")"
  else
    port="$(free_port)"
  fi
  if "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start -o \
    "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c fsync=off \
     -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null 2>&1; then
    echo "$port" >"$dir/port"
    echo "dir: $dir" >&2
    echo "postgresql://berth@127.0.0.1:$port/postgres"
    exit 0
  fi
done
echo "start-postgres: the server did not start; last lines of $dir/server.log:" >&2
tail -n 20 "$dir/server.log" >&2 || true
exit 1
