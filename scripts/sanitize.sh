#!/usr/bin/env bash
# Builds kmsd under the sanitizers (CMakePresets.json) and runs the tests there:
#   asan  AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer: every ctest test,
#         then the end-to-end suite against the ASan kmsd binary
#   tsan  ThreadSanitizer: the concurrency tests (storage: the registry, its committer and
#         readers; integration: the real server with many connections, stop, group commit)
# Exits non-zero on any test failure or sanitizer report.
#
#   scripts/sanitize.sh              both stages
#   scripts/sanitize.sh asan|tsan    one stage
#
# The e2e fixtures start kmsd as a child process; its sanitizer reports go to files under a
# fresh directory (ASAN_OPTIONS log_path), which are printed and fail the run if any exist.
# JOBS (default 2) sets the build and ctest parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs="${JOBS:-2}"
stages=("$@")
if ((${#stages[@]} == 0)); then stages=(asan tsan); fi

# The ctest runs take their sanitizer options from the test presets (CMakePresets.json);
# the e2e run uses the same ASan/UBSan options plus log_path.
asan_options="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
asan_options+=":detect_stack_use_after_return=1:check_initialization_order=1"
ubsan_options="print_stacktrace=1:halt_on_error=1"

failed=()  # steps that failed; every step runs, the exit status reports them all

log() { printf '\n== sanitize: %s\n' "$*"; }

step() {  # step <name> <command...>: runs the command, records a failure, carries on
  local name="$1" start=$SECONDS
  shift
  log "$name"
  if "$@"; then
    log "$name: ok ($((SECONDS - start))s)"
  else
    log "$name: FAILED ($((SECONDS - start))s)"
    failed+=("$name")
    return 1
  fi
}

build() {  # build <preset> [target...]
  local preset="$1"
  shift
  local targets=()
  if (($#)); then targets=(--target "$@"); fi
  cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset" -j"$jobs" "${targets[@]}"
}

tsan_targets=(kms_storage_test kms_integration_test)

e2e_asan() {
  local report_dir rc=0
  report_dir="$(mktemp -d /tmp/kmsd-asan-reports.XXXXXX)"
  # The soak's memory bound is not checked under ASan (test_soak.py), so a shorter soak
  # serves there: it still runs every operation of the mix under ASan for 20 s.
  KMSD_BIN="$PWD/build/asan/server/kmsd" KMSD_SANITIZER=asan KMSD_SOAK_SECONDS=20 \
    ASAN_OPTIONS="$asan_options:log_path=$report_dir/kmsd" \
    UBSAN_OPTIONS="$ubsan_options:log_path=$report_dir/kmsd" \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e || rc=$?
  if compgen -G "$report_dir/*" >/dev/null; then
    for f in "$report_dir"/*; do
      printf '\n---- %s\n' "$f"
      cat "$f"
    done
    echo "sanitize: kmsd wrote sanitizer reports during e2e (above)" >&2
    rc=1
  fi
  rm -rf "$report_dir"
  return "$rc"
}

for stage in "${stages[@]}"; do
  case "$stage" in
    asan)
      if step "asan: build" build asan; then
        step "asan: ctest (all)" ctest --preset asan -j"$jobs" || true
        step "asan: e2e against build/asan/server/kmsd" e2e_asan || true
      fi
      ;;
    tsan)
      if step "tsan: build" build tsan "${tsan_targets[@]}"; then
        step "tsan: ctest (storage + integration)" \
          ctest --preset tsan -j"$jobs" -R "^($(IFS='|'; echo "${tsan_targets[*]}")):" || true
      fi
      ;;
    *)
      echo "usage: $0 [asan] [tsan]" >&2
      exit 2
      ;;
  esac
done

if ((${#failed[@]})); then
  printf '\nsanitize: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
printf '\nsanitize: all stages passed\n'
