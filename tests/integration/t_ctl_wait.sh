# wait and status: shell-style codes for exits and signals, a
# read that blocks until the run ends, every reader served however late,
# and interruptible. status: state, pid, exit_code, signal.
. "$(dirname "$0")/lib.sh"
mount_fs

# st SLOT JQ: a status field.
st() {
	json "$1/status" "$2"
}

# run_wait NAME STATUS LINE...: start with LINEs, wait must print STATUS.
run_wait() {
	local s got want
	s=$(slot "$1")
	want=$2
	shift 2
	ctl "$s" "$@"
	got=$(timeout 10 cat "$s/wait") || fail "$s: wait did not answer"
	[ "$got" = "$want" ] || fail "$* : wait gave '$got', wanted $want"
}
run_wait zero 0 'start exit 0'
run_wait one 1 'start exit 1'
run_wait big 200 'start exit 200'
jq -e '.state == "exited" and .exit_code == 1 and .signal == null and
	.status == 1 and .pid == null' "$MNT/one/status" >/dev/null ||
	fail "status after exit 1: $(cat "$MNT/one/status")"
ok "exit 0, 1, 200: wait gives 0, 1, 200; status exited, exit_code 1"

# sigwait NAME SIGLINE STATUS SIGNAME: exec sleep, send SIGLINE, check.
sigwait() {
	local s pid got
	s=$(slot "$1")
	ctl "$s" 'exec sleep 100'
	wait_until 10 state_is "$s" running
	pid=$(st "$s" .pid)
	[ "$(proc_state "$pid")" != gone ] || fail "$1: pid $pid is not alive"
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qx 'sleep 100 ' ||
		fail "$1: pid $pid is not the sleep"
	[ "$(st "$s" .pgid)" = "$pid" ] || fail "$1: pgid != pid"
	ctl "$s" "$2"
	got=$(timeout 10 cat "$s/wait") || fail "$1: wait did not answer"
	[ "$got" = "$3" ] || fail "$2: wait gave '$got', wanted $3"
	jq -e --arg sig "$4" '.state == "killed" and .exit_code == null and
		.signal == $sig and .status == '"$3" "$s/status" >/dev/null ||
		fail "status after $2: $(cat "$s/status")"
	pid_dead "$pid" || fail "$1: pid $pid still runs"
}
sigwait term 'signal TERM' 143 TERM
sigwait term15 'signal 15' 143 TERM
sigwait sigterm 'signal SIGTERM' 143 TERM
sigwait sigint 'signal INT' 130 INT
sigwait kill kill 137 KILL
ok "signal TERM/15/SIGTERM -> 143, INT -> 130, kill -> 137;" \
	"status killed, signal named, exit_code null, pid was the live sleep"

# wait blocks while running, and every concurrent waiter gets the status.
s=$(slot block)
ctl "$s" 'exec sleep 100'
wait_until 10 state_is "$s" running
pids=()
for i in 1 2 3; do
	timeout 20 cat "$s/wait" >"$WORK/w$i" &
	pids+=($!)
done
sleep 0.5
for p in "${pids[@]}"; do
	kill -0 "$p" 2>/dev/null || fail "a waiter returned while running"
done
[ ! -s "$WORK/w1" ] || fail "a waiter printed while running"
ctl "$s" 'signal TERM'
for i in 1 2 3; do
	wait "${pids[$((i - 1))]}" || fail "waiter $i failed"
	[ "$(cat "$WORK/w$i")" = 143 ] || fail "waiter $i got '$(cat "$WORK/w$i")'"
done
ok "wait blocks while running; 3 concurrent waiters all get 143"

# A late reader gets it at once, and again.
t0=$(now_ms)
[ "$(timeout 2 cat "$s/wait")" = 143 ] || fail "late reader"
[ "$(timeout 2 cat "$s/wait")" = 143 ] || fail "second late reader"
t=$(($(now_ms) - t0))
[ "$t" -lt 1000 ] || fail "late readers took $t ms"
ok "late readers get 143 at once ($t ms for two)"

# A restart: wait follows the new run, not the old status. The run ends
# when the test sends it a line, not after a time a slow daemon could
# overrun.
ctl "$s" 'stdin pipe' 'start read go; exit 5'
timeout 20 cat "$s/wait" >"$WORK/wr" &
wr=$!
sleep 0.2
kill -0 "$wr" 2>/dev/null ||
	fail "wait after a restart answered early: $(cat "$WORK/wr")"
echo go >"$s/stdin"
wait "$wr" || fail "waiter after restart failed"
[ "$(cat "$WORK/wr")" = 5 ] || fail "restart: wait gave '$(cat "$WORK/wr")'"
ok "after a restart, wait blocks for the new run and gives 5"

# Before the first run, wait blocks until that run ends.
s=$(slot early)
timeout 20 cat "$s/wait" >"$WORK/we" &
we=$!
sleep 0.5
kill -0 "$we" 2>/dev/null ||
	fail "wait on a new slot answered: $(cat "$WORK/we")"
ctl "$s" 'stdin pipe' 'start read go; exit 7'
sleep 0.1
kill -0 "$we" 2>/dev/null || fail "wait answered before the first run ended"
echo go >"$s/stdin"
wait "$we" || fail "early waiter failed"
[ "$(cat "$WORK/we")" = 7 ] || fail "early waiter got '$(cat "$WORK/we")'"
ok "a wait before the first run blocks until it ends, then gives 7"

# wait is interruptible: timeout's SIGINT ends it in about a second, and
# so does SIGKILL; the run is unaffected.
s=$(slot intr)
ctl "$s" 'exec sleep 100'
wait_until 10 state_is "$s" running
t0=$(now_ms)
rc=0
timeout -k 3 -s INT 1 cat "$s/wait" >/dev/null || rc=$?
t=$(($(now_ms) - t0))
[ "$rc" = 124 ] || fail "timeout -s INT 1 cat wait: exit $rc, wanted 124"
[ "$t" -lt 2500 ] || fail "the interrupted wait took $t ms"
# (in a subshell whose stderr is discarded, so bash's "Killed" is quiet)
(cat "$s/wait" >/dev/null & echo $! >"$WORK/kpid" && wait) 2>/dev/null &
sleep 0.3
k=$(cat "$WORK/kpid")
kill -0 "$k" 2>/dev/null || fail "the waiter to kill ended early"
kill -9 "$k"
wait_dead 2 "$k"
[ "$(st "$s" .state)" = running ] || fail "interrupting wait ended the run"
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "intr: wait after kill"
ok "timeout -s INT 1 cat wait returns in $t ms (124); kill -9 ends a waiter"
