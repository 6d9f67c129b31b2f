#!/usr/bin/env bash
# Install, check, build and run every test: static checks (clang-format,
# cppcheck) first, then unit and integration tests on a normal build,
# again under AddressSanitizer + UBSan, and every integration test with
# the daemon under valgrind --track-fds=yes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
bash "$top/scripts/deps.sh"

build() { # DIR CMAKE-ARGS...
	local dir=$1
	shift
	cmake -S "$top" -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j"$jobs" >/dev/null
}

export SPAWNFS_SOURCE_DIR=$top
echo "== static checks"
bash "$top/scripts/check.sh"

echo "== normal build"
build "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd "$top/build" && ctest --output-on-failure)

echo "== AddressSanitizer + UBSan build"
build "$top/build-asan" -DCMAKE_BUILD_TYPE=Debug -DSPAWNFS_SANITIZE=ON
(cd "$top/build-asan" &&
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --output-on-failure)

echo "== daemon under valgrind --track-fds=yes"
# Exit status 99 tells a valgrind report from a plain failure.
(cd "$top/build" &&
	SPAWNFS_WRAP="valgrind -q --track-fds=yes --leak-check=full --error-exitcode=99" \
	ctest --output-on-failure -L integration)

echo "== fuzzers (60 s each)"
bash "$top/scripts/fuzz.sh"
