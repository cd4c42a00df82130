#!/usr/bin/env bash
# Runs the libFuzzer targets of a BERTH_FUZZ build (tests/fuzz/CMakeLists.txt), one after the other.
# Usage: tests/fuzz/run.sh BUILD_DIR (--each SECONDS | --total SECONDS) [TARGET...]
#   --each   every target that long (make fuzz)
#   --total  all targets together about that long, shared equally (make fuzz-short, in make test)
# Each target starts from its seeds (tests/fuzz/corpus/TARGET, never written to) and from what earlier
# runs found (BUILD_DIR/fuzz-corpus/TARGET, where new inputs go). A crash, a sanitizer report, a failed
# invariant, a timeout (10 s for one input) or running out of memory (2 GiB) fails the run; the input is
# saved as BUILD_DIR/fuzz-artifacts/TARGET-crash-… (reproduce: BUILD_DIR/tests/fuzz/fuzz_TARGET FILE).
# Every target runs even after one failed; the exit status is 1 if any failed.
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR (--each SECONDS | --total SECONDS) [TARGET...]" >&2; exit 2; }
(($# >= 3)) || usage
build="$1" mode="$2" seconds="$3"
shift 3
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || usage
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

targets=("$@")
if ((${#targets[@]} == 0)); then
  [[ -f "$build/fuzzers.txt" ]] || { echo "$0: no $build/fuzzers.txt: configure with -DBERTH_FUZZ=ON" >&2; exit 2; }
  mapfile -t targets <"$build/fuzzers.txt"
fi
case "$mode" in
  --each) each="$seconds" ;;
  # About a second of each target's time goes to starting it and re-reading its corpus.
  --total) each=$(((seconds - ${#targets[@]}) / ${#targets[@]})); ((each > 0)) || each=1 ;;
  *) usage ;;
esac

# Symbolized reports: the llvm-symbolizer of the same LLVM (install-deps.sh installs llvm-15).
if [[ -z "${ASAN_SYMBOLIZER_PATH:-}" && -x /usr/lib/llvm-15/bin/llvm-symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-15/bin/llvm-symbolizer
fi
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

mkdir -p "$build/fuzz-corpus" "$build/fuzz-artifacts" "$build/fuzz-logs"
failed=()
start=$SECONDS
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz_$t"
  [[ -x "$bin" ]] || { echo "$0: $bin is not built" >&2; exit 2; }
  mkdir -p "$build/fuzz-corpus/$t"
  log="$build/fuzz-logs/$t.log"
  status=0
  "$bin" -max_total_time="$each" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$t-" "$build/fuzz-corpus/$t" "$src/corpus/$t" >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)"
  corpus="$(find "$build/fuzz-corpus/$t" -type f | wc -l)"
  if ((status == 0)); then
    printf 'fuzz %-14s ok      %9s runs in %ss (%s/s), %s, %s inputs found so far\n' \
      "$t" "${runs:-?}" "$each" "${speed:-?}" "${cov:-cov: ?}" "$corpus"
  else
    failed+=("$t")
    printf 'fuzz %-14s FAILED  (exit %s) after %s runs; the report (all of it in %s):\n' "$t" "$status" "${runs:-?}" "$log"
    grep -E -A40 '^==[0-9]+==ERROR|runtime error|^fuzz: |ERROR: libFuzzer' "$log" | head -60 | sed 's/^/    /'
    grep -E '^artifact_prefix|Test unit written to' "$log" | sed 's/^/    /' || true
  fi
done
echo "fuzz: ${#targets[@]} targets, ${each}s each, $((SECONDS - start))s in all"
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]} (once fixed, add the input to tests/fuzz/corpus/TARGET/)" >&2
  exit 1
fi
