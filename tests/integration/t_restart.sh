# Restart policies: on-failure restarts a failing job with
# a growing delay until the limit, and wait answers once, then; always
# restarts a clean exit, and a stop while restarting ends it at once;
# between runs the slot is restarting (start and settings EBUSY, signal
# ESRCH); each run gets a fresh stdin; the lines read back; rmdir cancels.
. "$(dirname "$0")/lib.sh"
mount_fs

# on-failure with exit 3: 100 ms, 200 ms, then the limit (3 starts in 5 s).
s=$(slot flaky)
ctl "$s" 'restart on-failure' 'restart_delay 100ms' 'restart_limit 3/5s'
t0=$(now_ms)
ctl "$s" 'start echo run; exit 3'
wait_for "$s" 3 "on-failure at its limit"
dt=$(($(now_ms) - t0))
[ "$(json "$s/status" .restart.ended)" = limit ] ||
	fail "ended: $(jq -c .restart "$s/status")"
[ "$(json "$s/status" .restart.count)" = 2 ] || fail "count"
[ "$(json "$s/status" .restart.policy)" = on-failure ] || fail "policy"
[ "$(grep -c '^run$' "$s/stdout.now")" = 3 ] || fail "three runs' output"
jq -c 'select(.type == "start") | .restart // 0' "$s/events" | tr '\n' ' ' \
	>"$WORK/counts"
[ "$(cat "$WORK/counts")" = "0 1 2 " ] || fail "start counts: $(cat "$WORK/counts")"
ok "on-failure: 3 runs, restart counts 0 1 2, ended limit, wait 3 after $dt ms"
[ "$dt" -ge 300 ] || fail "delays not kept: $dt ms"
cat >"$WORK/want" <<'EOF'
restart on-failure
restart_delay 100ms
restart_limit 3/5s
start echo run; exit 3
EOF
diff "$WORK/want" "$s/ctl" >/dev/null || fail "read-back: $(cat "$s/ctl")"
ok "restart lines read back"

# A clean exit under on-failure ends it; wait answers once, at once.
s=$(slot clean)
ctl "$s" 'restart on-failure' 'exec true'
wait_for "$s" 0 "on-failure, clean exit"
[ "$(json "$s/status" .restart.count)" = 0 ] || fail "restarted a clean exit"

# always: restarts a clean exit; between runs it is restarting; a stop
# then ends it at once; wait answers once with the last status.
s=$(slot svc)
ctl "$s" 'restart always' 'restart_delay 2s' 'stdin pipe' 'start cat; exit 0'
wait_state "$s" running
echo one >"$s/stdin"
ctl "$s" eof
wait_state "$s" restarting 5 || fail "not restarting: $(cat "$s/status")"
timeout 1 cat "$s/wait" >/dev/null && fail "wait answered while restarting"
fails_with 'Device or resource busy' ctl "$s" 'exec true'
fails_with 'Device or resource busy' ctl "$s" 'env A=1'
fails_with 'No such process' ctl "$s" 'signal TERM'
wait_state "$s" running 5 || fail "no second run"
[ "$(json "$s/status" .restart.count)" = 1 ] || fail "count after restart"
echo two >"$s/stdin" # a fresh stdin in the second run
ctl "$s" eof
wait_state "$s" restarting 5
timeout 10 cat "$s/wait" >"$WORK/w" &
W=$!
ctl "$s" stop
wait "$W" || fail "wait reader status $?"
[ "$(cat "$WORK/w")" = 0 ] || fail "wait after stop: $(cat "$WORK/w")"
[ "$(json "$s/status" .restart.ended)" = stop ] || fail "ended after stop"
state_is "$s" exited || fail "state after stop: $(json "$s/status" .state)"
[ "$(cat "$s/stdout.now")" = "$(printf 'one\ntwo')" ] || fail "output"
ok "always: restarting between runs (EBUSY, ESRCH, wait blocks), stop ends it, wait once"

# A stop while the run is going ends the policy too (no restart).
s=$(slot stopped)
ctl "$s" 'restart always' 'restart_delay 100ms' 'exec sleep 1000'
wait_state "$s" running
ctl "$s" stop
wait_for "$s" 143 "stopped always job"
sleep 0.5
state_is "$s" killed || fail "restarted after stop: $(json "$s/status" .state)"
[ "$(json "$s/status" .restart.ended)" = stop ] || fail "ended: stop"
[ "$(json "$s/status" .end_reason)" = stop ] || fail "end_reason: stop"

# kill while restarting; rmdir while restarting.
s=$(slot k)
ctl "$s" 'restart always' 'restart_delay 10s' 'exec true'
wait_state "$s" restarting 5
ctl "$s" kill
wait_for "$s" 0 "kill while restarting"
[ "$(json "$s/status" .restart.ended)" = kill ] || fail "ended: kill"
s=$(slot r)
ctl "$s" 'restart always' 'restart_delay 10s' 'exec true'
wait_state "$s" restarting 5
rmdir "$s" || fail "rmdir while restarting"
[ ! -e "$s" ] || fail "still there"
ok "stop while running, kill and rmdir while restarting end the policy"

# A failed start counts as a failure.
s=$(slot missing)
ctl "$s" 'restart on-failure' 'restart_delay 50ms' 'restart_limit 2/10s'
fails_with 'No such file or directory' ctl "$s" 'exec /nonexistent/prog'
wait_for "$s" 127 "failed starts"
[ "$(json "$s/status" .restart.count)" = 1 ] || fail "count after failed starts"
[ "$(json "$s/status" .restart.ended)" = limit ] || fail "ended after failed starts"
ok "a failed start counts as a failure"

# The daemon stops while a slot is restarting: no new run starts, wait
# answers the last status, the policy ended with shutdown, exit 0.
s=$(slot down)
ctl "$s" 'restart always' 'restart_delay 300ms' 'exec true'
wait_state "$s" restarting 5
exec 7<"$s/wait" 8<"$s/events" # open before the signal
timeout 20 cat <&7 >"$WORK/down" &
W=$!
timeout 20 cat <&8 >"$WORK/down.ev" &
E=$!
exec 7<&- 8<&-
kill -TERM "$DAEMON_PID"
wait "$W" || fail "wait reader status $?"
[ "$(cat "$WORK/down")" = 0 ] || fail "wait at shutdown: $(cat "$WORK/down")"
wait "$E" || true
[ "$(grep -c '"type":"start"' "$WORK/down.ev")" = 1 ] ||
	fail "a run started during the shutdown: $(cat "$WORK/down.ev")"
unmount_fs || fail "daemon exit status $?"
ok "shutdown while restarting: no new run, wait 0, daemon exit 0"
