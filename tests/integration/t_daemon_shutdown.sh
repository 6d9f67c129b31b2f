# Shutdown: on unmount or SIGTERM the daemon stops every
# running group (TERM, then KILL after kill_grace), reaps all children,
# unmounts and exits 0, leaving no child and no zombie behind.
. "$(dirname "$0")/lib.sh"
cat >"$CONF" <<'EOF'
[process]
kill_grace = 500ms
EOF
LIMIT_MS=$((500 + $(slow_ms 3000))) # kill_grace + 3 s (a hang bound)

# daemon_exits T0: wait (bounded) for the daemon to exit; fail unless it
# exits 0 within LIMIT_MS of T0. Sets T to the time taken in ms.
daemon_exits() {
	local t0=$1 t rc=0
	while ! pid_dead "$DAEMON_PID"; do
		t=$(($(now_ms) - t0))
		if [ "$t" -gt "$LIMIT_MS" ]; then
			# Do not leave it (or its children) for the trap's 30 s.
			kill -9 "$DAEMON_PID" 2>/dev/null || true
			kill_sessions
			fail "the daemon still runs $t ms after the shutdown began"
		fi
		sleep 0.05
	done
	t=$(($(now_ms) - t0))
	wait "$DAEMON_PID" || rc=$?
	[ "$rc" = 0 ] || fail "the daemon exited $rc"
	check_valgrind "$DAEMON_PID" || fail "valgrind found fds left open"
	DAEMON_PID=
	T=$t
}

# kill_sessions: KILL what is left of the runs this test started: the
# pids in KIDS and GRAND that are still in a session led by one of KIDS.
kill_sessions() {
	local p sid
	for p in $KIDS $GRAND; do
		sid=$(stat_field "$p" 6)
		case " $KIDS " in
		*" $sid "*) kill -9 "$p" 2>/dev/null || true ;;
		esac
	done
}

# all_gone KIDS GRANDKIDS: the daemon's children must be gone (reaped: a
# zombie would now be an orphan nobody reaps); grandchildren dead.
all_gone() {
	local p
	for p in $1; do
		[ "$(proc_state "$p")" = gone ] ||
			fail "child $p left behind: state $(proc_state "$p")"
	done
	for p in $2; do
		pid_dead "$p" || fail "grandchild $p still runs"
	done
}

# start_three: sleep 300, a yes paused with no reader, and a shell with a
# background grandchild. Sets KIDS (the daemon's children) and GRAND.
start_three() {
	local a b c pc
	a=$(slot sleeper)
	b=$(slot yes)
	c=$(slot family)
	ctl "$a" 'exec sleep 300'
	ctl "$b" 'exec yes'
	ctl "$c" 'start sleep 300 & wait'
	for s in "$a" "$b" "$c"; do
		wait_until 10 state_is "$s" running
	done
	paused() {
		jq -e '.logs.stdout.paused == true' "$b/status" >/dev/null
	}
	wait_until 10 paused
	pc=$(json "$c/status" .pid)
	until_true 5 '[ "$(session_pids "$pc" | wc -l)" -ge 2 ]'
	KIDS="$(json "$a/status" .pid) $(json "$b/status" .pid) $pc"
	GRAND=$(session_pids "$pc" | grep -vx "$pc" | tr '\n' ' ')
	for p in $KIDS; do
		[ "$(stat_field "$p" 4)" = "$DAEMON_PID" ] ||
			fail "$p is not a child of the daemon"
	done
}

# 1. A child that ignores TERM is KILLed after kill_grace, and one that
# only notes TERM shows it got TERM first.
mount_fs
s=$(slot deaf)
ctl "$s" "start trap '' TERM; sleep 300"
n=$(slot noter)
line="start trap 'echo TERM >>$WORK/noted' TERM; while :; do sleep 0.1; done"
ctl "$n" "$line"
wait_until 10 state_is "$s" running
wait_until 10 state_is "$n" running
sleep 0.3 # let the shells set their traps
KIDS="$(json "$s/status" .pid) $(json "$n/status" .pid)"
GRAND=$({
	session_pids "${KIDS%% *}"
	session_pids "${KIDS##* }"
} | tr '\n' ' ')
t0=$(now_ms)
fusermount3 -u "$MNT" || fail "fusermount3 -u"
daemon_exits "$t0"
t=$T
[ "$t" -ge 400 ] ||
	fail "TERM-ignoring children ended after $t ms, before kill_grace"
all_gone "$KIDS" "$GRAND"
grep -qx TERM "$WORK/noted" || fail "the children were not sent TERM first"
! is_mounted || fail "still mounted"
ok "TERM-ignoring children: TERM, then KILL; daemon exit 0 after $t ms"

# 2. fusermount3 -u with three running children.
mount_fs
start_three
t0=$(now_ms)
fusermount3 -u "$MNT" || fail "fusermount3 -u"
daemon_exits "$t0"
t=$T
all_gone "$KIDS" "$GRAND"
ok "fusermount3 -u: daemon exit 0 after $t ms; children $KIDS reaped," \
	"grandchild $GRAND dead"

# 3. SIGTERM to the daemon: it unmounts itself.
mount_fs
start_three
t0=$(now_ms)
kill -TERM "$DAEMON_PID"
daemon_exits "$t0"
t=$T
! is_mounted || fail "SIGTERM: the mount is still in /proc/self/mounts"
all_gone "$KIDS" "$GRAND"
ok "SIGTERM: unmounted, exit 0 after $t ms; children $KIDS reaped," \
	"grandchild $GRAND dead"
