#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz) with clang-14 and runs each one for a while,
# starting from its committed seed corpus:
#   scripts/fuzz.sh            60 seconds per harness
#   scripts/fuzz.sh 600        10 minutes per harness
#   scripts/fuzz.sh 30 fuzz_blob fuzz_json     only these harnesses
# Exits non-zero if any harness finds a crash, a leak, a sanitizer report or a broken
# invariant; the input that triggered it is kept under build/fuzz/findings/<harness>/ (and
# printed as a reproduction command). Each run fuzzes a temporary copy of the corpus, so the
# repository is never modified; to keep new inputs, merge them in by hand (tests/fuzz/README.md).
# JOBS (default 2) sets the build parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then  # libFuzzer reads -max_total_time=0 as "forever"
  echo "usage: scripts/fuzz.sh [seconds-per-harness >= 1] [harness...]" >&2
  exit 2
fi
harnesses=("$@")
if ((${#harnesses[@]} == 0)); then harnesses=(fuzz_dispatch fuzz_json fuzz_blob fuzz_config fuzz_http); fi
jobs="${JOBS:-2}"
build=build/fuzz

scripts/setup.sh --fuzz

start=$SECONDS
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKMSD_BUILD_FUZZERS=ON -DKMSD_BUILD_TESTS=OFF -DKMSD_WERROR=ON >/dev/null
cmake --build "$build" --target "${harnesses[@]}" -j"$jobs"
echo "fuzz: built in $((SECONDS - start))s"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

work="$(mktemp -d /tmp/kmsd-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
failed=()
summary=()
for h in "${harnesses[@]}"; do
  corpus="$work/$h"
  findings="$build/findings/$h"
  mkdir -p "$corpus" "$findings"
  cp tests/fuzz/corpus/"$h"/* "$corpus"/
  seeds=$(find "$corpus" -type f | wc -l)
  echo "fuzz: $h for ${seconds}s ($seeds seeds)"
  rc=0
  "$build/tests/fuzz/$h" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$findings/" >"$work/$h.log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log")
  size=$(find "$corpus" -type f | wc -l)
  # A sanitizer report that did not stop the run (none should: recovery is off) fails it too.
  if ((rc != 0)) || grep -qE '^(==[0-9]+==ERROR|SUMMARY: )|runtime error:' "$work/$h.log"; then
    failed+=("$h")
    tail -n 60 "$work/$h.log"
    for f in "$findings"/*; do
      [[ -e "$f" ]] && echo "fuzz: reproduce with: $build/tests/fuzz/$h $f"
    done
    summary+=("$h: FAILED (exit $rc) after ${runs:-?} executions")
  else
    summary+=("$h: ok, ${runs:-?} executions, corpus $seeds -> $size inputs")
  fi
done

echo
echo "fuzz: ${seconds}s per harness, total $((SECONDS - start))s"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
