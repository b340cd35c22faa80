#!/usr/bin/env bash
# Runs every fuzz target for N seconds over its checked-in corpus (fuzz/<target>/corpus).
# New inputs go to a scratch folder so the checked-in corpus only changes on purpose.
set -euo pipefail
build=$1; secs=${2:-60}
cd "$(dirname "$0")/.."
status=0
for bin in "$build"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=${bin##*/fuzz_}
  scratch=$(mktemp -d)
  args=(-max_total_time="$secs" -print_final_stats=1 -detect_leaks=1 -rss_limit_mb=2048)
  for d in "fuzz/$name/dict" "fuzz/$name"/*.dict; do
    [ -f "$d" ] && { args+=(-dict="$d"); break; }
  done
  corpus=()
  [ -d "fuzz/$name/corpus" ] && corpus=("fuzz/$name/corpus")
  echo "== fuzz $name for ${secs}s"
  if ! "$bin" "${args[@]}" -artifact_prefix="$scratch/" "$scratch" "${corpus[@]}" >"$scratch/log" 2>&1; then
    tail -n 60 "$scratch/log"; status=1
    echo "fuzz $name FAILED; artifacts in $scratch"
  else
    grep -E "stat::number_of_executed_units|Done" "$scratch/log" | tail -n 2
  fi
done
exit $status
