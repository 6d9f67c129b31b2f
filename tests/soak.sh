#!/usr/bin/env bash
# Soak: racing shells and injected faults against one mount for a set
# time, on an ASan/UBSan build (or a release build). Not part of the
# README test command.
#
#   bash tests/soak.sh [SECONDS [asan|release [SHELLS]]]   (600 asan 8)
#
# Eight shells (by default) run the race mixes of tests/integration/race.sh
# (starts, signals, freeze, orphans, clone, rmdir), while a fault shell
# kills runs' processes (only the daemon's own children, by pid) and
# readers in the middle of a read, and a watch shell looks for processes
# of ours stuck in D state. It fails on a sanitizer report, a leak, a
# crash, a process of ours in D state for more than 5 s, a hung shell,
# or a process or cgroup left after the final stop; it prints its counts.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
SOAK_SECS=${1:-600}
kind=${2:-asan}
SOAK_SHELLS=${3:-8}
build=$top/build-soak-$kind
case $kind in
asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DSPAWNFS_SANITIZE=ON) ;;
release) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
*) echo "usage: $0 [SECONDS [asan|release [SHELLS]]]" >&2; exit 2 ;;
esac
bash "$top/scripts/deps.sh"
cmake -S "$top" -B "$build" "${flags[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target spawnfs >/dev/null
export SPAWNFS=$build/spawnfs HELPERS=$build/tests/helpers
[ "$kind" = asan ] && export SPAWNFS_SANITIZED=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# shellcheck source=integration/lib.sh
. "$top/tests/integration/lib.sh"
# shellcheck source=integration/race.sh
. "$top/tests/integration/race.sh"
mount_fs

# descends PID ANCESTOR: PID is ANCESTOR or below it.
descends() {
	local p=$1 n=0
	while [ "$p" -gt 1 ] && [ $n -lt 64 ]; do
		[ "$p" = "$2" ] && return 0
		p=$(stat_field "$p" 4)
		[ -n "$p" ] || return 1
		n=$((n + 1))
	done
	return 1
}

# fault_worker END: until END (seconds since the epoch), every 0.3 s:
# KILL one of the daemon's children (a run's leader or an orphan), or a
# reader in the middle of its read. Writes its count to $WORK/faults.
fault_worker() {
	local end=$1 n=0 kids pick d
	while [ "$(date +%s)" -lt "$end" ]; do
		case $((n % 2)) in
		0)
			kids=$(children_of "$DAEMON_PID" | shuf -n 1) || true
			[ -z "$kids" ] || kill -9 "$kids" 2>/dev/null || true ;;
		1)
			d=$(find "$MNT" -mindepth 1 -maxdepth 1 -type d \
				! -name by-pid 2>/dev/null | shuf -n 1) || true
			[ -z "$d" ] || timeout -s KILL 0.2 cat "$d/stdout" \
				>/dev/null 2>&1 || true ;;
		esac
		n=$((n + 1))
		sleep 0.3
	done
	echo "$n" >"$WORK/faults"
}

# watch_worker END: every second, any process of ours (below this
# shell or the daemon) in D state; one seen so for more than 5 s fails.
watch_worker() {
	local end=$1 pid st first
	declare -A since=()
	while [ "$(date +%s)" -lt "$end" ]; do
		for pid in $(proc_table | awk '$3 == "D" { print $1 }' || true); do
			descends "$pid" $$ || descends "$pid" "$DAEMON_PID" ||
				continue
			first=${since[$pid]:-$(date +%s)}
			since[$pid]=$first
			if [ $(($(date +%s) - first)) -gt 5 ]; then
				st=$(cat "/proc/$pid/stack" 2>/dev/null | head -5)
				echo "D state > 5 s: $pid $(tr '\0' ' ' \
					<"/proc/$pid/cmdline" 2>/dev/null) $st" \
					>"$WORK/dstate"
				return 0
			fi
		done
		for pid in "${!since[@]}"; do
			[ "$(proc_state "$pid")" = D ] || unset "since[$pid]"
		done
		sleep 1
	done
}

end=$(($(date +%s) + SOAK_SECS))
fault_worker "$end" &
FAULT=$!
watch_worker "$end" &
WATCH=$!
echo "soak: $kind build, $SOAK_SHELLS shells for $SOAK_SECS s"
rounds=$(race_run "$SOAK_SHELLS" "$SOAK_SECS" 100000000 "$RACE_MIXES") ||
	fail "a racing shell hung"
wait "$FAULT" "$WATCH" || true
[ ! -s "$WORK/dstate" ] || fail "$(cat "$WORK/dstate")"
kill -0 "$DAEMON_PID" 2>/dev/null || fail "the daemon died"
race_sweep
[ -z "$(slots)" ] || fail "slots left: $(slots)"
wait_until 20 metric_is spawnfs_processes 0 ||
	fail "processes left: $(metric spawnfs_processes)"
started=$(metric spawnfs_runs_started_total)
failed=$(metric spawnfs_runs_failed_total)
orphans=$(metric spawnfs_orphans_reaped_total)
rss=$(daemon_rss_kb)
fds=$(daemon_fds)
stop_clean
grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$DAEMON_LOG" &&
	fail "a sanitizer report"
esc=$(systemd-escape --path "$MNT")
left=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "spawnfs-$esc*" | head -3)
[ -z "$left" ] || fail "cgroups left: $left"
[ -z "$(daemon_pids)" ] || fail "daemon processes left: $(daemon_pids)"
echo "soak: $rounds rounds, $started runs started, $failed starts failed," \
	"$orphans orphans reaped, $(cat "$WORK/faults") faults;" \
	"daemon at the end: ${rss} KiB RSS, $fds fds; SIGTERM exit in $STOP_DT ms"
ok "soak of $SOAK_SECS s: no crash, report, leak, hang or leftover"
