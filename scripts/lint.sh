#!/usr/bin/env bash
# Fails when clang-format (the repository's .clang-format, clang-format-14) would change any
# C++ file git tracks, and names each file and line. Fix with:
#   git ls-files '*.cpp' '*.hpp' | xargs clang-format-14 -i
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --lint
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if ! clang-format-14 --dry-run --Werror "${files[@]}"; then
  echo "lint: clang-format would change the files above; run:" >&2
  echo "  git ls-files '*.cpp' '*.hpp' | xargs clang-format-14 -i" >&2
  exit 1
fi
echo "lint: ${#files[@]} C++ files formatted as .clang-format says"
