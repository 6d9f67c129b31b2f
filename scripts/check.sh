#!/usr/bin/env bash
# Static checks, run before any build: clang-format (the repository's
# .clang-format) over every tracked .c and .h, and cppcheck over src/ and
# include/, where any finding not in the baseline .cppcheck-suppressions
# fails. Each checker first shows it can fail: a mis-formatted file and
# a file with a known cppcheck finding must be rejected, and their clean
# twins accepted. Debian 12's clang-format 14 and cppcheck 2.10 are what
# the tree and the baseline are kept clean for (scripts/deps.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/spawnfs-check.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# format_check FILE...: every FILE is formatted as .clang-format says.
format_check() {
	clang-format --style="file:$top/.clang-format" --dry-run -Werror "$@"
}

# lint PATH...: cppcheck finds nothing outside the baseline.
lint() {
	cppcheck -q --std=c11 --enable=warning,style,performance,portability \
		--inconclusive --library=posix -I "$top/include" \
		-D_GNU_SOURCE -DFUSE_USE_VERSION=314 '-DSPAWNFS_VERSION="0"' \
		--suppressions-list="$top/.cppcheck-suppressions" \
		--template=gcc --error-exitcode=1 -j "$(nproc)" "$@"
}

# expect RESULT WHAT CMD...: CMD passes (RESULT pass) or fails (fail).
expect() {
	local want=$1 what=$2 got=pass
	shift 2
	"$@" >"$TMP/out" 2>&1 || got=fail
	[ "$got" = "$want" ] && return 0
	echo "check.sh: self-test: $what: wanted $want, got $got" >&2
	cat "$TMP/out" >&2
	exit 1
}

self_test() {
	printf 'int one(void)\n{\n\treturn 1;\n}\n' >"$TMP/good.c"
	printf 'int one(void){return 1;}\n' >"$TMP/bad_format.c"
	printf '%s\n' 'int two(void)' '{' '	int a[2] = {0, 0};' '' \
		'	return a[2];' '}' >"$TMP/bad_lint.c"
	expect pass "clang-format on a formatted file" format_check "$TMP/good.c"
	expect fail "clang-format on a mis-formatted file" \
		format_check "$TMP/bad_format.c"
	expect pass "cppcheck on a clean file" lint "$TMP/good.c"
	expect fail "cppcheck on a[2] of int a[2]" lint "$TMP/bad_lint.c"
}

tracked_sources() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -- '*.c' '*.h'
	else
		find src include tests -name '*.[ch]' | sort
	fi
}

echo "check: $(clang-format --version | head -n 1); $(cppcheck --version)"
self_test
mapfile -t sources < <(tracked_sources)
[ ${#sources[@]} -gt 0 ] || { echo "check.sh: no sources found" >&2; exit 1; }
rc=0
format_check "${sources[@]}" ||
	{ echo "check.sh: clang-format: the files above need formatting" >&2; rc=1; }
lint src include ||
	{ echo "check.sh: cppcheck: findings not in .cppcheck-suppressions" >&2; rc=1; }
[ "$rc" = 0 ] && echo "check: ${#sources[@]} files formatted; cppcheck clean"
exit "$rc"
