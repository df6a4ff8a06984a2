#!/usr/bin/env bash
# Sets everything up, builds kmsd with warnings as errors and runs every test:
# Catch2 unit and integration tests (ctest), then the end-to-end suite that starts the
# real kmsd binary and drives it with boto3, the AWS CLI and the AWS SDK for JavaScript v3,
# together with the benchmark package's unit tests (bench/tests: statistics, parsing, floors,
# report format; offline, a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKMSD_WERROR=ON >/dev/null
cmake --build build/test -j"$(nproc)"
(cd build/test && ctest --output-on-failure -j"$(nproc)")
KMSD_BIN="$PWD/build/test/server/kmsd" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e bench/tests
