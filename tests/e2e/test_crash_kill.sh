#!/usr/bin/env bash
# Crash injection (issue 13): `berth serve` (filesystem storage + SQLite) under mixed pushes from three
# threads — monolithic (POST ?digest= with the body, POST + PUT with the body), chunked (POST, PATCH×n,
# PUT) and streamed (PATCH with Transfer-Encoding: chunked) random blobs plus manifests by tag and by
# digest — is killed with SIGKILL at random moments (1 in 10 restarts is killed again during its start),
# restarted, and checked by crash_push.py after every restart (new blob files re-hashed, newly
# acknowledged blobs and manifests pulled) and at the end (every file of the blob store re-hashed directly
# and through the API, every 201 pulls byte-exact, every tag, SQLite integrity_check, berth fsck --verify).
# Interrupted uploads resume from the offset GET on the upload URL reports, which must be at or past the
# last acknowledged one. Prints KILLS_SURVIVED=<n>.
#   KILLS               kills (default 200: the CI run, ~2-3 min); KILLS=1000 for a longer run, e.g.
#                       BERTH=build/src/cli/berth KILLS=1000 bash tests/e2e/test_crash_kill.sh
#                       (not through ctest, whose timeout for this test is 420 s)
#   CRASH_WORKERS       push threads (default 3)
#   CRASH_SEED          seed of the random choices (default: from the clock; printed, to replay a failure)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init python3
[[ -n "${BERTH:-}" && -x "${BERTH:-}" ]] || fail "BERTH must name the berth binary (got '${BERTH:-}')"
kills="${KILLS:-200}"
REG_LOG="$WORK/logs/registry.log"
mkdir -p "$REG_DATA"

step "push from ${CRASH_WORKERS:-3} threads under $kills SIGKILLs, restart and check after each"
rc=0
seed_args=()
[[ -z "${CRASH_SEED:-}" ]] || seed_args=(--seed "$CRASH_SEED")
python3 "$E2E_LIB_DIR/crash_push.py" kill --berth "$BERTH" --data "$REG_DATA" --server-log "$REG_LOG" \
  --kills "$kills" --workers "${CRASH_WORKERS:-3}" --max-seconds "$((kills * 3 / 2 + 60))" "${seed_args[@]}" || rc=$?
((rc == 0)) || fail "crash_push.py kill failed (exit $rc): see FAIL above"
