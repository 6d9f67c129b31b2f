#!/usr/bin/env bash
# Build the libFuzzer harnesses of tests/fuzz (ctl parser, config parser,
# JSON renderer, the upgrade's saved state) with ASan and UBSan into build-fuzz/, and run each for
# FUZZ_SECONDS (default 60) on a scratch copy of its seed corpus. Crash
# files go to build-fuzz/; the repository is not modified. Fails when any
# harness fails. FUZZ_ONLY="json" (names separated by spaces) runs only
# those harnesses.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build-fuzz
seconds=${FUZZ_SECONDS:-60}
cc=${FUZZ_CC:-clang}

version=$(sed -n 's/^project(spawnfs VERSION \([0-9.]*\).*/\1/p' \
	"$top/CMakeLists.txt")
sanitizers=fuzzer,address,undefined
cflags=(-std=c11 -D_GNU_SOURCE -DSPAWNFS_VERSION="\"$version\""
	-DFUSE_USE_VERSION=314 -I"$top/include" -g -O1
	-fno-omit-frame-pointer -fsanitize="$sanitizers"
	-fno-sanitize-recover=all -Wall -Wextra -Wshadow -Wstrict-prototypes
	-Wmissing-prototypes -Wformat=2 -Wvla -Werror)

# name, max_len, sources from src/ (joined by +), extra link flags
harnesses=(
	"ctl 200000 ctl.c"
	"config 4096 config.c $(pkg-config --libs inih)"
	"json 16384 events.c+json.c+jscan.c"
	"state 65536 state.c+settings.c+outcome.c+restart.c+ctl.c+arena.c+ring.c+spawn.c+log.c"
)

mkdir -p "$out"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/spawnfs-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

build() { # NAME SRC[+SRC...] [LDFLAGS...]
	local name=$1 srcs=() f
	IFS=+ read -ra srcs <<<"$2"
	shift 2
	"$cc" "${cflags[@]}" -o "$out/fuzz_$name" \
		"$top/tests/fuzz/fuzz_$name.c" \
		$(for f in "${srcs[@]}"; do echo "$top/src/$f"; done) "$@"
}

# Seeds the repository does not hold: lines around and past CTL_LINE_MAX.
long_seeds() { # DIR
	local dir=$1 pad
	pad=$(head -c 65530 /dev/zero | tr '\0' 'a')
	printf 'exec %s\n' "$pad" >"$dir/long-exec"
	printf 'start %s%s\n' "$pad" "$pad" >"$dir/long-start"
	printf 'kill\nenv A=%s\neof\n' "$pad" >"$dir/long-env"
}

run() { # NAME MAX_LEN
	local name=$1 maxlen=$2 rc=0 execs
	local log=$out/fuzz_$name.log
	mkdir -p "$scratch/$name"
	cp -r "$top/tests/fuzz/corpus/$name/." "$scratch/$name/"
	[ "$name" != ctl ] || long_seeds "$scratch/$name"
	"$out/fuzz_$name" -max_total_time="$seconds" -max_len="$maxlen" \
		-timeout=10 -print_final_stats=1 \
		-artifact_prefix="$out/crash-$name-" \
		"$scratch/$name" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ "$rc" -ne 0 ]; then
		echo "fuzz_$name: FAILED (exit $rc) after ${execs:-?} executions; log in $log"
		grep -E 'ERROR|SUMMARY|artifact|runtime error' "$log" | head -20 || true
		return 1
	fi
	echo "fuzz_$name: ${execs:-?} executions in $seconds s, no crash"
}

wanted() { # NAME
	[ -z "${FUZZ_ONLY:-}" ] || [[ " $FUZZ_ONLY " == *" $1 "* ]]
}

failed=0 ran=0
for h in "${harnesses[@]}"; do
	read -r name maxlen src ldflags <<<"$h"
	wanted "$name" || continue
	# shellcheck disable=SC2086 # ldflags is a word list
	build "$name" "$src" $ldflags
done
for h in "${harnesses[@]}"; do
	read -r name maxlen _ <<<"$h"
	wanted "$name" || continue
	ran=$((ran + 1))
	run "$name" "$maxlen" || failed=1
done
[ "$ran" -gt 0 ] || { echo "fuzz.sh: no harness named in FUZZ_ONLY=$FUZZ_ONLY" >&2; exit 2; }
exit "$failed"
