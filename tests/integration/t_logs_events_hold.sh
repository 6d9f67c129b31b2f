# Back-pressure across logs: an open `events` handle holds the
# pipes it is fed by, so an open but unread events handle pauses a child
# whose stdout is being read; closing it lets the run go on, and the
# stdout reader still gets every byte.
. "$(dirname "$0")/lib.sh"
mount_fs

seq 1 300000 >"$WORK/want"
s=$(slot held)
[ -e "$s/events" ] || fail "no events file in a slot"
exec 7<"$s/events"
ctl "$s" 'exec seq 1 300000'
timeout 15 cat "$s/stdout" >"$WORK/out" 7<&- &
c=$!
sleep 1.5
n=$(wc -c <"$WORK/out")
ok "with an unread events handle open, the stdout reader got $n of $(wc -c <"$WORK/want") bytes in 1.5 s"
state_is "$s" running || fail "child not held by the events handle: $(cat "$s/status")"
[ "$n" -lt "$(wc -c <"$WORK/want")" ] || fail "events handle did not hold the pipe"
exec 7<&-
wait "$c" || fail "stdout reader status $? after the events handle closed"
cmp -s "$WORK/out" "$WORK/want" || fail "stdout reader lost bytes"
[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "wait"
ok "closing the events handle resumed the run; the stdout reader got every byte"
