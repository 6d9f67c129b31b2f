# A clean stop, however the daemon was started: SIGTERM,
# SIGINT and SIGHUP stop a daemon that detached (no -f: how mount(8) and
# fstab run it) as well as one in the foreground. On a stop the runs are
# stopped, reaped and drained, and every reader ends with end of file and
# every byte: cat of stdout and stderr, the events log ending with "end",
# wait with the status (143 for a run TERM killed). The tree then stays
# until the readers close, or shutdown_timeout at most.
. "$(dirname "$0")/lib.sh"
cat >"$CONF" <<'EOF2'
[process]
kill_grace = 500ms
shutdown_timeout = 1500ms
EOF2

# 1. Detached daemons: each signal stops one with a run going.
for sig in TERM INT HUP; do
	rc=0
	# shellcheck disable=SC2046
	timeout $((10 * $(slow_factor))) $(daemon_wrap) "$SPAWNFS" -c "$CONF" \
		"$MNT" 2>>"$DAEMON_LOG" || rc=$?
	[ "$rc" = 0 ] || fail "spawnfs without -f: exit $rc"
	wait_until 10 is_mounted
	bg=$(daemon_pids)
	[ "$(echo "$bg" | wc -w)" = 1 ] || fail "daemons on $MNT: '$bg'"
	s=$(slot "d$sig")
	ctl "$s" 'start sleep 300 & exec sleep 301'
	wait_until 10 state_is "$s" running
	kid=$(json "$s/status" .pid)
	grand=$(session_pids "$kid" | grep -vx "$kid" || true)
	[ -n "$grand" ] || fail "no background grandchild in the run"
	t0=$(now_ms)
	kill "-$sig" "$bg"
	wait_until 10 pid_dead "$bg"
	t=$(($(now_ms) - t0))
	! is_mounted || fail "SIG$sig: still mounted after the daemon exited"
	wait_dead 5 "$kid" $grand
	check_valgrind "$bg" || fail "SIG$sig: valgrind found errors (above)"
	rm -f "$WORK"/valgrind.*.log # the parent that detached left by _exit
	ok "detached daemon, SIG$sig: exited after $t ms, unmounted; run" \
		"$kid and grandchild $grand gone"
done

# 2. Readers of every kind, parked at the end of their logs when the
# daemon gets SIGTERM, each end with every byte and exit 0.
mount_fs
seq 1 20000 >"$WORK/want"
s=$(slot job)
ctl "$s" "start seq 1 20000; seq 1 20000 >&2; exec sleep 300"
deaf=$(slot deaf)
ctl "$deaf" "start trap '' TERM; seq 1 20000; while :; do sleep 0.1; done"
wait_until 10 state_is "$s" running
wait_until 10 state_is "$deaf" running
# read_to NAME FILE: cat FILE into $WORK/NAME in the background; its exit
# status goes to $WORK/rc.NAME.
read_to() {
	(
		cat "$2" >"$WORK/$1"
		echo $? >"$WORK/rc.$1"
	) &
}
read_to out.job "$s/stdout"
read_to err.job "$s/stderr"
read_to ev.job "$s/events"
read_to wait.job "$s/wait"
read_to out.deaf "$deaf/stdout"
read_to wait.deaf "$deaf/wait"
until_true 10 '[ "$(wc -l <"$WORK/out.job")" = 20000 ] &&
	[ "$(wc -l <"$WORK/err.job")" = 20000 ] &&
	[ "$(wc -l <"$WORK/out.deaf")" = 20000 ]'
sleep 0.3 # every reader is now parked at the end of its log
[ "$(json "$s/status" .logs.stdout.readers)" = 1 ] || fail "no stdout reader"
t0=$(now_ms)
kill -TERM "$DAEMON_PID"
for f in out.job err.job ev.job wait.job out.deaf wait.deaf; do
	wait_until 10 test -s "$WORK/rc.$f"
	[ "$(cat "$WORK/rc.$f")" = 0 ] ||
		fail "the reader of $f exited $(cat "$WORK/rc.$f")"
done
cmp -s "$WORK/want" "$WORK/out.job" || fail "stdout: not every byte"
cmp -s "$WORK/want" "$WORK/err.job" || fail "stderr: not every byte"
cmp -s "$WORK/want" "$WORK/out.deaf" || fail "deaf stdout: not every byte"
[ "$(cat "$WORK/wait.job")" = 143 ] ||
	fail "wait of a run TERM killed: '$(cat "$WORK/wait.job")'"
[ "$(cat "$WORK/wait.deaf")" = 137 ] ||
	fail "wait of a run that ignored TERM: '$(cat "$WORK/wait.deaf")'"
last=$(tail -n 1 "$WORK/ev.job")
[ "$(echo "$last" | jq -r .type)" = end ] || fail "events end with: $last"
[ "$(echo "$last" | jq -r .status)" = 143 ] || fail "end event: $last"
[ "$(jq -r 'select(.type == "stdout") | .data' "$WORK/ev.job" |
	tr -d '\n' | wc -c)" = "$(tr -d '\n' <"$WORK/want" | wc -c)" ] ||
	fail "the events log lacks stdout bytes"
daemon_exits_by() { # LIMIT_MS: the daemon exits 0 within LIMIT_MS of t0
	local rc=0
	wait_until 10 pid_dead "$DAEMON_PID"
	t=$(($(now_ms) - t0))
	wait "$DAEMON_PID" || rc=$?
	[ "$rc" = 0 ] || fail "the daemon exited $rc"
	check_valgrind "$DAEMON_PID" || fail "valgrind found errors (above)"
	DAEMON_PID=
	[ "$t" -le "$1" ] || fail "the daemon took $t ms to exit"
}
# Every reader closed at end of file: no waiting for shutdown_timeout.
daemon_exits_by $((500 + $(slow_ms 1000) + 1400))
! is_mounted || fail "still mounted"
ok "SIGTERM: stdout, stderr, events and wait readers ended 0 with every" \
	"byte; wait 143 and 137; events end with 'end'; exit after $t ms"

# 3. A reader that never closes (tail -f) delays the exit by
# shutdown_timeout at most; a late open still reads what was captured.
mount_fs
s=$(slot follow)
ctl "$s" "start seq 1 100; exec sleep 300"
wait_until 10 state_is "$s" running
tail -f "$s/stdout" >"$WORK/tail.out" 2>/dev/null &
tailpid=$!
until_true 10 '[ "$(tail -n 1 "$WORK/tail.out")" = 100 ]'
t0=$(now_ms)
kill -TERM "$DAEMON_PID"
wait_until 10 state_is "$s" killed
[ "$(timeout 5 cat "$s/stdout" | wc -l)" = 100 ] ||
	fail "a reader opened during the stop did not read to end of file"
[ "$(timeout 5 cat "$s/wait")" = 143 ] || fail "wait during the stop"
mkdir "$MNT/late" 2>"$WORK/mkdir.err" && fail "mkdir while stopping worked"
grep -qi shut "$WORK/mkdir.err" || fail "mkdir: $(cat "$WORK/mkdir.err")"
daemon_exits_by $((500 + $(slow_ms 1000) + 1500 + $(slow_ms 2000)))
[ "$t" -ge 1400 ] || fail "exit after $t ms: tail -f was not waited for"
kill "$tailpid" 2>/dev/null || true
ok "an open tail -f: exit after $t ms (shutdown_timeout 1500 ms); a late" \
	"cat read to end of file, mkdir got ESHUTDOWN"
