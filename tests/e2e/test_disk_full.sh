#!/usr/bin/env bash
# Disk full (issue 13): the data directory (blobs and SQLite) on a 64 MiB tmpfs. A monolithic push larger
# than the free space, a chunked push that outgrows it, and — with the rest of the disk filled by filler
# files — a small monolithic push and a PATCH must fail with an OCI error body naming the lack of space (no
# hang, no 201); a manifest PUT must either fail so or succeed and pull. Meanwhile /healthz answers, the
# earlier images pull byte-exact, no blob of a failed push is visible, every store file hashes to its
# name, and the failed pushes leave no upload data holding the disk. Once the fillers are removed the same
# pushes succeed. Needs root (mount); skipped otherwise.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init python3
[[ -n "${BERTH:-}" && -x "${BERTH:-}" ]] || fail "BERTH must name the berth binary (got '${BERTH:-}')"
[[ $(id -u) -eq 0 ]] || skip "mounting a tmpfs needs root"
mnt="$WORK/small"
mkdir -p "$mnt"
mount -t tmpfs -o size=64m,mode=0700 berth-e2e-full "$mnt" 2>"$WORK/logs/mount.log" ||
  skip "cannot mount a tmpfs here: $(cat "$WORK/logs/mount.log")"
e2e_on_exit "umount -l '$mnt'"
REG_LOG="$WORK/logs/registry.log"
mkdir -p "$mnt/data"

step "pushes on a 64 MiB tmpfs until it is full, checks, free, push again"
rc=0
args=()
[[ -z "${CRASH_SEED:-}" ]] || args+=(--seed "$CRASH_SEED")
timeout --kill-after=10 150 python3 "$E2E_LIB_DIR/crash_push.py" diskfull --berth "$BERTH" --data "$mnt/data" \
  --server-log "$REG_LOG" --fill-dir "$mnt/filler" "${args[@]}" || rc=$?
((rc != 124)) || fail "crash_push.py diskfull timed out (a hang on a full disk?)"
((rc == 0)) || fail "crash_push.py diskfull failed (exit $rc): see FAIL above"
