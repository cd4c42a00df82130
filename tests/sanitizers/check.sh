#!/usr/bin/env bash
# Reads the sanitizer reports of a `make sanitize` or `make tsan` run and fails if there is any.
# Usage: tests/sanitizers/check.sh LOG_DIR
#
# The Makefile points every sanitizer's log_path at LOG_DIR/report, so each process that reports writes
# LOG_DIR/report.<pid>: the test binaries, and the `berth serve` and `berth admin` processes they start,
# whose stderr goes to a log the tests delete (and which some tests read). Without this step a report from
# a server child would fail no test unless the server died in the middle of one.
# Prints each distinct report once (keyed by its SUMMARY line) with how many processes made it.
set -euo pipefail
dir="${1:?usage: $0 LOG_DIR}"
shopt -s nullglob
files=("$dir"/report.*)
if ((${#files[@]} == 0)); then
  echo "sanitizers: no reports in $dir"
  exit 0
fi

declare -A count first
order=()
for f in "${files[@]}"; do
  # One file may hold several reports (TSan goes on after a race); each ends with its SUMMARY line.
  summaries="$(grep -h '^SUMMARY: ' "$f" || true)"
  [[ -n "$summaries" ]] || summaries="(no SUMMARY line: $(head -c 200 "$f" | head -3 | tr '\n' ' '))"
  while IFS= read -r s; do
    key="$(sed -E 's/0x[0-9a-f]+/0x…/g; s/\(pid=[0-9]+\)//' <<<"$s")"
    if [[ -z "${count[$key]:-}" ]]; then
      count[$key]=0
      first[$key]="$f"
      order+=("$key")
    fi
    count[$key]=$((count[$key] + 1))
  done <<<"$summaries"
done

echo "sanitizers: FAILED: ${#files[@]} process(es) reported, ${#order[@]} distinct finding(s) (all in $dir):" >&2
for key in "${order[@]}"; do
  echo "----- ${count[$key]}x $key" >&2
  echo "      first in ${first[$key]}:" >&2
  # The report that carries this SUMMARY (up to it), else the whole file; long stacks cut.
  awk -v want="$key" '
    { buf = buf $0 "\n"; n++ }
    /^SUMMARY: / { line = $0; gsub(/0x[0-9a-f]+/, "0x…", line); gsub(/\(pid=[0-9]+\)/, "", line)
                   if (line == want) { printf "%s", buf; found = 1; exit } buf = ""; n = 0 }
    END { if (!found) printf "%s", buf }
  ' "${first[$key]}" | head -120 | sed 's/^/      /' >&2
done
exit 1
