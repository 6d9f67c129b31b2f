# Upgrade in place keeps the state that lives in the daemon, not only the
# jobs: across a SIGUSR2 upgrade (same pid, the generation goes up with
# result ok) a ctl handle that failed stays failed with its errno while a
# new open works; a stdin pipe writer held open goes on feeding its job,
# and a stdout reader following it loses nothing; a pty job keeps its
# size; a frozen job stays frozen (no output) and thaws after; a timeout
# fires at its time from the start, not from the upgrade; a clone slot is
# removed by reap_new_after counted from its making. Then the refusals: a
# state the check does not read (SPAWNFS_TEST_STATE_VERSION=99) is
# refused and the old daemon serves on; --check-state of a file that is
# no state says so; without FUSE_NOTIFY_RESEND (SPAWNFS_TEST_NO_RESEND=1)
# an upgrade is refused while a read waits, that read still completes,
# and an upgrade with no read waiting goes through.
if [ -n "${SPAWNFS_WRAP:-}" ]; then
	# The timing checks (timeout, reap_new_after) need the daemon at full
	# speed, and valgrind follows the exec of the new image only with
	# its own options.
	echo "skip: t_upgrade_state: under SPAWNFS_WRAP (timing checks, exec of a new image)"
	exit 77
fi
. "$(dirname "$0")/lib.sh"

# The second daemon (checks 7 and 8), with test switches in its
# environment; taken down before lib.sh's cleanup (which would kill -9 it
# as one of the test's jobs and leave its mount dead).
M2=$WORK/m2
M2_LOG=$WORK/m2.log
M2_PID=
mkdir -p "$M2"

m2_mounted() {
	grep -q " $M2 fuse" /proc/self/mounts
}

# m2_up NAME=VALUE...: a daemon on $M2 with these in its environment.
m2_up() {
	: >"$M2_LOG"
	(exec env "$@" "$SPAWNFS" -f -c "$CONF" "$M2") 2>>"$M2_LOG" &
	M2_PID=$!
	local t=0
	until m2_mounted; do
		kill -0 "$M2_PID" 2>/dev/null ||
			fail "second daemon died: $(tail -n 3 "$M2_LOG")"
		t=$((t + 1))
		[ "$t" -lt 200 ] || fail "second mount not seen in 10 s"
		sleep 0.05
	done
}

# m2_down: SIGTERM it, wait (10 s, then KILL), unmount what is left,
# sweep its cgroups; returns its exit status (99 if it had to be killed).
m2_down() {
	local rc=0 t=0
	[ -n "$M2_PID" ] || return 0
	kill -TERM "$M2_PID" 2>/dev/null || true
	while kill -0 "$M2_PID" 2>/dev/null; do
		t=$((t + 1))
		if [ "$t" -gt 200 ]; then
			kill -9 "$M2_PID" 2>/dev/null || true
			rc=99
			break
		fi
		sleep 0.05
	done
	wait "$M2_PID" 2>/dev/null || {
		t=$?
		[ "$rc" != 0 ] || rc=$t
	}
	M2_PID=
	if m2_mounted; then
		fusermount3 -u "$M2" 2>/dev/null || fusermount3 -uz "$M2" || true
	fi
	MNT=$M2 cgroup_sweep
	return $rc
}

# m2_metric NAME: one sample of $M2/metrics.
m2_metric() {
	awk -v k="$1" '$1 == k { print $2 }' "$M2/metrics"
}

upgrade_cleanup() {
	local rc=$1 drc=0
	exec 3>&- 4>&-
	m2_down || drc=$?
	if [ "$drc" != 0 ]; then
		echo "--- second daemon log (tail)" >&2
		tail -n 30 "$M2_LOG" >&2 2>/dev/null || true
	fi
	cleanup_status "$rc" "$drc"
}
trap_cleanup upgrade_cleanup

# upgrade_last: the spawnfs_upgrade_last line of $MNT/metrics.
upgrade_last() {
	grep '^spawnfs_upgrade_last{' "$MNT/metrics" || true
}

# upgrade_ok: SIGUSR2 to the daemon; the generation goes up by one, the
# result is ok, the pid is the same, and the new image says it serves.
upgrade_ok() {
	local g0 ok0 g1 last
	g0=$(metric spawnfs_upgrade_generation)
	ok0=$(metric 'spawnfs_upgrades_total{result="ok"}')
	[ -n "$g0" ] && [ -n "$ok0" ] || fail "no upgrade metrics: $(grep upgrade "$MNT/metrics")"
	g1=$((g0 + 1))
	kill -USR2 "$DAEMON_PID"
	wait_until 10 metric_is spawnfs_upgrade_generation "$g1"
	last=$(upgrade_last)
	[ "$last" = "spawnfs_upgrade_last{result=\"ok\",reason=\"\"} $g1" ] ||
		fail "upgrade $g1: $last"
	[ "$(metric 'spawnfs_upgrades_total{result="ok"}')" = $((ok0 + 1)) ] ||
		fail "upgrade $g1: upgrades_total ok $(metric 'spawnfs_upgrades_total{result="ok"}')"
	[ "$(metric spawnfs_daemon_pid)" = "$DAEMON_PID" ] ||
		fail "upgrade $g1: daemon pid $(metric spawnfs_daemon_pid), not $DAEMON_PID"
	kill -0 "$DAEMON_PID" 2>/dev/null || fail "upgrade $g1: the daemon is gone"
	[ "$(grep -c '(upgraded in place)' "$DAEMON_LOG")" = "$g1" ] ||
		fail "upgrade $g1: the new image did not say it serves"
}

# write3 TEXT: one write(2) of TEXT through fd 3; prints the shell's
# message and returns printf's status.
write3() {
	(trap '' PIPE; LC_ALL=C printf '%s' "$1" >&3) 2>&1
}

# has_line FILE LINE: the snapshot FILE holds LINE (CRs dropped).
has_line() {
	timeout 5 cat "$1" | tr -d '\r' | grep -qxF -- "$2"
}

# ms_of TIME: an RFC 3339 time of status, in ms since the epoch.
ms_of() {
	echo $(($(date -d "$1" +%s%N) / 1000000))
}

# reap_new_after: short, for check 6 (only clone slots are subject to it;
# every other slot here is made by mkdir).
printf '[process]\nreap_new_after = 2s\n' >"$CONF"
mount_fs

# --- set-up before the first upgrade

# 1. A ctl handle that failed: kill on a new slot gives ESRCH, and every
# later write on that handle gives ESRCH too.
fs=$(slot failstop)
exec 3>"$fs/ctl"
out=$(write3 $'env A=1\n') || fail "failstop: env A=1: $out"
out=$(write3 $'kill\n') && fail "failstop: kill on a new slot succeeded"
case $out in *"No such process"*) ;; *) fail "failstop: kill: '$out'" ;; esac
out=$(write3 $'env B=2\n') && fail "failstop: a write after the failure succeeded"
case $out in *"No such process"*) ;; *) fail "failstop: after the failure: '$out'" ;; esac
err1=$(json "$fs/status" .error)

# 2. A stdin pipe job fed through one writer fd, followed by a reader.
sp=$(slot pipe)
ctl "$sp" 'stdin pipe' 'start while read l; do echo "got $l"; done; echo done'
wait_until 10 state_is "$sp" running
exec 4>"$sp/stdin"
cat "$sp/stdout" >"$WORK/pipe.follow" &
follower=$!
echo one >&4 || fail "pipe: write one"
wait_until 10 has_line "$sp/stdout.now" "got one"

# 3. A pty job of a set size that prints it before and after the upgrade
# (it reads a line in between, typed after the upgrade).
sz=$(slot pty)
ctl "$sz" 'pty 77x21' 'start stty -echo; stty size; read x; stty size'
wait_until 10 has_line "$sz/stdout.now" "21 77"

# 4. A counting job, frozen.
have_freeze=no
cgroup2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -n "$cgroup2" ] && [ -w "$cgroup2" ]; then
	have_freeze=yes
	fz=$(slot frozen)
	ctl "$fz" 'start i=0; while :; do i=$((i + 1)); echo $i; sleep 0.05; done'
	wait_until 10 has_line "$fz/stdout.now" 3
	ctl "$fz" freeze
	state_is "$fz" frozen || fail "freeze: state $(json "$fz/status" .state)"
	sleep 0.3
	fz_bytes=$(logs_field "$fz" stdout bytes)
else
	echo "skip: no writable cgroup2: freeze is not checked"
fi

# 5 and 6. A timeout 3 run and a clone slot, both made at t0; a reader
# waits on the run's wait across the upgrade, which comes at t0 + 1 s.
st=$(slot timeout)
t0=$(now_ms)
ctl "$st" 'timeout 3' 'exec sleep 30'
n=$(timeout 5 cat "$MNT/clone")
[ -d "$MNT/$n" ] || fail "clone did not make $n"
cat "$st/wait" >"$WORK/timeout.wait" &
waiter=$!
until_true 10 '[ "$(metric spawnfs_parked_requests)" -ge 2 ]' # follower, waiter
sleep "$(awk -v t=$((t0 + 1000 - $(now_ms))) 'BEGIN { print (t > 0 ? t : 0) / 1000 }')"

# --- the first upgrade
upgrade_ok
t_up=$(now_ms)
[ $((t_up - t0)) -lt 1800 ] || fail "the upgrade came $((t_up - t0)) ms after t0"
ok "upgrade 1 by SIGUSR2, $((t_up - t0)) ms after t0: result ok, pid $DAEMON_PID kept"

# 6. The clone slot is still there, and goes reap_new_after after it was
# made: a timer started again by the new image would take it at
# t_up + 2 s, about t0 + 3 s.
[ -d "$MNT/$n" ] || fail "clone slot $n gone at the upgrade ($((t_up - t0)) ms)"
wait_until 10 life_gone "$MNT/$n"
gone=$(($(now_ms) - t0))
[ "$gone" -ge 1800 ] && [ "$gone" -le 2600 ] ||
	fail "clone slot $n removed $gone ms after it was made, want 2000 +- 500"
grep -q "slot $n: removed after reap_new_after" "$DAEMON_LOG" ||
	fail "clone slot: no reap_new_after in the log"
ok "6. clone slot $n kept by the upgrade, removed by reap_new_after at $gone ms"

# 1. The failed handle still fails with ESRCH and runs nothing; a new open
# works.
out=$(write3 $'env B=2\n') && fail "failstop: after the upgrade a write on the failed handle succeeded"
case $out in
*"No such process"*) ;;
*) fail "failstop: after the upgrade the failed handle gave '$out', not ESRCH" ;;
esac
[ "$(json "$fs/status" .error)" = "$err1" ] ||
	fail "failstop: status.error changed: '$err1' -> '$(json "$fs/status" .error)'"
ctl "$fs" 'env C=3' || fail "failstop: a new open failed"
grep -qx 'env A=1' "$fs/ctl" || fail "failstop: lost env A=1: $(cat "$fs/ctl")"
grep -qx 'env C=3' "$fs/ctl" || fail "failstop: new open: $(cat "$fs/ctl")"
grep -q 'B=2' "$fs/ctl" && fail "failstop: a refused line applied: $(cat "$fs/ctl")"
ok "1. the failed ctl handle still refuses with ESRCH; a new open works"

# 2. The writer fd goes on.
echo two >&4 || fail "pipe: write two after the upgrade"
wait_until 10 has_line "$sp/stdout.now" "got two"
[ "$(timeout 5 cat "$sp/stdout.now")" = "got one
got two" ] || fail "pipe: stdout $(timeout 5 cat "$sp/stdout.now" | od -c | head)"
kill -0 "$follower" 2>/dev/null || fail "pipe: the stdout follower ended"
ok "2. the stdin writer fd feeds the job across the upgrade, in order"

# 3. The pty job prints its size again, after the upgrade.
echo go >>"$sz/stdin" || fail "pty: typing after the upgrade"
wait_for "$sz" 0 "pty"
[ "$(timeout 5 cat "$sz/stdout" | tr -d '\r')" = "21 77
21 77" ] || fail "pty: stdout $(timeout 5 cat "$sz/stdout" | od -c | head)"
jq -e '.pty == {"cols": 77, "rows": 21}' "$sz/status" >/dev/null ||
	fail "pty: status pty $(json "$sz/status" .pty)"
ok "3. the pty job saw 21 77 before and after the upgrade"

# 4. Frozen stays frozen (no output), thaw resumes the count.
if [ "$have_freeze" = yes ]; then
	state_is "$fz" frozen || fail "freeze: state after the upgrade $(json "$fz/status" .state)"
	[ "$(metric 'spawnfs_slots{state="frozen"}')" = 1 ] ||
		fail "freeze: metrics do not count the frozen slot"
	sleep 0.5
	[ "$(logs_field "$fz" stdout bytes)" = "$fz_bytes" ] ||
		fail "freeze: the job wrote after the upgrade: $fz_bytes -> $(logs_field "$fz" stdout bytes) bytes"
	ctl "$fz" thaw
	state_is "$fz" running || fail "freeze: state after thaw $(json "$fz/status" .state)"
	wait_until 10 logs_field_gt "$fz" stdout bytes $((fz_bytes + 20))
	timeout 5 cat "$fz/stdout.now" >"$WORK/count"
	awk 'NR != $1 { exit 1 }' "$WORK/count" ||
		fail "freeze: the count is not 1, 2, 3...: $(head -c 200 "$WORK/count")"
	ctl "$fz" kill
	wait_for "$fz" 137 "freeze: kill"
	ok "4. frozen across the upgrade (no byte in 0.5 s), thaw resumes the count"
fi

# 5. The timeout fires 3 s after the start, the waiting read answers.
life_wait_pid 10 "$waiter" || fail "timeout: the waiting cat failed"
[ "$(cat "$WORK/timeout.wait")" = 143 ] || fail "timeout: wait read '$(cat "$WORK/timeout.wait")'"
[ "$(json "$st/status" .end_reason)" = timeout ] ||
	fail "timeout: end_reason $(json "$st/status" .end_reason)"
dt=$(($(ms_of "$(json "$st/status" .end_time)") - $(ms_of "$(json "$st/status" .start_time)")))
[ "$dt" -ge 2500 ] && [ "$dt" -le 3500 ] ||
	fail "timeout 3 ended the run after $dt ms (upgrade at $((t_up - t0)) ms)"
ok "5. timeout 3 fired $dt ms after the start (upgrade at $((t_up - t0)) ms); the waiting read got 143"

# --- a second upgrade: the state a new image saved is read again.
upgrade_ok
out=$(write3 $'env D=4\n') && fail "failstop: after upgrade 2 a write on the failed handle succeeded"
case $out in *"No such process"*) ;; *) fail "failstop: after upgrade 2: '$out'" ;; esac
echo three >&4 || fail "pipe: write three after upgrade 2"
exec 4>&-
ctl "$sp" eof
wait_for "$sp" 0 "pipe: eof"
want='got one
got two
got three
done'
[ "$(timeout 5 cat "$sp/stdout")" = "$want" ] ||
	fail "pipe: stdout $(timeout 5 cat "$sp/stdout" | od -c | head)"
life_wait_pid 10 "$follower" || fail "pipe: the follower failed"
[ "$(cat "$WORK/pipe.follow")" = "$want" ] ||
	fail "pipe: the follower read $(od -c "$WORK/pipe.follow" | head)"
ok "upgrade 2: the failed handle still refuses; the writer's third line" \
	"arrives; a reader that followed stdout across both got every line"

# --- 7. A state the check refuses: the old daemon serves on.
out=$(LC_ALL=C "$SPAWNFS" --check-state 3 -c "$CONF" "$MNT" 3</etc/passwd 2>&1) &&
	fail "--check-state of /etc/passwd succeeded: $out"
rc=0
LC_ALL=C "$SPAWNFS" --check-state 3 -c "$CONF" "$MNT" 3</etc/passwd 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "--check-state of /etc/passwd: exit $rc, want 1"
case $out in *"not a spawnfs state"*) ;; *) fail "--check-state of /etc/passwd said '$out'" ;; esac
ok "7. --check-state of /etc/passwd: exit 1, '$out'"

m2_up SPAWNFS_TEST_STATE_VERSION=99
mkdir "$M2/pre"
ctl "$M2/pre" 'exec sleep 30'
wait_until 10 state_is "$M2/pre" running
pre_pid=$(json "$M2/pre/status" .pid)
m2_pid0=$(m2_metric spawnfs_daemon_pid)
[ "$m2_pid0" = "$M2_PID" ] || fail "second daemon pid $m2_pid0, not $M2_PID"
rc=0
LC_ALL=C timeout 30 "$SPAWNFS" --upgrade "$M2" >"$WORK/up.out" 2>"$WORK/up.err" || rc=$?
[ "$rc" = 1 ] || fail "--upgrade of a version 99 state: exit $rc, want 1 ($(cat "$WORK/up.err"))"
grep -q 'refused' "$WORK/up.err" && grep -q 'version 99' "$WORK/up.err" ||
	fail "--upgrade: stderr does not say refused, version 99: $(cat "$WORK/up.err")"
[ "$(m2_metric 'spawnfs_upgrades_total{result="refused"}')" = 1 ] ||
	fail "refused: upgrades_total refused $(m2_metric 'spawnfs_upgrades_total{result="refused"}')"
[ "$(m2_metric 'spawnfs_upgrades_total{result="ok"}')" = 0 ] || fail "refused: counted ok"
[ "$(m2_metric spawnfs_upgrade_generation)" = 1 ] || fail "refused: generation"
grep -q '^spawnfs_upgrade_last{result="refused",reason=".*version 99.*"} 1$' "$M2/metrics" ||
	fail "refused: $(grep '^spawnfs_upgrade_last' "$M2/metrics")"
[ "$(m2_metric spawnfs_daemon_pid)" = "$M2_PID" ] && kill -0 "$M2_PID" ||
	fail "refused: the daemon changed or died"
grep -q '(upgraded in place)' "$M2_LOG" && fail "refused, yet a new image serves"
state_is "$M2/pre" running && [ "$(json "$M2/pre/status" .pid)" = "$pre_pid" ] ||
	fail "refused: the running job changed: $(jq -c '{state, pid}' "$M2/pre/status")"
mkdir "$M2/after"
ctl "$M2/after" 'start echo alive'
[ "$(timeout 10 cat "$M2/after/wait")" = 0 ] || fail "refused: a new job's wait"
[ "$(timeout 5 cat "$M2/after/stdout")" = alive ] || fail "refused: a new job's stdout"
ctl "$M2/pre" kill
[ "$(timeout 10 cat "$M2/pre/wait")" = 137 ] || fail "refused: the old job's kill"
rc=0
m2_down || rc=$?
[ "$rc" = 0 ] || fail "the version 99 daemon exited with $rc: $(tail -n 20 "$M2_LOG")"
ok "7. version 99: --upgrade exits 1 ($(cut -c1-90 "$WORK/up.err")...)," \
	"refused counted, same daemon serves old and new jobs"

# --- 8. No FUSE_NOTIFY_RESEND: refused while a read waits, then allowed.
m2_up SPAWNFS_TEST_NO_RESEND=1
mkdir "$M2/j"
ctl "$M2/j" 'stdin pipe' 'start read x; exit 3'
wait_until 10 state_is "$M2/j" running
cat "$M2/j/wait" >"$WORK/nr.wait" &
nr_waiter=$!
until_true 10 '[ "$(m2_metric spawnfs_parked_requests)" = 1 ]'
rc=0
LC_ALL=C timeout 30 "$SPAWNFS" --upgrade "$M2" >"$WORK/up.out" 2>"$WORK/up.err" || rc=$?
[ "$rc" = 1 ] || fail "no resend, a read waiting: --upgrade exit $rc, want 1 ($(cat "$WORK/up.err"))"
grep -q 'FUSE_NOTIFY_RESEND' "$WORK/up.err" ||
	fail "no resend: stderr does not name FUSE_NOTIFY_RESEND: $(cat "$WORK/up.err")"
[ "$(m2_metric 'spawnfs_upgrades_total{result="refused"}')" = 1 ] || fail "no resend: refused not counted"
kill -0 "$nr_waiter" 2>/dev/null || fail "no resend: the waiting cat ended at the refusal"
echo go >>"$M2/j/stdin" || fail "no resend: write to stdin"
life_wait_pid 10 "$nr_waiter" || fail "no resend: the waiting cat failed"
[ "$(cat "$WORK/nr.wait")" = 3 ] || fail "no resend: the waiting cat read '$(cat "$WORK/nr.wait")'"
[ "$(m2_metric spawnfs_parked_requests)" = 0 ] || fail "no resend: requests still parked"
rc=0
LC_ALL=C timeout 30 "$SPAWNFS" --upgrade "$M2" >"$WORK/up.out" 2>"$WORK/up.err" || rc=$?
[ "$rc" = 0 ] || fail "no resend, no read waiting: --upgrade exit $rc ($(cat "$WORK/up.err"))"
grep -q 'upgraded in place' "$WORK/up.out" || fail "--upgrade printed '$(cat "$WORK/up.out")'"
[ "$(m2_metric 'spawnfs_upgrades_total{result="ok"}')" = 1 ] &&
	[ "$(m2_metric spawnfs_upgrade_generation)" = 2 ] ||
	fail "no resend: metrics $(grep '^spawnfs_upgrade' "$M2/metrics")"
[ "$(m2_metric spawnfs_daemon_pid)" = "$M2_PID" ] || fail "no resend: pid changed"
[ "$(timeout 5 cat "$M2/j/wait")" = 3 ] || fail "no resend: wait after the upgrade"
ctl "$M2/j" 'stdin null' 'start echo again'
[ "$(timeout 10 cat "$M2/j/wait")" = 0 ] || fail "no resend: a run after the upgrade"
rc=0
m2_down || rc=$?
[ "$rc" = 0 ] || fail "the no-resend daemon exited with $rc: $(tail -n 20 "$M2_LOG")"
ok "8. no resend: refused (FUSE_NOTIFY_RESEND) while cat wait waits, which" \
	"then reads 3; with no read waiting --upgrade exits 0"
