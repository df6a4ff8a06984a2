#!/usr/bin/env bash
# The clang checks, one CI stage (.ci/run, after the format check): clang-tidy-14 with the
# repository's .clang-tidy over every C++ source of base/ config/ crypto/ storage/ server/ (and
# the headers they include from those folders), in one pass that also carries clang's
# thread-safety analysis (-Wthread-safety, base/thread_annotations.hpp) and the build's own
# warning flags. Every finding, of a tidy check or of the compiler, is an error.
#
#   scripts/clang_checks.sh            configure build/clang (preset "clang"), then check
#   scripts/clang_checks.sh --build    also build kmsd with clang++-14 -Wthread-safety -Werror
#                                      (the same diagnostics, plus code generation and linking)
#
# Why one clang-tidy pass and no clang build by default: clang-tidy parses each file with the
# compile command of build/clang's compile_commands.json, and clang runs the thread-safety
# analysis (like every warning) while it parses, template instantiations included; a separate
# clang build would parse every file a second time for no further diagnostic. The gcc build of
# the next stage compiles and links the same code.
# Scope: tests/ and bench/ are left out. They own no lock (the annotated state is all in the
# libraries, which the tests reach through their EXCLUDES'd API), Catch2's macros expand into
# patterns several bugprone checks flag by design, and their ~60 files would double the
# stage's time; gcc builds them with -Werror in the next stage.
#
# Time, measured 2026-12-07 on a clean clone (no build directory, no ccache; the host's 2
# cores shared with three other builds, load ~10): 397 s of CPU (381 s user + 16 s system)
# for the probe, the configure and clang-tidy over 51 files, so ~3.3 min of wall time on an
# idle 2-core host (the wall time under that load was 13 min). The costliest check,
# bugprone-reserved-identifier, is off (.clang-tidy); parsing is about half of the rest.
# For comparison, `--build` (a clang -O0 build of kmsd and its libraries) alone cost 16 min
# of wall time under the same load: that is why the default does not build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --clang

build=0
for flag in "$@"; do
  case "$flag" in
    --build) build=1 ;;
    *) echo "clang_checks: unknown option $flag (known: --build)" >&2; exit 2 ;;
  esac
done

# The analysis must be live: tests/compile_fail/thread_safety.cpp fails without its lock and
# compiles with it (a second each).
probe=(clang++-14 -std=c++20 -fsyntax-only -Wthread-safety -Werror -I.
  tests/compile_fail/thread_safety.cpp)
if probe_out=$("${probe[@]}" 2>&1) || ! grep -q "count_" <<<"$probe_out"; then
  echo "clang_checks: -Wthread-safety did not flag the unguarded write in" \
    "tests/compile_fail/thread_safety.cpp; are the annotations no-ops?" >&2
  exit 1
fi
"${probe[@]}" -DKMS_LOCKED

cmake --preset clang >/dev/null
if ((build)); then
  cmake --build --preset clang
fi

root=$(pwd)
mapfile -t files < <(git ls-files 'base/*.cpp' 'config/*.cpp' 'crypto/*.cpp' 'domain/*.cpp' 'storage/*.cpp' \
  'server/*.cpp')
# One clang-tidy per file, two at a time (run-clang-tidy-14 would do the same, in colour).
# -Wthread-safety comes with the compile commands (CMAKE_CXX_FLAGS of the preset). A finding
# makes clang-tidy exit non-zero (WarningsAsErrors: '*'), and then xargs; "N warnings
# generated" counts what the header filter hid (Boost's, OpenSSL's) and is dropped.
if ! printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 1 clang-tidy-14 -p build/clang --quiet \
    -header-filter="^$root/(base|config|crypto|domain|storage|server)/" \
    2> >(grep -v 'warnings\? generated\.$' >&2); then
  echo "clang_checks: clang-tidy or -Wthread-safety reported the findings above" \
    "(.clang-tidy lists the checks)" >&2
  exit 1
fi
echo "clang_checks: ${#files[@]} files pass clang-tidy and -Wthread-safety"
