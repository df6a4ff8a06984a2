#!/usr/bin/env bash
# Sets everything up, builds kmsd and serves on http://127.0.0.1:4599 with its embedded
# SQLite store in ./kmsd-data. Extra arguments go to kmsd (see `kmsd --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DKMSD_BUILD_TESTS=OFF -DKMSD_STATIC=ON >/dev/null
cmake --build build/release -j"$(nproc)" --target kmsd
exec build/release/server/kmsd "$@"
