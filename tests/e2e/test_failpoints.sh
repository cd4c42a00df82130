#!/usr/bin/env bash
# Failure points (issue 13): for every point of src/common/failpoint.h, `berth serve` is started with
# BERTH_FAILPOINT=<point> (and again with <point>:4 and <point>:12, the 4th and 12th hits), pushed to from two threads until it
# dies with exit status 137 at that point, restarted without it, and checked (crash_push.py failpoints):
# no blob served or stored whose bytes differ from its digest, every acknowledged push pulls, the
# interrupted push is resumed or redone to a 201; at the end every blob is re-hashed, SQLite
# integrity_check and berth fsck --verify. Prints one FAILPOINT line per point with what happened.
# The points are compiled into the normal build (CMake option BERTH_FAILPOINTS, default ON); a binary
# built with -DBERTH_FAILPOINTS=OFF has none, and this test is skipped.
#   FAILPOINTS    comma-separated subset of the points (default: all)
#   CRASH_SEED    seed of the random choices (default: from the clock; printed)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init python3
[[ -n "${BERTH:-}" && -x "${BERTH:-}" ]] || fail "BERTH must name the berth binary (got '${BERTH:-}')"
grep -qa 'blob.before_fsync' "$BERTH" || skip "$BERTH was built without failure points (-DBERTH_FAILPOINTS=OFF)"
REG_LOG="$WORK/logs/registry.log"
mkdir -p "$REG_DATA"

step "every failure point: push until the server dies there, restart, check, redo"
rc=0
args=()
[[ -z "${CRASH_SEED:-}" ]] || args+=(--seed "$CRASH_SEED")
[[ -z "${FAILPOINTS:-}" ]] || args+=(--points "$FAILPOINTS")
python3 "$E2E_LIB_DIR/crash_push.py" failpoints --berth "$BERTH" --data "$REG_DATA" --server-log "$REG_LOG" \
  --workers 2 "${args[@]}" || rc=$?
((rc == 0)) || fail "crash_push.py failpoints failed (exit $rc): see FAIL above"
