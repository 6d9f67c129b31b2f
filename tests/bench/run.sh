#!/usr/bin/env bash
# spawnfs benchmarks. One command installs what is missing, builds the
# daemon and the C tools in tests/bench/, mounts scratch trees on a
# temporary directory with a temporary configuration, measures, prints one
# markdown table and cleans up:
#
#   bash tests/bench/run.sh                   full run (4 to 7 minutes on 2 CPUs)
#   BENCH_QUICK=1 bash tests/bench/run.sh     smaller sizes, 3 runs each
#   BENCH_ONLY="latency spawn" bash tests/bench/run.sh   some sections only
#
# Sections: throughput fanout latency mix unattended idle churn spawn files
# scale upgrade peers net. files times one open-read-close of status, ctl
# and metrics with cgroups and with cgroup = off; scale runs up to 9,500
# slots at once (the spawn rate as they pile up, status at 100 and at the
# full count, spawnfs_run_capacity). upgrade measures the pause of an
# upgrade in place (SIGUSR2 until the tree serves again) with 1, 100 and
# 1,000 slots whose stdout and stderr are full; target: under 200 ms at
# 1,000 full slots.
#
# Every figure is the median of RUNS runs (5) unless its row says "once";
# every speed is compared with a baseline measured in the same run (a raw
# pipe, a FIFO, posix_spawn, a regular file, supervisord). Progress goes to
# stderr, the report to stdout. Benchmarks never fail on time: the exit
# status is non-zero only when something is broken (a mount fails, a byte
# count is wrong, a waiting reader is never freed, a daemon hangs). The
# output of the last full run is kept in tests/bench/last-run.md.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC=$ROOT/tests/bench
BIN=$ROOT/build/bench
SPAWNFS=$ROOT/build/spawnfs
START_US=${EPOCHREALTIME/./}
TICK=$(getconf CLK_TCK)
MIB=$((1 << 20))

if [ "${BENCH_QUICK:-0}" != 0 ]; then
	MODE=quick RUNS=3
	TP_BYTES=$((64 * MIB)) YES_BYTES=$((32 * MIB)) FAN_BYTES=$((32 * MIB))
	SV_BYTES=$((2 * MIB))
	LAT_LINES=500 IDLE_SIZES="10 100" IDLE_S=2 CHURN_N=2000 KILL_N=200
	SPAWN_N=50 SHELL_N=20 SCALE_N=1000 WAIT_N=1000 FILES_N=1000
	PEER_IDLE_S=2 UPGRADE_SIZES="1 100 1000"
	MIX_BYTES=$((32 * MIB))
else
	MODE=full RUNS=5
	TP_BYTES=$((1024 * MIB)) YES_BYTES=$((256 * MIB)) FAN_BYTES=$((256 * MIB))
	SV_BYTES=$((4 * MIB))
	LAT_LINES=2000 IDLE_SIZES="10 100 1000" IDLE_S=10 CHURN_N=10000
	KILL_N=1000 SPAWN_N=200 SHELL_N=50 SCALE_N=9500 WAIT_N=10000 FILES_N=3000
	PEER_IDLE_S=10 UPGRADE_SIZES="1 100 1000"
	MIX_BYTES=$((256 * MIB))
fi
JOB_LIMIT=120   # seconds any single reader or writer may take
NOFILE=131072   # RLIMIT_NOFILE asked for each daemon

WORK=$(mktemp -d "${TMPDIR:-/tmp}/spawnfs-bench.XXXXXX")
ROWS=$WORK/rows NOTES=$WORK/notes PROBLEMS=$WORK/problems FIGS=$WORK/figs
DAEMONS=$WORK/daemons
: >"$ROWS"
: >"$NOTES"
: >"$PROBLEMS"
: >"$FIGS"
: >"$DAEMONS"
POLICY_MADE=

# --- reporting

say() {
	local t=${EPOCHREALTIME/./}
	printf '[bench %4ds] %s\n' $(((t - START_US) / 1000000)) "$*" >&2
}

# row NAME SPAWNFS BASELINE RATIO TARGET: one line of the table.
row() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$ROWS"
}

note() {
	printf '%s\n' "$*" >>"$NOTES"
}

# problem TEXT: something is broken; the run will exit non-zero.
problem() {
	say "PROBLEM: $*"
	printf '%s\n' "$*" >>"$PROBLEMS"
}

# broken TEXT: a problem that ends the current section.
broken() {
	problem "$*"
	exit 1
}

# fig KEY VALUE / figv KEY: figures shared between sections.
fig() {
	printf '%s %s\n' "$1" "$2" >>"$FIGS"
}
figv() {
	awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$FIGS"
}

# median VALUE...: the median (mean of the middle two for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
		END { if (NR == 0) print "nan"
		      else if (NR % 2) print a[(NR + 1) / 2]
		      else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# calc EXPR: floating-point arithmetic, printf-formatted by the caller.
calc() {
	awk "BEGIN { print $* }"
}

# fmt FORMAT VALUE
fmt() {
	awk -v f="$1" -v v="$2" 'BEGIN { printf f, v }'
}

# mibps BYTES MICROSECONDS: throughput in MiB/s.
mibps() {
	calc "$1 / 1048576 / ($2 / 1000000)"
}

# ratio A B: "A/Bx", or a dash when B is 0.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (b + 0 == 0) print "—"
		else if (a / b < 0.1) printf "%.3fx\n", a / b
		else printf "%.2fx\n", a / b }'
}

# judge VALUE OP LIMIT TEXT: the target cell, "TEXT (met)" or "(missed)".
judge() {
	local ok
	ok=$(awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { r = 0
		if (op == "<") r = v < l
		if (op == "<=") r = v <= l
		if (op == ">=") r = v >= l
		print r ? "met" : "missed" }')
	printf '%s (%s)' "$4" "$ok"
}

# field KEY "k=v k=v...": the value of KEY in a tool's output line.
field() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

now_us() {
	local t=$EPOCHREALTIME
	echo "${t/./}"
}

# --- daemon figures (DAEMON_PID is the daemon this section started)

dcpu() {
	pcpu "$DAEMON_PID"
}
# pcpu PID: utime + stime in clock ticks (0 once gone).
pcpu() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	s=${s##*) }
	echo "$s" | awk '{ print $12 + $13 }'
}
drss() {
	prss "$DAEMON_PID"
}
prss() {
	awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}
dfds() {
	find "/proc/$DAEMON_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}
dthreads() {
	awk '/^Threads/ { print $2 }' "/proc/$DAEMON_PID/status"
}

# --- mounts: one fresh daemon per section, started by that section

# sec_start NAME [CONFIG LINE...]: a scratch directory, a config file and
# a mount on $MNT; the section's EXIT trap always unmounts and reaps.
sec_start() {
	SEC=$WORK/$1
	MNT=$SEC/mnt
	DAEMON_PID=
	SLOTN=0
	shift
	CONF=$SEC/spawnfs.ini
	DAEMON_LOG=$SEC/daemon.log
	mkdir -p "$MNT"
	printf '%s\n' "$@" >"$CONF"
	trap sec_cleanup EXIT
	trap 'exit 130' INT TERM
	say "== $(basename "$SEC")"
	bench_mount
}

# The mount harness the integration tests use (tests/integration/
# mount.sh): a mount that fails or a daemon that dies is broken, a daemon
# that hangs on exit or exits non-zero is a problem of the section.
# shellcheck source=../integration/mount.sh
. "$ROOT/tests/integration/mount.sh"
fail() { broken "$*"; }
DAEMON_NOFILE=$NOFILE
MOUNT_LIMIT_S=20
UNMOUNT_LIMIT_S=120 # stopping 10000 slots takes a while

# bench_mount, bench_unmount: mount_fs and unmount_fs for a section.
bench_mount() {
	mount_fs
	echo "$DAEMON_PID $MNT" >>"$DAEMONS"
}
bench_unmount() {
	local rc=0
	[ -n "$DAEMON_PID" ] || return 0
	unmount_fs || rc=$?
	cgroup_sweep
	[ "$rc" = 0 ] || problem "daemon exited with status $rc ($SEC): $(tail -n 3 "$DAEMON_LOG" | tr '\n' ' ')"
	return 0
}

sec_cleanup() {
	local rc=$? p
	trap - EXIT
	cd / || true
	# TERM first: timeout(1) passes it on to the reader it runs.
	for p in $(jobs -p); do
		[ "$p" = "${DAEMON_PID:-none}" ] || kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in $(jobs -p); do
		[ "$p" = "${DAEMON_PID:-none}" ] || kill -9 "$p" 2>/dev/null
	done
	[ -n "${SV_PID:-}" ] && stop_supervisord
	bench_unmount
	exit "$rc"
}

# --- slots

# new_slot: mkdir a fresh slot; its path is in SLOT.
new_slot() {
	SLOTN=$((SLOTN + 1))
	SLOT=$MNT/b$SLOTN
	mkdir "$SLOT" || broken "mkdir $SLOT failed"
}

ctl() {
	printf '%s\n' "$2" >"$1/ctl" || broken "ctl '$2' on $1 failed"
}

# logf SLOT LOG KEY: a per-log figure from status.
logf() {
	jq -r ".logs.$2.$3" "$1/status"
}

# wait_for SECONDS WHAT COMMAND...: poll until COMMAND succeeds.
wait_for() {
	local limit=$(($1 * 100)) what=$2 t=0
	shift 2
	until "$@"; do
		t=$((t + 1))
		[ "$t" -lt "$limit" ] || broken "timed out waiting for $what"
		sleep 0.01
	done
}

readers_are() { # SLOT N [LOG]: N readers of LOG (stdout)
	[ "$(logf "$1" "${3:-stdout}" readers)" = "$2" ]
}

stdout_bytes_are() {
	[ "$(logf "$1" stdout bytes)" = "$2" ]
}

stdout_paused() {
	[ "$(logf "$1" stdout paused)" = true ]
}

# slot_done SLOT BYTES: the run ended with status 0 having captured BYTES
# on stdout; remove the slot.
slot_done() {
	local st bytes t=0
	st=$(timeout -s KILL 30 cat "$1/wait") || broken "wait of $1 failed"
	[ "$st" = 0 ] || broken "$1 ended with status $st"
	bytes=$(logf "$1" stdout bytes)
	[ "$bytes" = "$2" ] || broken "$1 captured $bytes bytes, want $2"
	until rmdir "$1" 2>/dev/null; do
		t=$((t + 1))
		[ "$t" -lt 500 ] || broken "rmdir $1 failed for 5 s"
		sleep 0.01
	done
}

# check_count FILE BYTES WHAT: a reader's byte count (written to FILE).
check_count() {
	local got
	got=$(tr -d ' \n' <"$1" 2>/dev/null)
	[ "$got" = "$2" ] || broken "$3: read ${got:-nothing} bytes, want $2"
}

# --- setup

install_supervisor() {
	local before
	command -v supervisord >/dev/null && return 0
	if [ "$(id -u)" != 0 ]; then
		note "supervisor is not installed and this is not root: its rows are skipped."
		return 0
	fi
	say "installing supervisor (service start blocked by policy-rc.d)"
	before=$(pgrep -x supervisord | tr '\n' ' ')
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		POLICY_MADE=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq supervisor >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq supervisor >/dev/null; } ||
		problem "apt-get install supervisor failed"
	if [ -n "$POLICY_MADE" ]; then
		rm -f /usr/sbin/policy-rc.d
		POLICY_MADE=
	fi
	# The package enables its system service; this run must not leave it
	# enabled, nor running if the install started it.
	deb-systemd-helper disable supervisor.service >/dev/null 2>&1 || true
	update-rc.d supervisor disable >/dev/null 2>&1 || true
	local p
	for p in $(pgrep -x supervisord); do
		case " $before " in
		*" $p "*) ;;
		*)
			say "stopping supervisord $p started by the package install"
			kill -TERM "$p" 2>/dev/null
			;;
		esac
	done
}

build_all() {
	local f out
	say "deps: scripts/deps.sh"
	bash "$ROOT/scripts/deps.sh" >&2 || problem "scripts/deps.sh failed"
	install_supervisor
	say "build: spawnfs (RelWithDebInfo)"
	{ cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build "$ROOT/build" -j2 >/dev/null; } >&2 ||
		{ problem "building spawnfs failed"; return 1; }
	mkdir -p "$BIN"
	for f in "$SRC"/*.c; do
		out=$BIN/$(basename "$f" .c)
		[ "$out" -nt "$f" ] && [ "$out" -nt "$SRC/bench.h" ] && continue
		cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$out" "$f" ||
			{ problem "cc $f failed"; return 1; }
	done
}

machine() {
	local mem cpu load commit
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	git -C "$ROOT" diff --quiet HEAD -- src include 2>/dev/null ||
		commit="$commit (src modified)"
	echo "# spawnfs benchmarks"
	echo
	echo "- Machine: $(nproc) CPUs, ${cpu:-unknown CPU}, kernel $(uname -r), $mem memory; load average at start $load."
	echo "- spawnfs $commit, RelWithDebInfo; $MODE mode: each figure is the median of $RUNS runs unless the row says once."
	echo "- Started $(date -u '+%Y-%m-%d %H:%M UTC'); tools in build/bench, mounts under $WORK."
}

# --- 1. throughput, one reader

# tp_pair SLOTLINE BYTES TREE_TIMED TREE_CHECK BASE_TIMED BASE_CHECK
# Runs 0..RUNS (run 0 counts bytes through wc -c and is not timed). In the
# commands @F@ is the slot's stdout and @O@ a file for a byte count.
# Sets TREE_MIBS and BASE_MIBS (medians, MiB/s).
tp_pair() {
	local line=$1 bytes=$2 r cmd pid t0 t1 rc
	local tree=() base=()
	for ((r = 0; r <= RUNS; r++)); do
		new_slot
		rm -f "$SEC/out"
		if [ "$r" = 0 ]; then cmd=$4; else cmd=$3; fi
		cmd=${cmd//@F@/$SLOT/stdout}
		cmd=${cmd//@O@/$SEC/out}
		timeout -s KILL "$JOB_LIMIT" bash -c "$cmd" &
		pid=$!
		wait_for 10 "the reader to open $SLOT/stdout" readers_are "$SLOT" 1
		t0=$(now_us)
		ctl "$SLOT" "$line"
		wait "$pid" || broken "reader '$cmd' failed (status $?)"
		t1=$(now_us)
		[ -e "$SEC/out" ] && check_count "$SEC/out" "$bytes" "$cmd"
		slot_done "$SLOT" "$bytes"
		[ "$r" = 0 ] || tree+=("$(mibps "$bytes" $((t1 - t0)))")

		rm -f "$SEC/out"
		if [ "$r" = 0 ]; then cmd=$6; else cmd=$5; fi
		cmd=${cmd//@O@/$SEC/out}
		t0=$(now_us)
		timeout -s KILL "$JOB_LIMIT" bash -c "$cmd"
		rc=$?
		t1=$(now_us)
		[ "$rc" = 0 ] || broken "baseline '$cmd' failed (status $rc)"
		[ -e "$SEC/out" ] && check_count "$SEC/out" "$bytes" "$cmd"
		[ "$r" = 0 ] || base+=("$(mibps "$bytes" $((t1 - t0)))")
	done
	TREE_MIBS=$(median "${tree[@]}")
	BASE_MIBS=$(median "${base[@]}")
}

sec_throughput() {
	local n=$TP_BYTES p=$BIN/producer mib dd
	sec_start throughput
	mib=$((n / MIB))
	dd="bs=1M of=/dev/null 2>&1 | awk '/copied/ { print \$1 }' >@O@"

	tp_pair "exec $p $n" "$n" \
		"cat @F@ >/dev/null" "cat @F@ | wc -c >@O@" \
		"$p $n | cat >/dev/null" "$p $n | cat | wc -c >@O@"
	fig tp_cat "$TREE_MIBS"
	fig tp_pipe "$BASE_MIBS"
	row "throughput: producer ($mib MiB), one \`cat\` reader" \
		"$(fmt '%.0f MiB/s' "$TREE_MIBS")" \
		"$(fmt '%.0f MiB/s' "$BASE_MIBS") (\`producer | cat\`)" \
		"$(ratio "$TREE_MIBS" "$BASE_MIBS")" \
		"$(judge "$(calc "$TREE_MIBS / $BASE_MIBS")" '>=' 0.8 '≥0.8x')"

	tp_pair "exec $p $n" "$n" "dd if=@F@ ${dd}" "dd if=@F@ ${dd}" \
		"$p $n | dd ${dd}" "$p $n | dd ${dd}"
	row "throughput: producer ($mib MiB), \`dd bs=1M\` reader" \
		"$(fmt '%.0f MiB/s' "$TREE_MIBS")" \
		"$(fmt '%.0f MiB/s' "$BASE_MIBS") (\`producer | dd bs=1M\`)" \
		"$(ratio "$TREE_MIBS" "$BASE_MIBS")" \
		"$(judge "$(calc "$TREE_MIBS / $BASE_MIBS")" '>=' 1.5 '≥1.5x')"

	n=$YES_BYTES
	tp_pair "exec sh -c 'yes | head -c $n'" "$n" \
		"cat @F@ >/dev/null" "cat @F@ | wc -c >@O@" \
		"yes | head -c $n | cat >/dev/null" \
		"yes | head -c $n | cat | wc -c >@O@"
	row "throughput: \`yes | head -c\` ($((n / MIB)) MiB), one \`cat\` reader" \
		"$(fmt '%.0f MiB/s' "$TREE_MIBS")" \
		"$(fmt '%.0f MiB/s' "$BASE_MIBS") (\`yes | head -c | cat\`)" \
		"$(ratio "$TREE_MIBS" "$BASE_MIBS")" ""
	bench_unmount
}

# --- 1b. every byte mix: output users really produce

# mix_block NAME: 64 KiB of that kind of output on stdout.
mix_block() {
	local unit
	case $1 in
	zeros) head -c 65536 /dev/zero; return ;;
	newlines) head -c 65536 /dev/zero | tr '\0' '\n'; return ;;
	random) head -c 65536 /dev/urandom; return ;;
	utf8) unit='Привет, мир! 你好，世界。 こんにちは 😀🚀✨ Grüße '$'\n' ;;
	ansi) unit=$'\e[1m\e[31merror:\e[0m src/main.c:42:7: \e[1mexpected \x27;\x27 before \x27}\x27 token\e[0m\n   42 |   return x\n      |   \e[32m^\e[0m\n' ;;
	log) unit='2026-12-03T12:00:00.123Z INFO  http: GET /api/v1/items?page=3 status=200 dur=3.2ms id=7f3a9c'$'\n' ;;
	text64) unit=$(printf '%063d' 0 | tr 0 a)$'\n' ;;
	esac
	while printf '%s' "$unit"; do :; done 2>/dev/null | head -c 65536
}

# mix_file NAME: a page-cached file of MIX_BYTES of that mix; its path.
mix_file() {
	local f=$WORK/mix.$1
	if [ ! -s "$f" ]; then
		mix_block "$1" >"$f.blk"
		while cat "$f.blk"; do :; done 2>/dev/null |
			head -c "$MIX_BYTES" >"$f"
		rm -f "$f.blk"
	fi
	cat "$f" >/dev/null # into the page cache
	echo "$f"
}

# mix_cpu LINE BYTES: the daemon's CPU seconds per GiB for RUNS runs of
# LINE read by one `cat`.
mix_cpu() {
	local r c0 c1 pid
	c0=$(dcpu)
	for ((r = 0; r < RUNS; r++)); do
		new_slot
		timeout -s KILL "$JOB_LIMIT" cat "$SLOT/stdout" >/dev/null &
		pid=$!
		wait_for 10 "the reader to open $SLOT/stdout" readers_are "$SLOT" 1
		ctl "$SLOT" "$1"
		wait "$pid" || broken "cat of $SLOT failed"
		slot_done "$SLOT" "$2"
	done
	c1=$(dcpu)
	calc "($c1 - $c0) / $TICK / ($RUNS * $2 / 1073741824)"
}

MIXES="zeros newlines utf8 ansi random log text64"
MIX_CPU_ROUNDS=3 # alternated events-on and events-off mounts
MIX_CPU_RUNS=3   # runs of each mix per mount

# mix_cpu_rounds: the daemon's CPU per GiB for each mix with `events`
# unread and with `events = off`. The two cannot share a daemon, and
# sections minutes apart drift by more than the difference, so the two
# mounts alternate MIX_CPU_ROUNDS times (MIX_CPU_RUNS of each mix each);
# a row gives the medians and the median of the rounds' ratios.
mix_cpu_rounds() {
	local r mode m f
	local -a on off q
	for ((r = 1; r <= MIX_CPU_ROUNDS; r++)); do
		for mode in on off; do
			sec_start "mix-cpu-$mode-$r" "[stream]" "events = $mode"
			for m in $MIXES; do
				f=$(mix_file "$m")
				fig "cpu_${mode}_${m}_$r" "$(RUNS=$MIX_CPU_RUNS mix_cpu \
					"exec dd if=$f bs=64K status=none" "$MIX_BYTES")"
			done
			bench_unmount
		done
	done
	for m in $MIXES; do
		on=() off=() q=()
		for ((r = 1; r <= MIX_CPU_ROUNDS; r++)); do
			on+=("$(figv "cpu_on_${m}_$r")")
			off+=("$(figv "cpu_off_${m}_$r")")
			q+=("$(calc "${on[-1]} / ${off[-1]}")")
		done
		row "mix: $m, daemon CPU per GiB, \`events\` unread vs \`events = off\` ($MIX_CPU_ROUNDS alternated rounds)" \
			"$(fmt '%.2f s' "$(median "${on[@]}")")" \
			"$(fmt '%.2f s' "$(median "${off[@]}")") (events = off)" \
			"$(fmt '%.2fx' "$(median "${q[@]}")")" \
			"$(judge "$(median "${q[@]}")" '<=' 1.3 '≤1.3x')"
	done
}

# events_rate LINE BYTES: a \`cat events\` reader of LINE's run, from the
# start to its end: the median over RUNS of its JSON rate (MiB/s) into
# EV_MIBS, and the JSON bytes into EV_BYTES.
events_rate() {
	local line=$1 bytes=$2 r pid t0 t1 rates=()
	for ((r = 0; r < RUNS; r++)); do
		new_slot
		rm -f "$SEC/ev"
		timeout -s KILL "$JOB_LIMIT" bash -c "cat '$SLOT/events' | wc -c >'$SEC/ev'" &
		pid=$!
		wait_for 10 "the reader to open $SLOT/events" readers_are "$SLOT" 1 events
		t0=$(now_us)
		ctl "$SLOT" "$line"
		wait "$pid" || broken "the events reader failed"
		t1=$(now_us)
		EV_BYTES=$(cat "$SEC/ev")
		[ "$EV_BYTES" -gt "$bytes" ] || broken "events of $bytes bytes: only $EV_BYTES bytes of JSON"
		slot_done "$SLOT" "$bytes"
		rates+=("$(mibps "$EV_BYTES" $((t1 - t0)))")
	done
	EV_MIBS=$(median "${rates[@]}")
}

sec_mix() {
	local m f n=$MIX_BYTES mib dd line
	sec_start mix
	mib=$((n / MIB))
	dd="bs=1M of=/dev/null 2>&1 | awk '/copied/ { print \$1 }' >@O@"
	for m in $MIXES; do
		f=$(mix_file "$m")
		line="exec dd if=$f bs=64K status=none"
		tp_pair "$line" "$n" \
			"cat @F@ >/dev/null" "cat @F@ | wc -c >@O@" \
			"dd if=$f bs=64K status=none | cat >/dev/null" \
			"dd if=$f bs=64K status=none | cat | wc -c >@O@"
		row "mix: $m ($mib MiB written 64 KiB at a time), one \`cat\` reader" \
			"$(fmt '%.0f MiB/s' "$TREE_MIBS")" \
			"$(fmt '%.0f MiB/s' "$BASE_MIBS") (\`dd | cat\`)" \
			"$(ratio "$TREE_MIBS" "$BASE_MIBS")" \
			"$(judge "$(calc "$TREE_MIBS / $BASE_MIBS")" '>=' 0.8 '≥0.8x')"
		events_rate "$line" "$n"
		row "mix: $m, one \`cat events\` reader: JSON bytes per second" \
			"$(fmt '%.0f MiB/s' "$EV_MIBS") of JSON ($(fmt '%.1f' "$(calc "$EV_BYTES / $n")") bytes per output byte)" \
			"$(fmt '%.0f MiB/s' "$TREE_MIBS") (a \`stdout\` reader, above)" \
			"$(ratio "$EV_MIBS" "$TREE_MIBS")" \
			"$(judge "$(calc "$EV_MIBS / $TREE_MIBS")" '>=' 0.5 '≥0.5x')"
		if [ "$m" = text64 ]; then
			tp_pair "$line" "$n" "dd if=@F@ ${dd}" "dd if=@F@ ${dd}" \
				"dd if=$f bs=64K status=none | dd ${dd}" \
				"dd if=$f bs=64K status=none | dd ${dd}"
			row "mix: text64 ($mib MiB), \`dd bs=1M\` reader" \
				"$(fmt '%.0f MiB/s' "$TREE_MIBS")" \
				"$(fmt '%.0f MiB/s' "$BASE_MIBS") (\`dd | dd bs=1M\`)" \
				"$(ratio "$TREE_MIBS" "$BASE_MIBS")" \
				"$(judge "$(calc "$TREE_MIBS / $BASE_MIBS")" '>=' 0.8 '≥0.8x')"
		fi
	done
	bench_unmount
	mix_cpu_rounds
	note "Mixes: each file is a 64 KiB block of that output repeated (zeros; newlines; Cyrillic, CJK, Japanese and emoji text; ANSI-coloured compiler errors; random bytes; 90-byte log lines; 64-byte lines of text), page-cached, written by \`dd bs=64K\` as the slot's command and read by one reader; the baseline is the same dd into a pipe. CPU per GiB: mounts with \`events\` unread and with \`events = off\` alternate $MIX_CPU_ROUNDS times, $MIX_CPU_RUNS runs of each mix each time (CPU in clock ticks: 10 ms)."
}

# --- 1d. unattended jobs: output keep and the snapshot files

# keep_cpu LINE BYTES: the daemon's CPU seconds per GiB for RUNS runs of
# LINE under `output keep 1M` with nobody reading.
keep_cpu() {
	local r c0 c1
	c0=$(dcpu)
	for ((r = 0; r < RUNS; r++)); do
		new_slot
		ctl "$SLOT" 'output keep 1M'
		ctl "$SLOT" "$1"
		slot_done "$SLOT" "$2"
	done
	c1=$(dcpu)
	calc "($c1 - $c0) / $TICK / ($RUNS * $2 / 1073741824)"
}

# now_loop FILE N: microseconds per open-read-close of FILE by `cat`.
now_loop() {
	local i t0 t1
	t0=$(now_us)
	for ((i = 0; i < $2; i++)); do
		cat "$1" >/dev/null || broken "cat $1 failed"
	done
	t1=$(now_us)
	calc "($t1 - $t0) / $2"
}

sec_unattended() {
	local f line r n=$MIX_BYTES keep=() pause=() q=() k p now=() reg=() qn=()
	sec_start unattended
	f=$(mix_file log)
	line="exec dd if=$f bs=64K status=none"
	# Alternated on one daemon: a keep job nobody reads, then a pause job
	# read by one cat, three times.
	for ((r = 0; r < 3; r++)); do
		k=$(keep_cpu "$line" "$n")
		p=$(mix_cpu "$line" "$n")
		keep+=("$k") pause+=("$p") q+=("$(calc "$k / $p")")
	done
	row "unattended: \`output keep 1M\` job nobody reads ($((n / MIB)) MiB of log lines), daemon CPU per GiB" \
		"$(fmt '%.2f s' "$(median "${keep[@]}")")" \
		"$(fmt '%.2f s' "$(median "${pause[@]}")") (a \`cat\` reader of a pause job)" \
		"$(fmt '%.2fx' "$(median "${q[@]}")")" ""
	# A snapshot of a full window (a paused job's 256 KiB) against a
	# regular file of the same size in /tmp.
	new_slot
	ctl "$SLOT" "$line"
	wait_for 10 "$SLOT to pause" stdout_paused "$SLOT"
	head -c 262144 "$f" >"$SEC/regular"
	for ((r = 0; r < RUNS; r++)); do
		now+=("$(now_loop "$SLOT/stdout.now" 100)")
		reg+=("$(now_loop "$SEC/regular" 100)")
		qn+=("$(calc "${now[-1]} / ${reg[-1]}")")
	done
	[ "$(wc -c <"$SLOT/stdout.now")" = 262144 ] ||
		broken "stdout.now of a full window is not 256 KiB"
	row "unattended: \`cat stdout.now\` of a full 256 KiB window (open, read, close)" \
		"$(fmt '%.0f µs' "$(median "${now[@]}")")" \
		"$(fmt '%.0f µs' "$(median "${reg[@]}")") (\`cat\` of a 256 KiB file in /tmp)" \
		"$(fmt '%.2fx' "$(median "${qn[@]}")")" ""
	printf 'kill\n' >"$SLOT/ctl"
	bench_unmount
	note "Unattended: the \`log\` mix (90-byte lines) written by \`dd bs=64K\`; CPU in clock ticks (10 ms), $RUNS runs a figure, keep and pause alternated 3 times on one daemon. Snapshot rows: 100 \`cat\` processes a figure, median of $RUNS."
}

# --- 1c. over the network: the tree exported by diod on loopback

# net_reader SLOT CMD BYTES: start CMD (reading SLOT's stdout) in the
# background, run the producer in SLOT once it reads, print MiB/s.
net_reader() {
	local slot=$1 cmd=$2 n=$3 pid t0 t1
	rm -f "$SEC/out"
	timeout -s KILL "$JOB_LIMIT" bash -c "$cmd" &
	pid=$!
	wait_for 10 "the reader to open $slot/stdout" readers_are "$slot" 1
	t0=$(now_us)
	ctl "$slot" "exec $BIN/producer $n"
	wait "$pid" || broken "reader '$cmd' failed (status $?)"
	t1=$(now_us)
	[ -e "$SEC/out" ] && check_count "$SEC/out" "$n" "$cmd"
	slot_done "$slot" "$n"
	mibps "$n" $((t1 - t0))
}

sec_net() {
	local n=$((TP_BYTES / 4)) r port dpid rem=() loc=() cmd name
	command -v diod >/dev/null || { note "net: diod is not installed; no network row."; return 0; }
	sec_start net
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	# The command line of etc/systemd/spawnfs-export@.service, with -n.
	diod -f -c /dev/null -L stderr -l "127.0.0.1:$port" -t 64 -e "$MNT" -n \
		2>>"$SEC/diod.log" &
	dpid=$!
	wait_for 10 "diod to listen on $port" \
		eval "ss -Htln 'sport = :$port' | grep -q ."
	for ((r = 0; r <= RUNS; r++)); do
		new_slot
		name=${SLOT##*/}
		cmd="diodcat -s 127.0.0.1:$port -a $MNT $name/stdout"
		if [ "$r" = 0 ]; then cmd="$cmd | wc -c >$SEC/out"; else cmd="$cmd >/dev/null"; fi
		rem+=("$(net_reader "$SLOT" "$cmd" "$n")")
		new_slot
		cmd="cat $SLOT/stdout"
		if [ "$r" = 0 ]; then cmd="$cmd | wc -c >$SEC/out"; else cmd="$cmd >/dev/null"; fi
		loc+=("$(net_reader "$SLOT" "$cmd" "$n")")
		[ "$r" != 0 ] || { rem=(); loc=(); }
	done
	kill -TERM "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
	fig net_diodcat "$(median "${rem[@]}")"
	fig net_cat "$(median "${loc[@]}")"
	row "network: \`diodcat\` over 9P on loopback (diod, msize 64 KiB), producer ($((n / MIB)) MiB)" \
		"$(fmt '%.0f MiB/s' "$(figv net_diodcat)")" \
		"$(fmt '%.0f MiB/s' "$(figv net_cat)") (local \`cat\` of the same stdout)" \
		"$(ratio "$(figv net_diodcat)" "$(figv net_cat)")" ""
	bench_unmount
	note "Network: diod exports the mount with the export unit's command line (-n: no authentication, loopback only); each run is a fresh slot whose producer starts once the reader follows its stdout."
}

# --- 2. fan-out

sec_fanout() {
	local n=$FAN_BYTES p=$BIN/producer k r i t0 t1 single pipe
	local pids tot per tot_m per_m pipe pipe_m
	sec_start fanout
	note "Fan-out: the readers open stdout before the \`exec\` line is written; run 0 of each size counts every reader's bytes with \`wc -c\` and is not timed."
	for k in 1 2 4 8; do
		tot=() per=()
		for ((r = 0; r <= RUNS; r++)); do
			new_slot
			pids=()
			for ((i = 1; i <= k; i++)); do
				rm -f "$SEC/out.$i"
				if [ "$r" = 0 ]; then
					timeout -s KILL "$JOB_LIMIT" bash -c "cat '$SLOT/stdout' | wc -c >'$SEC/out.$i'" &
				else
					timeout -s KILL "$JOB_LIMIT" cat "$SLOT/stdout" >/dev/null &
				fi
				pids+=($!)
			done
			wait_for 10 "$k readers on $SLOT" readers_are "$SLOT" "$k"
			t0=$(now_us)
			ctl "$SLOT" "exec $p $n"
			for i in "${pids[@]}"; do
				wait "$i" || broken "fan-out reader failed ($k readers)"
			done
			t1=$(now_us)
			if [ "$r" = 0 ]; then
				for ((i = 1; i <= k; i++)); do
					check_count "$SEC/out.$i" "$n" "fan-out reader $i of $k"
				done
				slot_done "$SLOT" "$n"
				continue
			fi
			slot_done "$SLOT" "$n"
			tot+=("$(mibps $((n * k)) $((t1 - t0)))")
			per+=("$(mibps "$n" $((t1 - t0)))")
		done
		tot_m=$(median "${tot[@]}")
		per_m=$(median "${per[@]}")
		if [ "$k" = 1 ]; then
			single=$tot_m
			pipe=()
			for ((r = 1; r <= RUNS; r++)); do
				t0=$(now_us)
				"$p" "$n" | cat >/dev/null
				t1=$(now_us)
				pipe+=("$(mibps "$n" $((t1 - t0)))")
			done
			pipe_m=$(median "${pipe[@]}")
			row "fan-out: 1 \`cat\` reader ($((n / MIB)) MiB)" \
				"$(fmt '%.0f MiB/s' "$single")" \
				"$(fmt '%.0f MiB/s' "$pipe_m") (\`producer | cat\`)" \
				"$(ratio "$single" "$pipe_m")" ""
			continue
		fi
		row "fan-out: $k \`cat\` readers, total (each)" \
			"$(fmt '%.0f MiB/s' "$tot_m") ($(fmt '%.0f' "$per_m") each)" \
			"$(fmt '%.0f MiB/s' "$single") (1 reader)" \
			"$(ratio "$tot_m" "$single")" \
			"$([ "$k" = 4 ] && judge "$(calc "$tot_m / $single")" '>=' 2 '≥2x single')"
	done
	bench_unmount
}

# --- 3. latency

sec_latency() {
	local iv r pid q i
	local -a t50 t99 t999 b50 b99 b999 v
	sec_start latency
	for iv in 1000 100; do
		t50=() t99=() t999=() b50=() b99=() b999=()
		for ((r = 1; r <= RUNS; r++)); do
			new_slot
			timeout -s KILL "$JOB_LIMIT" "$BIN/lat_reader" "$LAT_LINES" "$SLOT/stdout" >"$SEC/lat" &
			pid=$!
			wait_for 10 "the latency reader" readers_are "$SLOT" 1
			ctl "$SLOT" "exec $BIN/lat_writer $LAT_LINES $iv"
			wait "$pid" || broken "latency reader on $SLOT failed"
			slot_done "$SLOT" $((LAT_LINES * 64))
			read -r -a v <"$SEC/lat"
			t50+=("${v[0]}") t99+=("${v[1]}") t999+=("${v[2]}")
			timeout -s KILL "$JOB_LIMIT" bash -c "'$BIN/lat_writer' $LAT_LINES $iv | '$BIN/lat_reader' $LAT_LINES" >"$SEC/lat" ||
				broken "latency through a pipe failed"
			read -r -a v <"$SEC/lat"
			b50+=("${v[0]}") b99+=("${v[1]}") b999+=("${v[2]}")
		done
		for q in 50 99 999; do
			local tn="t${q}[@]" bn="b${q}[@]" tm bm name target=""
			tm=$(median "${!tn}")
			bm=$(median "${!bn}")
			case $q in
			50) name=p50 ;;
			99) name=p99 ;;
			999) name=p99.9 ;;
			esac
			[ "$q" = 999 ] ||
				target=$(judge "$(calc "$tm / $bm")" '<=' 5 '≤5x')
			row "latency: 64-byte line every $iv µs, $name ($LAT_LINES lines)" \
				"$(fmt '%.0f µs' "$tm")" "$(fmt '%.0f µs' "$bm") (pipe)" \
				"$(ratio "$tm" "$bm")" "$target"
		done
	done
	bench_unmount
}

# --- 4. idle cost

all_paused() {
	local st
	st=$("$BIN/slots" status "$MNT" y "$1") || return 1
	case $st in *" paused=$1 "*) return 0 ;; esac
	return 1
}

sec_idle() {
	local n=$1 rss0 rss1 c0 c1 st held cpu per create m0 m1
	sec_start "idle$n" "[process]" "max_processes = 20000" \
		"[stream]" "buffer_size = 64K"
	sleep 0.3
	rss0=$(drss)
	create=$("$BIN/slots" create "$MNT" y "$n" "exec yes") ||
		broken "creating $n slots running yes failed"
	wait_for $((60 + n / 10)) "$n yes children to pause" all_paused "$n"
	sleep 1
	c0=$(dcpu)
	sleep "$IDLE_S"
	c1=$(dcpu)
	rss1=$(drss)
	st=$("$BIN/slots" status "$MNT" y "$n") || broken "status of $n slots failed"
	held=$(field retained "$st")
	m0=$(drss)
	cat "$MNT/metrics" >/dev/null || broken "reading metrics failed"
	m1=$(drss)
	cpu=$(calc "($c1 - $c0) / $TICK")
	per=$(calc "($rss1 - $rss0 - $held / 1024) / $n")
	row "idle: $n \`yes\` paused, no reader: daemon CPU in ${IDLE_S} s (once)" \
		"$(fmt '%.2f s' "$cpu")" "" "" \
		"$([ "$n" = 1000 ] && judge "$cpu" '<' 0.05 '<0.05 s')"
	row "idle: $n \`yes\` paused: daemon RSS, per slot beyond bytes held" \
		"$(fmt '%.1f MiB' "$(calc "$rss1 / 1024")"), $(fmt '%.1f KiB/slot' "$per")" \
		"$(fmt '%.1f MiB' "$(calc "$rss0 / 1024")") before; $(fmt '%.0f KiB' "$(calc "$held / 1024 / $n")")/slot held" \
		"" "$([ "$n" = 1000 ] && judge "$per" '<=' 16 '≤16 KiB/slot')"
	row "idle: one \`metrics\` read with $n \`yes\` paused: daemon RSS growth (once)" \
		"$((m1 - m0)) KiB" "" "" \
		"$([ "$n" = 1000 ] && judge "$((m1 - m0))" '<' 1024 '<1 MiB')"
	bench_unmount
	if [ "$n" = 1000 ]; then
		note "Idle: buffer_size = 64K; 'held' is every log's retained bytes from status (stdout and events fill; stderr is empty). The ${n} slots were created in $(field ms "$create") ms; the unmount that stopped them took ${STOP_MS} ms."
	fi
}

# --- 5. reader churn and killed waiters

# waiters_start FILE N STATUS: N reader processes parked in read(2).
waiters_start() {
	"$BIN/waiters" "$1" "$2" "$3" >"$SEC/w.out" 2>"$SEC/w.err" &
	WPID=$!
	local t=0
	until grep -qs '^ready' "$SEC/w.out"; do
		kill -0 "$WPID" 2>/dev/null ||
			broken "waiters on $1 failed: $(cat "$SEC/w.err")"
		t=$((t + 1))
		[ "$t" -lt 12000 ] || broken "waiters on $1 not ready in 120 s"
		sleep 0.01
	done
	W_OPEN=$(sed -n 's/^ready opened_ms=\([0-9.]*\).*/\1/p' "$SEC/w.out")
	W_PARK=$(sed -n 's/^ready.*parked_ms=\([0-9.]*\).*/\1/p' "$SEC/w.out")
}

# waiters_kill: SIGKILL them all; W_REAP and W_FREE in ms.
waiters_kill() {
	local rc=0 early
	kill -USR1 "$WPID"
	wait "$WPID" || rc=$?
	[ "$rc" = 3 ] && problem "killed readers still counted 60 s later: $(cat "$SEC/w.err")"
	[ "$rc" = 0 ] || [ "$rc" = 3 ] ||
		broken "waiters failed (status $rc): $(cat "$SEC/w.err")"
	W_REAP=$(sed -n 's/^killed reaped_ms=\([0-9.]*\).*/\1/p' "$SEC/w.out")
	W_FREE=$(sed -n 's/^killed.*freed_ms=\(-*[0-9.]*\).*/\1/p' "$SEC/w.out")
	early=$(sed -n 's/^killed.*early=\([0-9]*\).*/\1/p' "$SEC/w.out")
	[ "$early" = 0 ] || problem "$early readers ended before the kill (a read did not wait)"
}

sec_churn() {
	local f r a b rss0 rss1 fd0 fd1 cyc=() base=() grow=() reap=() free=()
	local fifo_reap=() kgrow=() krss0 kfd0 readers out
	sec_start churn
	new_slot
	ctl "$SLOT" "exec sh -c 'echo hello; exec sleep 1000'"
	wait_for 10 "hello on $SLOT" stdout_bytes_are "$SLOT" 6
	f=$SLOT/stdout
	echo hello >"$SEC/plain"
	"$BIN/churn" "$f" 1000 >/dev/null || broken "churn on $f failed"
	rss0=$(drss)
	fd0=$(dfds)
	for ((r = 1; r <= RUNS; r++)); do
		a=$(drss)
		out=$("$BIN/churn" "$f" "$CHURN_N") || broken "churn on $f failed"
		cyc+=("$out")
		b=$(drss)
		grow+=($((b - a)))
		out=$("$BIN/churn" "$SEC/plain" "$CHURN_N") || broken "churn on a plain file failed"
		base+=("$out")
	done
	rss1=$(drss)
	fd1=$(dfds)
	readers=$(logf "$SLOT" stdout readers)
	[ "$readers" = 0 ] || problem "after churn, status still counts $readers stdout readers"
	row "churn: open-read-close of stdout, $CHURN_N cycles" \
		"$(fmt '%.0f /s' "$(median "${cyc[@]}")")" \
		"$(fmt '%.0f /s' "$(median "${base[@]}")") (regular file)" \
		"$(ratio "$(median "${cyc[@]}")" "$(median "${base[@]}")")" ""
	row "churn: daemon RSS growth per $CHURN_N cycles; fds" \
		"$(median "${grow[@]}") KiB ($rss0 → $rss1 KiB over $((RUNS * CHURN_N))); fds $fd0 → $fd1" \
		"" "" "$(judge "$(median "${grow[@]}")" '<' 1024 '<1 MiB')$([ "$fd0" = "$fd1" ] && echo ', fds same (met)' || echo ', fds same (missed)')"

	mkfifo "$SEC/fifo"
	exec 9<>"$SEC/fifo"
	waiters_start "$f" 100 "$SLOT/status"
	waiters_kill
	krss0=$(drss)
	kfd0=$(dfds)
	for ((r = 1; r <= RUNS; r++)); do
		a=$(drss)
		waiters_start "$f" "$KILL_N" "$SLOT/status"
		waiters_kill
		b=$(drss)
		kgrow+=($((b - a)))
		reap+=("$W_REAP") free+=("$W_FREE")
		waiters_start "$SEC/fifo" "$KILL_N" -
		waiters_kill
		fifo_reap+=("$W_REAP")
	done
	exec 9>&-
	a=$(median "${free[@]}")
	row "kill -9 of $KILL_N readers waiting on a silent process: until status counts 0" \
		"$(fmt '%.0f ms' "$a") (reaped $(fmt '%.0f ms' "$(median "${reap[@]}")"))" \
		"$(fmt '%.0f ms' "$(median "${fifo_reap[@]}")") (reaped, readers of a FIFO)" \
		"$(ratio "$a" "$(median "${fifo_reap[@]}")")" \
		"$(judge "$a" '<=' 1000 'all freed ≤1 s')"
	rss1=$(drss)
	fd1=$(dfds)
	row "kill -9 of $KILL_N waiting readers: daemon RSS growth per round; fds" \
		"$(median "${kgrow[@]}") KiB ($krss0 → $rss1 KiB over $RUNS rounds); fds $kfd0 → $fd1" \
		"" "" "$(judge "$(median "${kgrow[@]}")" '<' 1024 '<1 MiB')$([ "$kfd0" = "$fd1" ] && echo ', fds same (met)' || echo ', fds same (missed)')"
	bench_unmount
}

# --- 6. spawn rate

# floor_cgroup: a fresh cgroup v2 directory in this shell's own cgroup,
# for spawn_floor's leaves; its path, or nothing where there is none.
floor_cgroup() {
	local cg2 own d
	cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	own=$(sed -n 's/^0:://p' /proc/self/cgroup)
	[ -n "$cg2" ] || return 0
	d=$cg2${own%/}/spawnfs-bench-floor-$$
	mkdir "$d" 2>/dev/null && echo "$d"
}

sec_spawn() {
	local r out tree=() base=() floor=() busy=0 sh=() shb=() t0 t1 i d fcg
	sec_start spawn
	fcg=$(floor_cgroup)
	"$BIN/tree_spawn" "$MNT" 20 >/dev/null || broken "tree_spawn failed"
	for ((r = 1; r <= RUNS; r++)); do
		out=$("$BIN/tree_spawn" "$MNT" "$SPAWN_N") || broken "tree_spawn failed"
		tree+=("${out% *}")
		busy=$((busy + ${out#* }))
		out=$("$BIN/spawn_loop" "$SPAWN_N") || broken "spawn_loop failed"
		base+=("$out")
		if [ -n "$fcg" ]; then
			out=$("$BIN/spawn_floor" "$fcg" "$SPAWN_N") || {
				rmdir "$fcg"/leaf* "$fcg" 2>/dev/null
				broken "spawn_floor failed"
			}
			floor+=("$out")
		fi
		t0=$(now_us)
		for ((i = 0; i < SHELL_N; i++)); do
			d=$MNT/sh$i
			mkdir "$d" && echo 'exec true' >"$d/ctl" &&
				[ "$(cat "$d/wait")" = 0 ] && rmdir "$d" ||
				broken "shell spawn through $d failed"
		done
		t1=$(now_us)
		sh+=("$(calc "$SHELL_N / (($t1 - $t0) / 1000000)")")
		t0=$(now_us)
		for ((i = 0; i < SHELL_N; i++)); do
			/bin/true
		done
		t1=$(now_us)
		shb+=("$(calc "$SHELL_N / (($t1 - $t0) / 1000000)")")
	done
	fig spawn_base "$(median "${base[@]}")"
	row "spawn: mkdir, \`exec true\`, read wait, rmdir (C driver, $SPAWN_N runs, empty tree, $(cgroups_on && echo 'cgroups: a leaf per run' || echo 'no cgroups'))" \
		"$(fmt '%.0f runs/s' "$(median "${tree[@]}")")" \
		"$(fmt '%.0f runs/s' "$(median "${base[@]}")") (posix_spawn + waitpid)" \
		"$(ratio "$(median "${tree[@]}")" "$(median "${base[@]}")")" \
		"$(judge "$(calc "$(median "${tree[@]}") / $(median "${base[@]}")")" '>=' 0.7 '≥0.7x')"
	if [ -n "$fcg" ]; then
		rmdir "$fcg"
		row "spawn: the kernel's part of the same alone (C: mkdir a cgroup leaf, clone3 into it, exec true, waitpid, rmdir; no tree, no daemon)" \
			"$(fmt '%.0f runs/s' "$(median "${floor[@]}")")" \
			"$(fmt '%.0f runs/s' "$(median "${base[@]}")") (posix_spawn + waitpid)" \
			"$(ratio "$(median "${floor[@]}")" "$(median "${base[@]}")")" \
			"the bound of the row above"
	fi
	row "spawn: the same from a shell (mkdir; echo; cat wait; rmdir), $SHELL_N runs" \
		"$(fmt '%.0f runs/s' "$(median "${sh[@]}")")" \
		"$(fmt '%.0f runs/s' "$(median "${shb[@]}")") (shell runs /bin/true)" \
		"$(ratio "$(median "${sh[@]}")" "$(median "${shb[@]}")")" ""
	[ "$busy" = 0 ] || note "Spawn: rmdir right after wait met EBUSY $busy times (retried)."
	bench_unmount
}

# --- 6b. small files: one open-read-close of status, ctl and metrics

# dns: the daemon's time on a CPU so far, in ns (schedstat: its one thread).
dns() {
	cut -d' ' -f1 "/proc/$DAEMON_PID/schedstat"
}

# metric NAME: a value from the root's metrics.
metric() {
	awk -v k="$1" '$1 == k { print $2 }' "$MNT/metrics"
}

# read_loop FILE...: RUNS rounds of FILES_N open-read-close operations
# cycling through the FILEs (build/bench/readloop, each operation timed).
# Prints "US CPU": the median of the rounds' median µs per operation, and
# the daemon's CPU µs per operation over every round (warm-ups included).
read_loop() {
	local r out us=() c0 c1
	c0=$(dns)
	for ((r = 0; r < RUNS; r++)); do
		out=$("$BIN/readloop" "$FILES_N" "$@") ||
			broken "readloop on $1 failed: $out"
		us+=("$(field median_us "$out")")
	done
	c1=$(dns)
	echo "$(median "${us[@]}") $(calc "($c1 - $c0) / 1000 / ($RUNS * ($FILES_N + int($FILES_N / 10)))")"
}

# cgroups_on: the daemon on $MNT puts its runs in cgroups (its log says so).
cgroups_on() {
	grep -q 'cgroup: runs go below' "$DAEMON_LOG"
}

FILES_ROUNDS=3 # alternated mounts with cgroups and with cgroup = off

# files_pinned: status and ctl of b1 with the daemon pinned to CPU 0 and
# the reader on CPU 0 (one CPU) or on CPU 1 (two CPUs: each request and
# each reply wakes the other CPU); figures files_pin_{status,ctl}_{1,2}.
# The daemon may run on every CPU again afterwards.
files_pinned() {
	local f c out all
	[ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null || return 0
	all=$(taskset -pc "$DAEMON_PID" | sed 's/.*: //')
	taskset -pc 0 "$DAEMON_PID" >/dev/null || return 0
	for f in status ctl; do
		for c in 0 1; do
			out=$(taskset -c "$c" "$BIN/readloop" "$FILES_N" "$MNT/b1/$f") ||
				broken "readloop on b1/$f failed: $out"
			fig "files_pin_${f}_$((c + 1))" "$(field median_us "$out")"
		done
	done
	taskset -pc "$all" "$DAEMON_PID" >/dev/null
}

# Three running slots; a mount with cgroups (the default) and one with
# `cgroup = off` alternate FILES_ROUNDS times. Each file is read RUNS
# times FILES_N operations on each mount.
sec_files() {
	local r mode f i out files cell mon moff
	local -a on off con coff
	for ((r = 1; r <= FILES_ROUNDS; r++)); do
		for mode in on off; do
			if [ "$mode" = on ]; then
				sec_start "files-on-$r"
				cgroups_on || problem "files: the default mount does not use cgroups: $(head -n 3 "$DAEMON_LOG" | tr '\n' ' ')"
			else
				sec_start "files-off-$r" "[process]" "cgroup = off"
				! cgroups_on || problem "files: cgroup = off still uses cgroups"
			fi
			for i in 1 2 3; do
				new_slot
				ctl "$SLOT" "exec sleep 1000"
			done
			[ "$(jq -r .state "$MNT/b3/status")" = running ] ||
				broken "files: b3 is not running"
			for f in status ctl metrics; do
				if [ "$f" = metrics ]; then
					files=("$MNT/metrics")
				else
					files=("$MNT/b1/$f" "$MNT/b2/$f" "$MNT/b3/$f")
				fi
				out=$(read_loop "${files[@]}")
				fig "files_${f}_${mode}_$r" "${out% *}"
				fig "files_${f}_cpu_${mode}_$r" "${out#* }"
				if [ "$r$mode" = 1on ]; then
					cat "${files[0]}" >"$WORK/files.$f"
					out=$("$BIN/readloop" "$FILES_N" "$WORK/files.$f") ||
						broken "readloop on a regular file failed"
					fig "files_${f}_reg" "$(field median_us "$out")"
				fi
			done
			[ "$r$mode" != 1on ] || files_pinned
			bench_unmount
		done
	done
	for f in status ctl metrics; do
		on=() off=() con=() coff=()
		for ((r = 1; r <= FILES_ROUNDS; r++)); do
			on+=("$(figv "files_${f}_on_$r")")
			off+=("$(figv "files_${f}_off_$r")")
			con+=("$(figv "files_${f}_cpu_on_$r")")
			coff+=("$(figv "files_${f}_cpu_off_$r")")
		done
		mon=$(median "${on[@]}") moff=$(median "${off[@]}")
		cell=""
		[ "$f" = metrics ] || cell="$(judge "$mon" '<=' 120 '≤120 µs with cgroups'), $(judge "$moff" '<=' 240 '≤240 µs (2x) with cgroup = off')"
		row "small files: one open-read-close of $([ "$f" = metrics ] && echo "the root's \`metrics\`" || echo "a running slot's \`$f\`") (3 running slots; median per operation)" \
			"$(fmt '%.0f µs' "$mon") with cgroups (daemon CPU $(fmt '%.0f µs' "$(median "${con[@]}")")/op); $(fmt '%.0f µs' "$moff") with \`cgroup = off\` (daemon CPU $(fmt '%.0f µs' "$(median "${coff[@]}")")/op)" \
			"$(fmt '%.1f µs' "$(figv "files_${f}_reg")") (a regular file in /tmp, same bytes)" \
			"$(ratio "$moff" "$mon") off vs on" "$cell"
	done
	if [ -n "$(figv files_pin_status_1)" ]; then
		row "small files: \`status\` / \`ctl\` with the daemon and the reader on one CPU vs on two (pinned, cgroups; for information)" \
			"$(fmt '%.0f' "$(figv files_pin_status_1)") / $(fmt '%.0f µs' "$(figv files_pin_ctl_1)") on one CPU" \
			"$(fmt '%.0f' "$(figv files_pin_status_2)") / $(fmt '%.0f µs' "$(figv files_pin_ctl_2)") on two CPUs" \
			"$(ratio "$(figv files_pin_status_1)" "$(figv files_pin_status_2)") / $(ratio "$(figv files_pin_ctl_1)" "$(figv files_pin_ctl_2)")" ""
	fi
	note "Small files: build/bench/readloop opens, reads to end of file and closes, timing each operation ($FILES_N a round after $((FILES_N / 10)) untimed, cycling through b1, b2 and b3 of three slots running \`sleep 1000\`); a mount with cgroups (the default) and one with \`[process] cgroup = off\` alternate $FILES_ROUNDS times, $RUNS rounds of each file on each mount; the figure is the median of the rounds' medians. Daemon CPU per operation comes from its schedstat. An open-read-close is five requests to the daemon (a lookup of the slot's name in the root, whose names the kernel does not cache, then open, a read, a read that finds the end, release), four of them waited for, each a wake-up of the daemon and one of the reader: where the scheduler puts the two on different CPUs of this VM, each wake-up costs tens of µs more, charged partly to the daemon's CPU (the pinned row shows both placements)."
}

# --- 7. scale

# scale_status: read every status file of the scale slots (prefixes and
# counts in SC_PFX and SC_CNT); prints "MS RUNNING".
scale_status() {
	local i t0 t1 out run=0
	t0=$(now_us)
	for i in "${!SC_PFX[@]}"; do
		out=$("$BIN/slots" status "$MNT" "${SC_PFX[$i]}" "${SC_CNT[$i]}") ||
			return 1
		run=$((run + $(field running "$out")))
	done
	t1=$(now_us)
	echo "$(calc "($t1 - $t0) / 1000") $run"
}

# scale_create PREFIX K: K more slots running `sleep 1000`. Sets SC_DONE
# (slots made), SC_MS (the pass's time) and SC_ERR (the errno name of a
# failed create, else empty); adds the batch to SC_PFX and SC_CNT.
scale_create() {
	local out rc
	out=$("$BIN/slots" create "$MNT" "$1" "$2" "exec sleep 1000")
	rc=$?
	SC_DONE=$(field 'done' "$out")
	SC_MS=$(field ms "$out")
	[ -n "$SC_DONE" ] || broken "slots create failed: $out"
	SC_ERR=
	[ "$rc" = 0 ] || SC_ERR=$(field error "$out")
	SC_PFX+=("$1") SC_CNT+=("$SC_DONE")
}

# Up to SCALE_N slots running `sleep 1000`, made in batches of 1,000
# (the first as 100 + 900, with status timed at 100 slots in between);
# the spawn rate of each batch, status at 100 slots and at the full
# count, the capacity the open-file limit gives; then WAIT_N readers
# waiting on one silent slot.
sec_scale() {
	local n=$SCALE_N wn=$WAIT_N out r t0 t1 ls=() sts=() entries rss0 fd0 st
	local thr rss fds create open=() park=() reap=() free=() fifo=()
	local rss_w fds_w thr_w readers wrss0 wfd0 wrss1 wfd1 kn k t i
	local made=0 err='' lim rr=() later cap pause t2 ms1 fdper
	local s100 c100 sfull cfull running base mid='' midr=''
	local -a rates=() ranges=() files=()
	[ -n "$(figv spawn_base)" ] ||
		fig spawn_base "$("$BIN/spawn_loop" "$SPAWN_N")"
	base=$(figv spawn_base)
	sec_start scale "[process]" "max_processes = 20000"
	sleep 0.3
	lim=$(awk '/^Max open files/ { print $4 }' "/proc/$DAEMON_PID/limits")
	cap=$(metric spawnfs_run_capacity)
	rss0=$(drss)
	fd0=$(dfds)
	entries=$(ls "$MNT" | wc -l)
	say "creating up to $n slots running sleep 1000 (batches of 1000; capacity $cap)"
	SC_PFX=() SC_CNT=()
	t0=$(now_us)
	k=$((n < 100 ? n : 100))
	scale_create s0a- "$k"
	made=$SC_DONE ms1=$SC_MS err=$SC_ERR
	for ((i = 0; i < made && i < 100; i++)); do
		files+=("$MNT/s0a-$i/status")
	done
	[ "$made" -gt 0 ] || broken "no scale slot could be created ($SC_ERR)"
	t2=$(now_us)
	out=$(read_loop "${files[@]}")
	s100=${out% *} c100=${out#* }
	pause=$(($(now_us) - t2))
	k=$((n - made < 900 ? n - made : 900))
	if [ -z "$err" ] && [ "$k" -gt 0 ]; then
		scale_create s0b- "$k"
		made=$((made + SC_DONE)) ms1=$(calc "$ms1 + $SC_MS") err=$SC_ERR
	fi
	rates+=("$(calc "$made / ($ms1 / 1000)")") ranges+=("1–$made")
	for ((t = 1; made < n; t++)); do
		[ -z "$err" ] || break
		k=$((n - made < 1000 ? n - made : 1000))
		scale_create "s$t-" "$k"
		made=$((made + SC_DONE)) err=$SC_ERR
		if [ "$SC_DONE" -ge 100 ]; then
			rates+=("$(calc "$SC_DONE / ($SC_MS / 1000)")")
			ranges+=("$((made - SC_DONE + 1))–$made")
		fi
		say "scale: $made slots ($(fmt '%.0f /s' "${rates[-1]}") for ${ranges[-1]})"
	done
	t1=$(now_us)
	create=$(calc "($t1 - $t0 - $pause) / 1000")
	kn=$made
	fdper=$(calc "($(dfds) - $fd0) / $made")
	case $err in
	"") ;;
	EMFILE | ENFILE)
		note "Scale: $made of $n slots were created; the next \`exec\` failed cleanly with $err. The daemon's RLIMIT_NOFILE is $lim here (the hard limit; raising it needs CAP_SYS_RESOURCE, which this machine does not grant), spawnfs_run_capacity said $cap, and each running slot holds $(fmt '%.1f' "$fdper") fds, so the scale rows use $made slots." ;;
	*) problem "creating slot $made of $n failed with $err" ;;
	esac
	[ "$made" -gt 0 ] || broken "no scale slot could be created"
	out=$(read_loop "${files[@]}")
	sfull=${out% *} cfull=${out#* }
	st=$(scale_status) || broken "reading $made status files failed"
	running=${st#* }
	[ "$running" = "$made" ] || problem "after creating $made slots, $running are running"
	out=$(ls "$MNT" | wc -l)
	[ "$out" = $((made + entries)) ] || broken "ls of the root lists $out entries, want $((made + entries))"
	for ((r = 1; r <= RUNS; r++)); do
		t0=$(now_us)
		ls "$MNT" >/dev/null || broken "ls of the root failed"
		t1=$(now_us)
		ls+=("$(calc "($t1 - $t0) / 1000")")
		st=$(scale_status) || broken "reading $made status files failed"
		sts+=("${st% *}")
	done
	thr=$(dthreads)
	rss=$(drss)
	fds=$(dfds)
	for ((i = 0; i < ${#ranges[@]}; i++)); do
		[ "${ranges[$i]}" != "4001–5000" ] || { mid=${rates[$i]}; midr=${ranges[$i]}; }
	done
	row "scale: spawn rate while the slots made before run \`sleep 1000\`, slots ${ranges[0]}, ${midr:-4001–5000 (not reached)}, ${ranges[-1]}" \
		"$(fmt '%.0f /s' "${rates[0]}"), $([ -n "$mid" ] && fmt '%.0f /s' "$mid" || echo —), $(fmt '%.0f /s' "${rates[-1]}")" \
		"$(fmt '%.0f runs/s' "$base") (posix_spawn + waitpid, empty machine)" \
		"$([ -n "$mid" ] && ratio "$mid" "${rates[0]}" || echo —) (4001–5000 vs 1–1000); $(ratio "${rates[-1]}" "${rates[0]}") (${ranges[-1]} vs 1–1000)" \
		"$([ -n "$mid" ] && judge "$(calc "$mid / ${rates[0]}")" '>=' 0.7 '≥0.7x')"
	row "scale: create $kn slots running \`sleep 1000\` (once)" \
		"$(fmt '%.1f s' "$(calc "$create / 1000")"): $(fmt '%.0f /s' "$(calc "$made / ($create / 1000)")") overall" \
		"$(fmt '%.0f runs/s' "$base") (posix_spawn + waitpid)" \
		"$(ratio "$(calc "$made / ($create / 1000)")" "$base")" ""
	row "scale: runs the open-file limit allows (\`spawnfs_run_capacity\`), slots running at once" \
		"capacity $cap; $running running at once ($(fmt '%.1f' "$fdper") fds each)" \
		"RLIMIT_NOFILE $lim" "" \
		"$([ "$n" -lt 9000 ] || judge "$running" '>=' 9000 '≥9000 running')"
	row "scale: one open-read-close of \`status\`, $kn slots vs 100 (median per read, 100 slots' files in turn)" \
		"$(fmt '%.0f µs' "$sfull") with $kn (daemon CPU $(fmt '%.0f µs' "$cfull")/read)" \
		"$(fmt '%.0f µs' "$s100") with 100 (daemon CPU $(fmt '%.0f µs' "$c100")/read)" \
		"$(ratio "$sfull" "$s100")" \
		"$(judge "$(calc "$sfull / $s100")" '<=' 1.5 '≤1.5x')"
	row "scale: \`ls\` of the root with $kn slots" \
		"$(fmt '%.1f ms' "$(median "${ls[@]}")")" "" "" \
		"$(judge "$(median "${ls[@]}")" '<' 100 '<100 ms')"
	row "scale: read all $kn status files (C loop)" \
		"$(fmt '%.0f ms' "$(median "${sts[@]}")") ($(fmt '%.1f µs' "$(calc "$(median "${sts[@]}") * 1000 / $made")") each)" \
		"" "" ""
	row "scale: daemon with $kn running slots: RSS, threads, fds" \
		"$(fmt '%.1f MiB' "$(calc "$rss / 1024")") ($(fmt '%.1f KiB' "$(calc "($rss - $rss0) / $made")")/slot), $thr thread(s), $fds fds" \
		"$(fmt '%.1f MiB' "$(calc "$rss0 / 1024")"), $fd0 fds before" "" ""
	note "Scale: slots are made in batches of 1,000 by build/bench/slots (mkdir, then \`exec sleep 1000\` to ctl); the first thousand as 100 and 900, with \`status\` timed in between. Spawn rates: ${ranges[*]} → $(for r in "${rates[@]}"; do fmt '%.0f ' "$r"; done)per second. \`status\`: $RUNS rounds of $FILES_N reads of the first 100 slots' status files in turn, at 100 slots and at $kn; medians of the rounds' medians."
	say "stopping $made slots (unmount)"
	bench_unmount
	row "scale: unmount with $kn running, until the daemon exits (once)" \
		"$(fmt '%.1f s' "$(calc "$STOP_MS / 1000")")" "" "" ""

	bench_mount
	new_slot
	ctl "$SLOT" "exec sleep 1000"
	mkfifo "$SEC/fifo"
	exec 9<>"$SEC/fifo"
	sleep 0.3
	wrss0=$(drss)
	wfd0=$(dfds)
	for ((r = 1; r <= RUNS; r++)); do
		say "scale: $wn waiting readers, round $r"
		waiters_start "$SLOT/stdout" "$wn" "$SLOT/status"
		open+=("$W_OPEN") park+=("$W_PARK")
		if [ "$r" = 1 ]; then
			thr_w=$(dthreads)
			rss_w=$(drss)
			fds_w=$(dfds)
			readers=$(logf "$SLOT" stdout readers)
			[ "$readers" = "$wn" ] || problem "status counts $readers readers, want $wn"
		fi
		waiters_kill
		reap+=("$W_REAP") free+=("$W_FREE")
		rr+=("$(drss)")
		waiters_start "$SEC/fifo" "$wn" -
		waiters_kill
		fifo+=("$W_REAP")
	done
	exec 9>&-
	wrss1=$(drss)
	wfd1=$(dfds)
	row "scale: $wn reader processes waiting on one silent process" \
		"all parked in $(fmt '%.1f s' "$(calc "$(median "${park[@]}") / 1000")"); daemon $(fmt '%.1f MiB' "$(calc "$rss_w / 1024")") (+$(fmt '%.2f KiB' "$(calc "($rss_w - $wrss0) / $wn")")/reader), $thr_w thread(s), $fds_w fds" \
		"$(fmt '%.1f MiB' "$(calc "$wrss0 / 1024")"), $wfd0 fds before" "" ""
	row "scale: kill -9 of $wn waiting readers: until status counts 0" \
		"$(fmt '%.0f ms' "$(median "${free[@]}")") (reaped $(fmt '%.0f ms' "$(median "${reap[@]}")"))" \
		"$(fmt '%.0f ms' "$(median "${fifo[@]}")") (reaped, readers of a FIFO)" \
		"$(ratio "$(median "${free[@]}")" "$(median "${fifo[@]}")")" \
		"$(judge "$(median "${free[@]}")" '<=' 1000 'all freed ≤1 s')"
	later=$((wrss1 - rr[0]))
	row "scale: $RUNS rounds of $wn killed readers: daemon RSS growth; fds" \
		"+$((rr[0] - wrss0)) KiB in round 1 (its high-water mark), +$later KiB in rounds 2-$RUNS; fds $wfd0 → $wfd1" \
		"$(fmt '%.1f MiB' "$(calc "$wrss0 / 1024")") before, $(fmt '%.1f MiB' "$(calc "$wrss1 / 1024")") after" "" \
		"$(judge "$later" '<' 1024 '<1 MiB after round 1')$([ "$wfd0" = "$wfd1" ] && echo ', fds same (met)' || echo ', fds same (missed)')"
	bench_unmount
}

# --- 7b. upgrade in place: the pause with many full logs

# upgrade_probe MODE: one upgrade in place (SIGUSR2 to the daemon), timed
# from the kill by a client, or (MODE read) one read of metrics alone.
# MODE stat: stat(2) of the root in a loop until the daemon has logged
# that the new image serves, then that stat's completion (the first
# request the new image answered). MODE metrics: read metrics in a loop
# until one shows the next generation (a read the pause holds is sent
# again and answered by the new image). Prints "ext_us=T pause_s=P
# result=R": P is the pause the daemon reports, R the result.
upgrade_probe() {
	python3 - "$1" "$DAEMON_PID" "$MNT" "$DAEMON_LOG" <<'PY'
import os, signal, sys, time

mode, pid, mnt, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
path = mnt + "/metrics"
limit = 60e9


def sample():
    with open(path, "rb") as f:
        text = f.read().decode()
    got = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        key, value = line.rsplit(" ", 1)
        got[key] = value
        if key.startswith("spawnfs_upgrade_last{"):
            got["result"] = key.split('result="', 1)[1].split('"', 1)[0]
    return got


if mode == "read":
    t0 = time.monotonic_ns()
    sample()
    print("ext_us=%d" % ((time.monotonic_ns() - t0) // 1000))
    sys.exit(0)
gen0 = int(sample()["spawnfs_upgrade_generation"])
logf = open(log, "rb")
logf.seek(0, 2)
seen = b""
t0 = time.monotonic_ns()
os.kill(pid, signal.SIGUSR2)
while True:
    if mode == "stat":
        os.stat(mnt)
        t1 = time.monotonic_ns()
        seen += logf.read()
        if b"(upgraded in place)" in seen or b"upgrade: refused" in seen \
                or b"upgrade: failed" in seen:
            break
    else:
        m = sample()
        t1 = time.monotonic_ns()
        if int(m["spawnfs_upgrade_generation"]) > gen0:
            break
    if t1 - t0 > limit:
        print("ext_us=-1 result=timeout")
        sys.exit(1)
m = sample()
while int(m["spawnfs_upgrade_generation"]) <= gen0:
    time.sleep(0.01)
    m = sample()
print("ext_us=%d pause_s=%s result=%s" % (
    (t1 - t0) // 1000, m.get("spawnfs_upgrade_pause_seconds", "nan"),
    m.get("result", "none")))
PY
}

# full_slots: how many slots have both stdout and stderr paused with
# their window full.
full_slots() {
	cat "$MNT"/*/status 2>/dev/null | jq -s --argjson b "$UPGRADE_BUF" \
		'[.[] | select(.logs.stdout.paused and .logs.stderr.paused and
			.logs.stdout.retained == $b and .logs.stderr.retained == $b)] | length'
}
full_slots_are() {
	[ "$(full_slots)" = "$1" ]
}

# run_pids: a digest of every run's pid.
run_pids() {
	cat "$MNT"/*/status 2>/dev/null | jq -r .pid | sort | md5sum
}

# Slots whose logs are full (a job writing to stdout and stderr that
# nobody reads, paused by back-pressure): 1, then 100, then 1,000 of them.
# At each count RUNS upgrades timed by a stat of the root and RUNS timed
# by a read of metrics, alternated.
sec_upgrade() {
	local n have=0 r out mode ps=() pm=() ext_stat=() ext_met=() rd=()
	local rss0 rss1 shm0 shm1 pids0 step=0 psm pmm sm mm rdm
	# The daemon runs (and upgrades to) a copy of the program, so that a
	# rebuild of build/ meanwhile changes nothing under measurement.
	mkdir -p "$WORK/upgrade-bin"
	cp "$SPAWNFS" "$WORK/upgrade-bin/spawnfs" || broken "copying $SPAWNFS failed"
	SPAWNFS=$WORK/upgrade-bin/spawnfs
	sec_start upgrade "[process]" "max_processes = 2000" \
		"[stream]" "buffer_size = 256K"
	UPGRADE_BUF=$((256 * 1024))
	for n in $UPGRADE_SIZES; do
		step=$((step + 1))
		if [ "$n" -gt "$have" ]; then
			out=$("$BIN/slots" create "$MNT" "u${step}_" $((n - have)) \
				'start yes & exec yes >&2') ||
				broken "creating $((n - have)) slots failed: $out"
			have=$n
		fi
		wait_for $((60 + n / 10)) "$n slots with full stdout and stderr" \
			full_slots_are "$n"
		sleep 0.5
		rss0=$(drss)
		shm0=$(awk '/^RssShmem/ { print $2 }' "/proc/$DAEMON_PID/status")
		pids0=$(run_pids)
		ps=() pm=() ext_stat=() ext_met=() rd=()
		for ((r = 0; r < RUNS; r++)); do
			out=$(upgrade_probe read) || broken "reading metrics: $out"
			rd+=("$(field ext_us "$out")")
			for mode in stat metrics; do
				out=$(upgrade_probe "$mode") ||
					broken "upgrade with $n slots: $out"
				[ "$(field result "$out")" = ok ] ||
					broken "upgrade with $n slots: $out ($(grep 'upgrade:' "$DAEMON_LOG" | tail -n 1))"
				if [ "$mode" = stat ]; then
					ps+=("$(field pause_s "$out")")
					ext_stat+=("$(field ext_us "$out")")
				else
					pm+=("$(field pause_s "$out")")
					ext_met+=("$(field ext_us "$out")")
				fi
				kill -0 "$DAEMON_PID" 2>/dev/null ||
					broken "the daemon is gone after an upgrade"
				sleep 0.2
			done
		done
		rss1=$(drss)
		shm1=$(awk '/^RssShmem/ { print $2 }' "/proc/$DAEMON_PID/status")
		[ "$pids0" = "$(run_pids)" ] ||
			problem "the runs' pids changed in an upgrade ($n slots)"
		full_slots_are "$n" ||
			problem "after the upgrades $(full_slots) of $n slots are full"
		[ "$(awk '$1 == "spawnfs_daemon_pid" { print $2 }' "$MNT/metrics")" = "$DAEMON_PID" ] ||
			problem "the daemon's pid changed in an upgrade"
		say "upgrade, $n full slots: stat probe: daemon ${ps[*]} s, client ${ext_stat[*]} us; metrics probe: daemon ${pm[*]} s, client ${ext_met[*]} us; metrics alone ${rd[*]} us"
		psm=$(calc "$(median "${ps[@]}") * 1000")
		pmm=$(calc "$(median "${pm[@]}") * 1000")
		sm=$(calc "$(median "${ext_stat[@]}") / 1000")
		mm=$(calc "$(median "${ext_met[@]}") / 1000")
		rdm=$(calc "$(median "${rd[@]}") / 1000")
		row "upgrade in place: pause, $n full slots (daemon-reported; client: kill -USR2 to a stat of the root answered by the new image)" \
			"daemon $(fmt '%.1f ms' "$psm"), client $(fmt '%.1f ms' "$sm")" \
			"polling metrics instead: daemon $(fmt '%.1f ms' "$pmm"), client $(fmt '%.1f ms' "$mm") (one metrics read alone: $(fmt '%.1f ms' "$rdm"))" "" \
			"$([ "$n" = 1000 ] && echo "$(judge "$sm" '<' 200 '<200 ms: stat client'), $(judge "$mm" '<' 200 'metrics client')")"
		row "upgrade in place: daemon RSS, $n full slots, before the first / after the last upgrade" \
			"$(fmt '%.1f' "$(calc "$rss0 / 1024")") / $(fmt '%.1f MiB' "$(calc "$rss1 / 1024")")" \
			"rings mapped (RssShmem): $(fmt '%.1f' "$(calc "$shm0 / 1024")") / $(fmt '%.1f MiB' "$(calc "$shm1 / 1024")")" "" ""
	done
	note "Upgrade in place: each slot runs 'yes & exec yes >&2' with nobody reading, so stdout and stderr hold a full 256 KiB window (buffer_size) and the job is paused. At each count $RUNS upgrades probed with stat and $RUNS with metrics, alternated; medians. 'daemon' is spawnfs_upgrade_pause_seconds (from handling SIGUSR2 to serving in the new image, the --check-state child and the exec included); the stat client runs from kill -USR2 until the first stat of the root that completes once the new image has logged that it serves; the metrics client reads metrics in a loop until a read shows the new generation, so its figure includes one metrics read (whose cost alone is given too) and its reads keep the daemon busy when the signal comes. The target is judged on both clients. RSS is the daemon's VmRSS; the rings are a shared memfd that the new image maps again, so their pages count in RSS only once touched (the memory stays held in the memfd). Every run kept its pid and every log stayed full. Load average after the section: $(cut -d' ' -f1-3 /proc/loadavg)."
	bench_unmount
}

# --- 8. peers: a file with tail -f, supervisord

sv_conf() {
	local d=$SEC/sv
	mkdir -p "$d"
	cat >"$d/supervisord.conf" <<EOF
[unix_http_server]
file=$d/supervisor.sock

[supervisord]
nodaemon=true
user=root
logfile=$d/supervisord.log
pidfile=$d/supervisord.pid
childlogdir=$d

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$d/supervisor.sock

[program:thru]
command=$BIN/producer $SV_BYTES
autostart=false
autorestart=false
startsecs=0
stdout_logfile=$d/thru.log
stdout_logfile_maxbytes=0

[program:idle]
command=$BIN/producer 0
autostart=false
autorestart=false
startsecs=0
stdout_logfile=$d/idle.log
EOF
	SVC="supervisorctl -c $d/supervisord.conf"
}

stop_supervisord() {
	local t=0
	kill -TERM "$SV_PID" 2>/dev/null
	while kill -0 "$SV_PID" 2>/dev/null; do
		t=$((t + 1))
		if [ "$t" -gt 1500 ]; then
			problem "supervisord did not stop within 15 s"
			kill -9 "$SV_PID"
			break
		fi
		sleep 0.01
	done
	wait "$SV_PID" 2>/dev/null
	SV_PID=
}

sv_not_running() {
	! $SVC status thru 2>/dev/null | grep -q RUNNING
}

sv_up() {
	$SVC status >/dev/null 2>&1
	[ $? -le 3 ] && [ -S "$SEC/sv/supervisor.sock" ]
}

sec_peers_file() {
	local n=$TP_BYTES p=$BIN/producer r ppid tpid t0 t1 fsz tree tp=()
	local cap avail c0 c1 sc0 sc1 cpid rss held fcpu scpu
	# (a) a file and tail -f: the reader follows the file as it grows.
	for ((r = 0; r <= RUNS; r++)); do
		rm -f "$SEC/file" "$SEC/out"
		: >"$SEC/file"
		t0=$(now_us)
		"$p" "$n" >>"$SEC/file" &
		ppid=$!
		if [ "$r" = 0 ]; then
			timeout -s KILL "$JOB_LIMIT" bash -c "tail -s 0.01 -c +1 -f --pid=$ppid '$SEC/file' | wc -c >'$SEC/out'" &
		else
			timeout -s KILL "$JOB_LIMIT" tail -s 0.01 -c +1 -f --pid="$ppid" "$SEC/file" >/dev/null &
		fi
		tpid=$!
		wait "$ppid" || broken "producer into a file failed"
		wait "$tpid" || broken "tail -f of the file failed"
		t1=$(now_us)
		fsz=$(stat -c %s "$SEC/file")
		[ "$fsz" = "$n" ] || broken "the file holds $fsz bytes, want $n"
		[ "$r" = 0 ] && check_count "$SEC/out" "$n" "tail -f of the file"
		[ "$r" = 0 ] || tp+=("$(mibps "$n" $((t1 - t0)))")
	done
	rm -f "$SEC/file"
	tree=$(figv tp_cat)
	row "peer: producer ($((n / MIB)) MiB) to a file, \`tail -c +1 -f\` reader" \
		"$(fmt '%.0f MiB/s' "$tree") (\`cat\` of stdout, above)" \
		"$(fmt '%.0f MiB/s' "$(median "${tp[@]}")") (file + tail -f)" \
		"$(ratio "$tree" "$(median "${tp[@]}")")" ""

	# No reader for PEER_IDLE_S seconds: the file grows; the slot pauses.
	avail=$(df -B1 --output=avail "$SEC" | tail -n 1)
	cap=$((avail / 4))
	[ "$cap" -lt $((16 << 30)) ] || cap=$((16 << 30))
	new_slot
	ctl "$SLOT" "exec $p 0"
	wait_for 10 "the producer slot to pause" stdout_paused "$SLOT"
	cpid=$(jq -r .pid "$SLOT/status")
	rm -f "$SEC/idle"
	"$p" "$cap" >"$SEC/idle" &
	ppid=$!
	c0=$(pcpu "$ppid")
	sc0=$(($(dcpu) + $(pcpu "$cpid")))
	sleep "$PEER_IDLE_S"
	c1=$(pcpu "$ppid")
	sc1=$(($(dcpu) + $(pcpu "$cpid")))
	fsz=$(stat -c %s "$SEC/idle")
	kill -0 "$ppid" 2>/dev/null || note "Idle file: the producer reached its cap of $((cap >> 20)) MiB (a quarter of the free disk, at most 16 GiB) within ${PEER_IDLE_S} s."
	kill "$ppid" 2>/dev/null
	wait "$ppid" 2>/dev/null
	rm -f "$SEC/idle"
	rss=$(drss)
	held=$(jq '[.logs[].retained] | add' "$SLOT/status")
	fcpu=$(calc "($c1 - $c0) / $TICK")
	scpu=$(calc "($sc1 - $sc0) / $TICK")
	fig idle_cpu "$scpu"
	fig idle_held "$held"
	fig idle_rss "$rss"
	row "peer, no reader for $PEER_IDLE_S s: CPU (daemon + child vs producer into a file) (once)" \
		"$(fmt '%.2f s' "$scpu")" "$(fmt '%.2f s' "$fcpu") (file)" \
		"$(ratio "$scpu" "$fcpu")" ""
	row "peer, no reader for $PEER_IDLE_S s: bytes kept (daemon memory vs file on disk) (once)" \
		"$(fmt '%.0f KiB' "$(calc "$held / 1024")") held, daemon RSS $(fmt '%.1f MiB' "$(calc "$rss / 1024")")" \
		"$(fmt '%.0f MiB' "$(calc "$fsz / 1048576")") (file)" \
		"$(ratio "$held" "$fsz")" ""
	echo kill >"$SLOT/ctl" 2>/dev/null
}

sec_peers_sv() {
	local r cpid spid t0 out got last tp=() timeouts=0 c0 c1 pid1 logs rss
	local overs=() over
	command -v supervisord >/dev/null || return 0
	sv_conf
	supervisord -n -c "$SEC/sv/supervisord.conf" >"$SEC/sv/out" 2>&1 &
	SV_PID=$!
	wait_for 30 "supervisord to answer" sv_up
	mkfifo "$SEC/sv/fifo"
	# The client's own start-up, measured here and taken off each run.
	for ((r = 1; r <= RUNS; r++)); do
		t0=$(now_us)
		$SVC pid thru >/dev/null
		overs+=($(($(now_us) - t0)))
	done
	over=$(median "${overs[@]}")
	for ((r = 1; r <= RUNS; r++)); do
		: >"$SEC/sv/thru.log"
		"$BIN/count_bytes" "$SV_BYTES" 30 29 <"$SEC/sv/fifo" >"$SEC/sv/count" &
		cpid=$!
		$SVC tail -f thru >"$SEC/sv/fifo" 2>/dev/null &
		spid=$!
		sleep 1
		t0=$(now_us)
		$SVC start thru >/dev/null || broken "supervisorctl start thru failed"
		wait "$cpid"
		kill "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		read -r got _ out last <"$SEC/sv/count"
		[ "$out" = 0 ] || timeouts=$((timeouts + 1))
		[ "$got" = "$SV_BYTES" ] || problem "supervisorctl tail -f delivered $got bytes, want $SV_BYTES"
		tp+=("$(mibps "$got" "$(calc "$last - $t0 - $over")")")
		wait_for 60 "supervisord's thru to end" sv_not_running
	done
	row "peer: supervisord program ($((SV_BYTES / MIB)) MiB), \`supervisorctl tail -f\` reader" \
		"$(fmt '%.0f MiB/s' "$(figv tp_cat)") (\`cat\` of stdout, above)" \
		"$(fmt '%.1f MiB/s' "$(median "${tp[@]}")") (supervisord)" \
		"$(ratio "$(figv tp_cat)" "$(median "${tp[@]}")")" ""
	note "supervisord: \`supervisorctl tail -f\` starts at the end of the log, so each run truncates thru.log, connects, waits 1 s, then runs \`supervisorctl start thru\`; the time runs from that command to the last byte received, less the client's own start-up ($(fmt '%.0f ms' "$(calc "$over / 1000")"), the median time of a \`supervisorctl pid\`). That program has stdout_logfile_maxbytes=0 (no rotation). supervisord captures the burst at once and tail -f sends it as one chunk whose cost grows faster than its size, so this row uses $((SV_BYTES / MIB)) MiB."
	[ "$timeouts" = 0 ] || problem "supervisord: in $timeouts of $RUNS runs \`supervisorctl tail -f\` did not deliver all $SV_BYTES bytes within 30 s"

	$SVC start idle >/dev/null || broken "supervisorctl start idle failed"
	pid1=$($SVC pid idle)
	c0=$(($(pcpu "$SV_PID") + $(pcpu "$pid1")))
	sleep "$PEER_IDLE_S"
	c1=$(($(pcpu "$SV_PID") + $(pcpu "$pid1")))
	rss=$(prss "$SV_PID")
	logs=$(find "$SEC/sv" -name 'idle.log*' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
	$SVC stop idle >/dev/null
	stop_supervisord
	row "peer, no reader for $PEER_IDLE_S s: CPU (daemon + child vs supervisord + child) (once)" \
		"$(fmt '%.2f s' "$(figv idle_cpu)")" \
		"$(fmt '%.2f s' "$(calc "($c1 - $c0) / $TICK")") (supervisord)" \
		"$(ratio "$(figv idle_cpu)" "$(calc "($c1 - $c0) / $TICK")")" ""
	row "peer, no reader for $PEER_IDLE_S s: bytes kept (daemon memory vs supervisord logs) (once)" \
		"$(fmt '%.0f KiB' "$(calc "$(figv idle_held) / 1024")") held, daemon RSS $(fmt '%.1f MiB' "$(calc "$(figv idle_rss) / 1024")")" \
		"$(fmt '%.0f MiB' "$(calc "$logs / 1048576")") logs, RSS $(fmt '%.1f MiB' "$(calc "$rss / 1024")") (supervisord)" \
		"$(ratio "$(figv idle_held)" "$logs")" ""
	note "supervisord idle program: default log rotation (stdout_logfile_maxbytes=50MB, 10 backups), so its logs stop growing near 550 MB and older output is lost."
}

sec_peers() {
	SV_PID=
	sec_start peers
	sec_peers_file
	sec_peers_sv
	bench_unmount
}

# --- driver

global_cleanup() {
	local rc=$? pid mnt
	trap - EXIT
	if [ -n "${SECTION_PID:-}" ]; then
		kill -TERM "$SECTION_PID" 2>/dev/null
		wait "$SECTION_PID" 2>/dev/null
	fi
	[ -n "$POLICY_MADE" ] && rm -f /usr/sbin/policy-rc.d
	while read -r pid mnt; do
		if grep -q " $mnt fuse" /proc/self/mounts; then
			fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null
		fi
		kill -0 "$pid" 2>/dev/null && sleep 1
		kill -9 "$pid" 2>/dev/null
	done <"$DAEMONS"
	grep -q " $WORK/" /proc/self/mounts || rm -rf --one-file-system "$WORK"
	exit "$rc"
}

run_section() {
	local name=$1 rc
	shift
	case " ${BENCH_ONLY:-$name} " in
	*" ${name%% *} "*) ;;
	*) return 0 ;;
	esac
	("$@") &
	SECTION_PID=$!
	wait "$SECTION_PID"
	rc=$?
	SECTION_PID=
	[ "$rc" = 0 ] || printf 'section %s stopped early (status %s)\n' "$name" "$rc" >>"$PROBLEMS"
}

main() {
	local n header total
	trap global_cleanup EXIT
	trap 'exit 130' INT TERM
	build_all || { cat "$PROBLEMS" >&2; exit 1; }
	header=$(machine)
	run_section throughput sec_throughput
	run_section fanout sec_fanout
	run_section latency sec_latency
	run_section mix sec_mix
	run_section unattended sec_unattended
	for n in $IDLE_SIZES; do
		run_section "idle $n" sec_idle "$n"
	done
	run_section churn sec_churn
	run_section spawn sec_spawn
	run_section files sec_files
	run_section scale sec_scale
	run_section upgrade sec_upgrade
	run_section peers sec_peers
	run_section net sec_net
	total=$((($(now_us) - START_US) / 1000000))

	echo "$header"
	echo
	echo "| benchmark | spawnfs | baseline | ratio | target |"
	echo "|---|---|---|---|---|"
	# A | inside a cell (even in a code span) must be escaped in markdown.
	awk -F'\t' '{ for (i = 1; i <= 5; i++) gsub(/\|/, "\\|", $i)
		printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$ROWS"
	echo
	if [ -s "$NOTES" ]; then
		sed 's/^/- /' "$NOTES"
		echo
	fi
	if [ -s "$PROBLEMS" ]; then
		echo "Problems (the run exits 1):"
		echo
		sed 's/^/- /' "$PROBLEMS"
		echo
	else
		echo "No problems: every byte count matched and every reader was freed."
		echo
	fi
	echo "Total run time: $((total / 60)) min $((total % 60)) s."
	[ ! -s "$PROBLEMS" ]
}

main "$@"
