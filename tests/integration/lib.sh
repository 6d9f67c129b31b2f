# Shared set-up for integration tests: a real mount in a fresh temporary
# directory, the daemon in the foreground, and a trap that always
# unmounts and reaps. Every wait has a deadline.
set -euo pipefail

: "${SPAWNFS:?path to the spawnfs binary}"
: "${HELPERS:=}"
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/spawnfs-${TEST_NAME}.XXXXXX")
MNT=$WORK/mnt
CONF=$WORK/spawnfs.ini
DAEMON_LOG=$WORK/daemon.log
DAEMON_PID=
mkdir -p "$MNT"
: >"$CONF"

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	if [ -s "$DAEMON_LOG" ]; then
		echo "--- daemon log (tail)" >&2
		tail -n 30 "$DAEMON_LOG" >&2
	fi
	exit 1
}

ok() {
	echo "ok: $*"
}

# slow_factor: how many times longer a deadline may be here: 10 with the
# daemon under SPAWNFS_WRAP (valgrind runs it 20-50 times slower), else 1.
# Only upper bounds, which catch a hang or a stall, are scaled; a lower
# bound (something must not happen too soon) never is.
slow_factor() {
	if [ -n "${SPAWNFS_WRAP:-}" ]; then
		echo 10
	else
		echo 1
	fi
}

# slow_ms MS: the hang bound MS, in ms, scaled by slow_factor.
slow_ms() {
	echo $(($1 * $(slow_factor)))
}

# wrap_count N SMALL: a repeat count: N normally, SMALL under SPAWNFS_WRAP,
# where each request costs the daemon tens of times more. Use it only
# where the smaller count still shows the same thing (under valgrind one
# leaked fd or block is reported, however few the repeats).
wrap_count() {
	if [ -n "${SPAWNFS_WRAP:-}" ]; then
		echo "$2"
	else
		echo "$1"
	fi
}

# wait_until SECONDS COMMAND...: poll_until with SECONDS scaled by
# slow_factor: every such wait only bounds a hang.
wait_until() {
	local limit=$(($1 * $(slow_factor)))
	shift
	poll_until "$limit" "$@"
}

# The mount harness: poll_until, is_mounted, daemon_wrap, mount_fs,
# check_valgrind, unmount_fs.
# shellcheck source=mount.sh
. "$(dirname "${BASH_SOURCE[0]}")/mount.sh"

cleanup() {
	local rc=$? drc=0
	cd /
	# Kill what the test started in the background (readers, writers).
	jobs -p | grep -vx "${DAEMON_PID:-none}" | xargs -r kill -9 2>/dev/null || true
	unmount_fs || drc=$?
	cgroup_sweep
	# A daemon that exits non-zero (a sanitizer or valgrind report, a
	# crash) fails the test.
	if [ "$rc" = 0 ] && [ "$drc" != 0 ]; then
		echo "FAIL: $TEST_NAME: daemon exited with status $drc" >&2
		tail -n 40 "$DAEMON_LOG" >&2
		rc=1
	fi
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT

# Daemon figures from /proc.
daemon_cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat"
}
daemon_rss_kb() {
	awk '/^VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"
}
daemon_fds() {
	ls "/proc/$DAEMON_PID/fd" | wc -l
}
proc_cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}
# The state letter (R, S, D, Z...) of a pid, or "gone".
proc_state() {
	awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo gone
}

# json FILE KEY: a value from a status file (jq expression).
json() {
	jq -r "$2" "$1"
}

# slot NAME: create a slot and print its path.
slot() {
	mkdir "$MNT/$1"
	echo "$MNT/$1"
}

# ctl SLOT LINE...: write control lines to a slot.
ctl() {
	local s=$1
	shift
	printf '%s\n' "$@" >"$s/ctl"
}

# state_is SLOT STATE: the slot's status shows STATE now.
state_is() {
	[ "$(jq -r .state "$1/status")" = "$2" ]
}

# wait_state SLOT STATE [SECONDS]
wait_state() {
	wait_until "${3:-10}" state_is "$1" "$2"
}

# --- ctl helpers
# (used by t_ctl_*.sh, t_stdin_*.sh and t_daemon_*.sh)

# write_fails WANT FILE TEXT: a printf of TEXT into FILE (">>", so O_APPEND)
# must fail, and the shell's message must contain WANT (a strerror text).
# SIGPIPE is ignored in the writing subshell so EPIPE shows as an error.
write_fails() {
	local want=$1 file=$2 text=$3 out
	if out=$( (trap '' PIPE; printf '%s' "$text" >>"$file") 2>&1); then
		fail "write to $file succeeded, wanted '$want': $text"
	fi
	case $out in
	*"$want"*) ;;
	*) fail "write to $file: wanted '$want', got '$out'" ;;
	esac
}

# ctl_fails SLOT WANT LINE...: writing the LINEs (one write) to SLOT/ctl
# must fail with the strerror text WANT.
ctl_fails() {
	local s=$1 want=$2
	shift 2
	write_fails "$want" "$s/ctl" "$(printf '%s\n' "$@")
"
}

# proc_table: "PID PPID STATE PGID SID" for every process, one a line
# (the comm field, which may hold blanks, is cut off). The daemon's
# spawner (the process that forks its runs, named spawnfs-spawner) is
# part of the daemon, not one of its children: it is left out.
proc_table() {
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } |
		awk '/ \(spawnfs-spawner\) / { next }
		     { s = $0; sub(/^.*\) /, "", s); split(s, a, " ");
		       print $1, a[2], a[1], a[3], a[4] }'
}

# stat_field PID N: field N (1-based, as in proc(5), N >= 3) of
# /proc/PID/stat, or nothing when the pid is gone.
stat_field() {
	local line
	line=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	echo "${line##*) }" | awk -v n=$(($2 - 2)) '{ print $n }'
}

# pid_dead PID: the pid no longer runs (gone, or a zombie nobody reaped:
# this system's init may not reap orphans).
pid_dead() {
	local st
	st=$(proc_state "$1")
	[ "$st" = gone ] || [ "$st" = Z ]
}

# wait_dead SECONDS PID...: fail unless every PID dies in time.
wait_dead() {
	local limit=$1 p
	shift
	for p in "$@"; do
		wait_until "$limit" pid_dead "$p"
	done
}

# daemon_pids: the live processes whose command line holds $MNT as a word
# (daemons that mount(8) or a detaching spawnfs started: not our
# children), one a line.
daemon_pids() {
	local f p
	for f in /proc/[0-9]*/cmdline; do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" != $$ ] || continue
		grep -qzx -- "$MNT" "$f" 2>/dev/null || continue
		pid_dead "$p" || echo "$p"
	done
}

# children_of PID: the pids whose parent is PID, one a line.
children_of() {
	proc_table | awk -v p="$1" '$2 == p { print $1 }'
}

# zombies_of PID: the zombie children of PID, one a line.
zombies_of() {
	proc_table | awk -v p="$1" '$2 == p && $3 == "Z" { print $1 }'
}

# now_ms: a monotonic-enough clock in milliseconds.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# session_pids SID: the live (not zombie) pids of session SID.
session_pids() {
	proc_table | awk -v s="$1" '$5 == s && $3 != "Z" { print $1 }'
}

# until_true SECONDS TEXT: like wait_until, but the shell TEXT is evaluated
# afresh on every try (wait_until's arguments are expanded only once).
until_true() {
	local limit=$1
	shift
	wait_until "$limit" eval "$*"
}

# state_is SLOT STATE: the slot's status shows STATE (a predicate for
# wait_until).

# rss_limit KIB BEFORE AFTER WHAT: fail if the daemon's RSS grew by KIB or
# more; skipped under SPAWNFS_WRAP (valgrind's RSS is not the daemon's)
# and in sanitizer builds (ASan keeps freed memory in quarantine).
rss_limit() {
	[ -z "${SPAWNFS_WRAP:-}" ] || return 0
	[ -z "${SPAWNFS_SANITIZED:-}" ] || return 0
	[ $(($3 - $2)) -lt "$1" ] ||
		fail "daemon rss grew by $(($3 - $2)) KiB ($2 -> $3): $4"
}

# --- logs helpers

# logs_field SLOT LOG KEY: a per-log figure from status (bytes, retained,
# readers, paused), read afresh at each call.
logs_field() {
	jq -r ".logs.$2.$3" "$1/status"
}

# logs_field_is SLOT LOG KEY VALUE: for wait_until (re-reads status).
logs_field_is() {
	[ "$(logs_field "$1" "$2" "$3")" = "$4" ]
}

# logs_field_gt SLOT LOG KEY N: for wait_until (re-reads status).
logs_field_gt() {
	[ "$(logs_field "$1" "$2" "$3")" -gt "$4" ]
}



# logs_helper NAME: the path of a compiled C helper; fails if not built.
logs_helper() {
	[ -x "$HELPERS/$1" ] || fail "helper $1 not built in '$HELPERS'"
	echo "$HELPERS/$1"
}

# wait_for SLOT WANT WHAT: the slot's wait reads WANT within 20 s; if not,
# fail naming the slot's state and what its pid is (a zombie the daemon
# has not reaped, for one).
wait_for() {
	local got pid
	got=$(timeout 20 cat "$1/wait") || true
	[ "$got" = "$2" ] && return 0
	pid=$(json "$1/status" .pid)
	fail "$3: wait read '$got', want $2;" \
		"status $(jq -c '{state, pid, status}' "$1/status")," \
		"pid state $(proc_state "$pid")"
}

# fails_with WANT CMD...: CMD must fail, and its message (C locale) must
# end with the strerror text WANT, so the errno is exactly the one wanted.
fails_with() {
	local want=$1 out
	shift
	if out=$(LC_ALL=C "$@" 2>&1); then
		fail "succeeded, wanted '$want': $*"
	fi
	case $out in
	*": $want") ;;
	*) fail "$*: wanted '$want', got '$out'" ;;
	esac
}

# HANG: the bound, in seconds, on any one call that must not hang.
HANG=20
[ -z "${SPAWNFS_WRAP:-}" ] || HANG=120

# slots: the slot directories, sorted, on one line.
slots() {
	find "$MNT" -mindepth 1 -maxdepth 1 -type d ! -name by-pid -printf '%f\n' |
		LC_ALL=C sort | tr '\n' ' '
}

# trap_cleanup FN: on exit, FN RC runs first (it undoes what the test
# made, and returns the status to keep), then the cleanup above.
trap_cleanup() {
	EXTRA_CLEANUP=$1
	trap extra_cleanup_trap EXIT
}
extra_cleanup_trap() {
	local rc=$?
	"$EXTRA_CLEANUP" "$rc" || rc=$?
	life_status "$rc" || cleanup
	cleanup
}

# cleanup_status RC DRC: RC, but 1 (with the daemon log) when the test
# passed and its own cleanup failed (DRC not 0).
cleanup_status() {
	if [ "$1" = 0 ] && [ "$2" != 0 ]; then
		echo "FAIL: $TEST_NAME: cleanup or a daemon failed ($2)" >&2
		tail -n 40 "$DAEMON_LOG" >&2 2>/dev/null || true
		return 1
	fi
	return "$1"
}

# --- lifecycle helpers
# (used by t_events_*.sh, t_pty_*.sh, t_life_*.sh and t_poll_*.sh)

# life_ev_check FILE: FILE is a well-formed events log: it ends with a
# newline, every line alone is one JSON object with a numeric seq, an RFC
# 3339 UTC time with microseconds and a known type carrying its fields;
# seq strictly increases and time never goes back. Prints the reason and
# returns 1 otherwise.
life_ev_check() {
	local f=$1
	[ -s "$f" ] || { echo "$f: empty"; return 1; }
	[ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] ||
		{ echo "$f: no final newline"; return 1; }
	jq -R -n -r '
	def time_ok: type == "string" and
		test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$");
	def num_or_null: type == "number" or type == "null";
	def str_or_null: type == "string" or type == "null";
	def shape_ok:
		(.seq | type == "number") and (.time | time_ok) and
		if .type == "start" then
			(.pid | type == "number") and (.argv | type == "array")
			and all(.argv[]; type == "string")
		elif .type == "stdout" or .type == "stderr" then
			((has("data") and (.data | type == "string")) !=
			 (has("data_base64") and (.data_base64 | type == "string")))
		elif .type == "signal" then .signal | type == "string"
		elif .type == "eof" then true
		elif .type == "end" then
			(.exit_code | num_or_null) and (.signal | str_or_null)
			and (.status | type == "number")
		elif .type == "error" then .error | type == "string"
		else false end;
	[inputs | fromjson] as $e
	| ($e | map(type == "object") | all) as $objs
	| if ($objs | not) then "a line is not an object"
	  elif ([$e[] | shape_ok] | all | not) then
		"bad event: " + ([$e[] | select(shape_ok | not)][0] | tojson)
	  elif ([range(1; $e | length) | select($e[.].seq <= $e[. - 1].seq)]
		| length > 0) then "seq does not increase"
	  elif ([range(1; $e | length) | select($e[.].time < $e[. - 1].time)]
		| length > 0) then "time goes back"
	  else empty end' "$f" >"$f.why" 2>&1 || true
	if [ -s "$f.why" ]; then
		echo "$f: $(head -c 300 "$f.why")"
		return 1
	fi
}

# life_ev_data FILE TYPE: the bytes of the TYPE events (stdout or stderr)
# of an events log, decoded (data, or data_base64) and concatenated.
life_ev_data() {
	local line
	jq -r --arg t "$2" \
		'select(.type == $t) | .data_base64 // (.data | @base64)' "$1" |
		while IFS= read -r line; do
			printf '%s' "$line" | base64 -d || return 1
		done
}

# life_ev_types FILE: the event types of an events log, blank-separated.
life_ev_types() {
	jq -r .type "$1" | tr '\n' ' ' | sed 's/ $//'
}

# life_ev_merged FILE: the types with runs of stdout/stderr events merged
# into one ("start stdout end"), so a test does not depend on how the
# output was split into reads.
life_ev_merged() {
	jq -r .type "$1" | uniq | tr '\n' ' ' | sed 's/ $//'
}

# life_exists PATH / life_gone PATH: predicates for wait_until.
life_exists() {
	[ -e "$1" ]
}
life_gone() {
	[ ! -e "$1" ] && [ ! -L "$1" ]
}

# life_listed DIR NAME: ls DIR shows NAME.
life_listed() {
	# shellcheck disable=SC2010 # readdir itself is under test
	ls -a "$1" | grep -qxF "$2"
}

# life_contains FILE TEXT: FILE holds TEXT (fixed string).
life_contains() {
	grep -qF -- "$2" "$1"
}

# life_wait_pid SECONDS PID: wait for the background job PID (started
# without a timeout wrapper, so that cleanup's kill reaches the reader
# itself) to end; fail after SECONDS (scaled by slow_factor). Returns the
# job's exit status.
life_wait_pid() {
	local limit=$(($1 * $(slow_factor))) pid=$2 t=0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 0.05
		t=$((t + 1))
		[ "$t" -lt $((limit * 20)) ] ||
			fail "background job $pid still runs after ${limit}s"
	done
	wait "$pid"
}

# life_trap_fds FD...: close these descriptors before cleanup runs. An fd
# the test shell itself holds on the mount (exec 3<...) would otherwise
# keep the lazy unmount, and so the daemon, alive after a failure. cleanup
# reads the exit status from $?, so it is restored (without tripping
# set -e: cleanup itself always exits, so the second call only runs when
# the status was 0).
life_status() {
	return "$1"
}
life_trap_fds() {
	local fd closes=
	for fd in "$@"; do
		closes="$closes $fd<&-"
	done
	# shellcheck disable=SC2064,SC2154
	trap "life_rc=\$?; exec$closes; life_status \$life_rc || cleanup; cleanup" EXIT
}

# --- metrics

# metric NAME: the value of one sample of $MNT/metrics (whole name, labels
# included); metric_is NAME VALUE: it equals VALUE (for wait_until).
metric() {
	awk -v k="$1" '$1 == k { print $2 }' "$MNT/metrics"
}
metric_is() {
	[ "$(metric "$1")" = "$2" ]
}

# --- a second, stopped tree (t_ctl_interrupt, t_race_report)

# stall_up: mount a second tree on $M2 ($WORK/m2) whose daemon ($STALL)
# is then stopped: a child whose cwd is in it hangs in chdir, after fork
# and before exec, until that daemon goes on. Makes $M2/d first (a slot
# directory to chdir into). The trap takes it down before the cleanup.
stall_up() {
	M2=$WORK/m2
	mkdir "$M2"
	"$SPAWNFS" -f -c "$CONF" "$M2" 2>"$WORK/m2.log" &
	STALL=$!
	wait_until 10 test -e "$M2/clone" || fail "second tree not mounted"
	mkdir "$M2/d"
	kill -STOP "$STALL"
	trap 'r=$?; set +e; stall_down; (exit $r); cleanup' EXIT
}

# stall_down: the stopped second daemon goes first: cleanup's kill -9 of
# the test's jobs would leave its mount dead.
stall_down() {
	[ -n "${STALL:-}" ] || return 0
	kill -CONT "$STALL" 2>/dev/null
	kill -TERM "$STALL" 2>/dev/null
	timeout 10 tail --pid="$STALL" -f /dev/null
	grep -q " $M2 fuse" /proc/self/mounts && fusermount3 -u "$M2" 2>/dev/null
	STALL=
}

# --- a clean stop (t_race_shells, t_life_restart_full, tests/soak.sh)

# stop_clean: SIGTERM the daemon, which has nothing left to run: it must
# exit within a second (scaled under valgrind), with no run to force
# ("runs still going") and status 0 (no sanitizer or valgrind report, no
# leak). STOP_DT: how long it took, in ms.
stop_clean() {
	local t0
	t0=$(now_ms)
	kill -TERM "$DAEMON_PID"
	wait_until 10 eval '! kill -0 "$DAEMON_PID" 2>/dev/null' ||
		fail "the daemon did not exit"
	STOP_DT=$(($(now_ms) - t0))
	grep -q 'runs still going' "$DAEMON_LOG" &&
		fail "the stop forced runs that were over"
	[ "$STOP_DT" -lt "$(slow_ms 1000)" ] || fail "SIGTERM took $STOP_DT ms"
	unmount_fs || fail "daemon exit status $? (a leak or a report)"
}
