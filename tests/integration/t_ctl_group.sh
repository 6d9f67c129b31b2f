# Process groups and stopping: each run is a session and group
# leader, signals reach background grandchildren, stop escalates to KILL
# after its grace, and timeout stops a run by itself.
. "$(dirname "$0")/lib.sh"
cat >"$CONF" <<'EOF'
[process]
kill_grace = 500ms
EOF
mount_fs

s=$(slot leader)
ctl "$s" 'exec sleep 300'
wait_until 10 state_is "$s" running
pid=$(json "$s/status" .pid)
pgid=$(stat_field "$pid" 5)
sid=$(stat_field "$pid" 6)
[ "$pgid" = "$pid" ] && [ "$sid" = "$pid" ] ||
	fail "child $pid: pgid $pgid sid $sid, wanted both = pid"
[ "$(stat_field "$DAEMON_PID" 5)" != "$pid" ] &&
	[ "$(stat_field "$DAEMON_PID" 6)" != "$pid" ] ||
	fail "the daemon shares the child's group or session"
[ "$(stat_field "$pid" 4)" = "$DAEMON_PID" ] ||
	fail "child's parent is not the daemon"
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "leader: kill"
ok "a run is its own session and group leader (pid = pgid = sid = $pid)"

# A second run gets a new session too.
ctl "$s" 'exec sleep 300'
wait_until 10 state_is "$s" running
pid2=$(json "$s/status" .pid)
[ "$pid2" != "$pid" ] && [ "$(stat_field "$pid2" 6)" = "$pid2" ] &&
	[ "$(stat_field "$pid2" 5)" = "$pid2" ] || fail "restart: not a new session"
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "leader: second kill"
ok "a restart gets a new session ($pid2)"

# signal TERM reaches the shell and its background grandchild.
s=$(slot bg)
ctl "$s" 'start sleep 300 & sleep 300'
wait_until 10 state_is "$s" running
pid=$(json "$s/status" .pid)
until_true 5 '[ "$(session_pids "$pid" | wc -l)" -ge 2 ]'
members=$(session_pids "$pid" | tr '\n' ' ')
for m in $members; do
	[ "$(stat_field "$m" 5)" = "$pid" ] || fail "member $m is not in group $pid"
done
ctl "$s" 'signal TERM'
# shellcheck disable=SC2086
wait_dead 2 $members
[ "$(timeout 10 cat "$s/wait")" = 143 ] || fail "bg: wait after TERM"
ok "signal TERM killed the whole group: $members"

# kill reaches them too.
s=$(slot bgkill)
ctl "$s" 'start sleep 300 & sleep 300'
wait_until 10 state_is "$s" running
pid=$(json "$s/status" .pid)
until_true 5 '[ "$(session_pids "$pid" | wc -l)" -ge 2 ]'
members=$(session_pids "$pid" | tr '\n' ' ')
ctl "$s" kill
# shellcheck disable=SC2086
wait_dead 2 $members
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "bgkill: wait"
ok "kill killed the whole group: $members"

# stop_time SLOT LINE STATUS MIN MAX: LINE ends the run with STATUS
# between MIN and MAX ms after it is written; prints the time taken.
stop_time() {
	local s=$1 t0 t got
	t0=$(now_ms)
	ctl "$s" "$2"
	got=$(timeout 10 cat "$s/wait") || fail "$2: wait did not answer"
	t=$(($(now_ms) - t0))
	[ "$got" = "$3" ] || fail "$2: wait gave '$got', wanted $3"
	[ "$t" -ge "$4" ] && [ "$t" -le "$5" ] ||
		fail "$2: took $t ms, wanted $4..$5"
	echo "$t"
}

# stop 1 on a child that ignores TERM: KILL after about a second (not the
# configured 500 ms).
s=$(slot stubborn)
ctl "$s" "start trap '' TERM; sleep 300"
wait_until 10 state_is "$s" running
sleep 0.2 # let the shell set its trap
t=$(stop_time "$s" 'stop 1' 137 900 2500)
jq -e '.signal == "KILL" and .state == "killed"' "$s/status" >/dev/null ||
	fail "stubborn: status $(cat "$s/status")"
ok "stop 1 on a TERM-ignoring child: KILL after $t ms, wait 137"

# stop with no argument waits kill_grace (500 ms).
ctl "$s" "start trap '' TERM; sleep 300"
wait_until 10 state_is "$s" running
sleep 0.2
t=$(stop_time "$s" stop 137 400 1500)
ok "stop (kill_grace=500ms) on a TERM-ignoring child: KILL after $t ms"

# A child that honours TERM ends at once, without waiting for the grace.
s=$(slot polite)
ctl "$s" 'exec sleep 300'
wait_until 10 state_is "$s" running
t=$(stop_time "$s" 'stop 5' 143 0 1500)
ok "stop 5 on a TERM-honouring child: 143 after $t ms"

# timeout 1: the run ends by itself with TERM within 1 s + kill_grace.
s=$(slot limited)
t0=$(now_ms)
ctl "$s" 'timeout 1' 'exec sleep 100'
got=$(timeout 10 cat "$s/wait") || fail "timeout: wait did not answer"
t=$(($(now_ms) - t0))
[ "$got" = 143 ] || fail "timeout 1: wait gave '$got'"
[ "$t" -ge 900 ] && [ "$t" -le 2500 ] || fail "timeout 1: ended after $t ms"
[ "$(json "$s/status" .signal)" = TERM ] || fail "timeout 1: signal"
ok "timeout 1, exec sleep 100: ended after $t ms, wait 143"

# timeout on a TERM-ignoring child: KILL after 1 s + kill_grace.
s=$(slot limited-stubborn)
t0=$(now_ms)
ctl "$s" 'timeout 1' "start trap '' TERM; sleep 300"
got=$(timeout 10 cat "$s/wait") || fail "timeout+trap: wait did not answer"
t=$(($(now_ms) - t0))
[ "$got" = 137 ] || fail "timeout 1 on a TERM-ignoring child: wait gave '$got'"
[ "$t" -ge 1400 ] && [ "$t" -le 3000 ] ||
	fail "timeout 1 on a TERM-ignoring child: ended after $t ms"
ok "timeout 1 on a TERM-ignoring child: KILL after $t ms, wait 137"

# A run that ends before its timeout is not disturbed.
s=$(slot quick)
ctl "$s" 'timeout 1' 'start sleep 0.2; exit 4'
[ "$(timeout 10 cat "$s/wait")" = 4 ] || fail "quick run under a timeout"
ok "a run shorter than its timeout exits normally (4)"
