# A stop lets handlers finish: while a run is being
# stopped, a log nobody has open is read on, so a TERM handler that
# prints exits with its own status (not 137); end_reason and the end
# event say why each run ended: exit, signal, timeout, stop, kill,
# shutdown. The daemon's SIGTERM variant lingers on an open wait and the
# handler's line is read from stdout.now meanwhile.
. "$(dirname "$0")/lib.sh"
trap 'r=$?; set +e; exec 7<&-; (exit $r); cleanup' EXIT
printf '[process]\nkill_grace=5s\n' >"$CONF"
mount_fs

handler="trap 'echo bye; exit 5' TERM; yes"
s=$(slot trapper)
ctl "$s" "start $handler"
wait_until 10 logs_field_is "$s" stdout paused true || fail "never paused"
t0=$(now_ms)
ctl "$s" stop
wait_for "$s" 5 "TERM handler with nobody reading"
dt=$(($(now_ms) - t0))
[ "$(timeout 5 tail -n 1 "$s/stdout.now")" = bye ] || fail "no bye"
[ "$(json "$s/status" .end_reason)" = stop ] || fail "end_reason"
jq -e 'select(.type == "end" and .reason == "stop" and .status == 5)' \
	"$s/events" >/dev/null || fail "end event: $(tail -n 1 "$s/events.now")"
ok "stop of a paused job: its handler printed bye and exited 5 in $dt ms"

# A reader that has the output open still paces the child: its handler
# waits for it (and gets KILLed after the grace when the reader never
# reads); here the reader reads on, and gets bye.
s=$(slot paced)
ctl "$s" "start $handler"
exec 7<"$s/stdout"
wait_until 10 logs_field_is "$s" stdout paused true || fail "never paused"
ctl "$s" stop
sleep 0.5
state_is "$s" running || fail "the handler did not wait for the open reader"
timeout 10 cat <&7 | tail -n 1 >"$WORK/last"
exec 7<&-
[ "$(cat "$WORK/last")" = bye ] || fail "reader's last line: $(cat "$WORK/last")"
wait_for "$s" 5 "handler after the reader read"
ok "an open reader still paces a stopping job, then reads bye"

# end_reason: exit, signal, timeout, kill.
s=$(slot r-exit)
ctl "$s" 'exec true'
wait_for "$s" 0 exit
s2=$(slot r-signal)
ctl "$s2" 'start kill -USR1 $$'
wait_for "$s2" 138 signal
s3=$(slot r-timeout)
ctl "$s3" 'timeout 0.3' 'exec sleep 100'
wait_for "$s3" 143 timeout
s4=$(slot r-kill)
ctl "$s4" 'exec sleep 100'
wait_state "$s4" running
ctl "$s4" kill
wait_for "$s4" 137 kill
for x in "$s:exit" "$s2:signal" "$s3:timeout" "$s4:kill"; do
	[ "$(json "${x%:*}/status" .end_reason)" = "${x##*:}" ] ||
		fail "${x%:*}: end_reason $(json "${x%:*}/status" .end_reason)"
	[ "$(jq -r 'select(.type == "end") | .reason' "${x%:*}/events")" = \
		"${x##*:}" ] || fail "${x%:*}: end event reason"
done
ok "end_reason and the end event: exit, signal, timeout, kill"

# The daemon stops: the handler's bye is in stdout.now while it lingers
# on an open wait; end_reason shutdown.
s=$(slot down)
ctl "$s" "start $handler"
wait_until 10 logs_field_is "$s" stdout paused true || fail "never paused"
exec 7<"$s/wait"
kill -TERM "$DAEMON_PID"
wait_until 10 eval '[ "$(tail -n 1 "$s/stdout.now" 2>/dev/null)" = bye ]' ||
	fail "no bye during the linger"
[ "$(timeout 5 cat <&7)" = 5 ] || fail "wait during the linger"
[ "$(json "$s/status" .end_reason)" = shutdown ] ||
	fail "end_reason $(json "$s/status" .end_reason)"
exec 7<&-
ok "daemon SIGTERM: bye read from stdout.now while it lingered; wait 5"
unmount_fs || fail "daemon exit status $?"
