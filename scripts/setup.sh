#!/usr/bin/env bash
# Installs what kmsd needs on Debian bookworm. Idempotent and quiet when all is present.
#   scripts/setup.sh          build dependencies only
#   scripts/setup.sh --test   build and test dependencies (boto3, pytest, AWS CLI, Node SDK)
#   scripts/setup.sh --bench  build dependencies and the load generator (wrk) for bench/run
#   scripts/setup.sh --fuzz   build dependencies, clang-14 and libFuzzer for scripts/fuzz.sh
#   scripts/setup.sh --lint   clang-format-14 for scripts/lint.sh
#   scripts/setup.sh --clang  build dependencies, clang-14 and clang-tidy-14 for scripts/clang_checks.sh
# Flags combine: scripts/setup.sh --test --bench installs both sets.
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(cmake g++ make ccache libboost1.81-dev rapidjson-dev libssl-dev libsqlite3-dev catch2)
test_pkgs=(python3 python3-boto3 python3-pytest awscli nodejs npm)
bench_pkgs=(python3 wrk)
fuzz_pkgs=(clang-14 libclang-rt-14-dev)
lint_pkgs=(clang-format-14)
clang_pkgs=(clang-14 clang-tidy-14)

want=("${build_pkgs[@]}")
with_test=0
for flag in "$@"; do
  case "$flag" in
    --test) want+=("${test_pkgs[@]}"); with_test=1 ;;
    --bench) want+=("${bench_pkgs[@]}") ;;
    --fuzz) want+=("${fuzz_pkgs[@]}") ;;
    --lint) want+=("${lint_pkgs[@]}") ;;
    --clang) want+=("${clang_pkgs[@]}") ;;
    *) echo "setup: unknown option $flag (known: --test --bench --fuzz --lint --clang)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  # nodejs from NodeSource bundles npm; accept an npm on PATH instead of Debian's package.
  if [[ "$p" == npm ]] && command -v npm >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

if ((with_test)); then
  # The AWS SDK for JavaScript v3, pinned by tests/e2e/node/package-lock.json.
  if [[ ! -d tests/e2e/node/node_modules/@aws-sdk/client-kms ]]; then
    echo "setup: installing @aws-sdk/client-kms (npm ci)"
    (cd tests/e2e/node && npm ci --no-audit --no-fund --loglevel=error </dev/null)
  fi
fi
