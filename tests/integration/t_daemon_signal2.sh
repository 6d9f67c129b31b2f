# A second SIGTERM while the daemon waits out kill_grace makes it exit
# at once (unmounted), instead of waiting for a stubborn child.
. "$(dirname "$0")/lib.sh"
printf '[process]\nkill_grace=60s\n' >"$CONF"
mount_fs

s=$(slot stubborn)
ctl "$s" "start trap '' TERM; exec sleep 300"
wait_state "$s" running
child=$(json "$s/status" .pid)
kill -TERM "$DAEMON_PID"
sleep 0.3
kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited before kill_grace"
t0=$(date +%s%N)
kill -TERM "$DAEMON_PID"
wait_until 5 pid_dead "$DAEMON_PID"
t1=$(date +%s%N)
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
[ "$rc" = 0 ] || fail "daemon exit status $rc"
is_mounted && fail "still mounted"
ok "second SIGTERM: exited in $(((t1 - t0) / 1000000)) ms, unmounted"
kill -9 "$child" 2>/dev/null || true
