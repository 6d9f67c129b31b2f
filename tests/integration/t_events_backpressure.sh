# Back-pressure through events: an open events handle
# holds both pipes, so an open but unread events handle pauses the child
# even while stdout is being drained; closing it resumes the child. With
# no handle open on any log, the child pauses once stdout's buffer_size is
# full, and an unread events log does not hold it.
. "$(dirname "$0")/lib.sh"
life_trap_fds 3
cat >"$CONF" <<'EOF'
[stream]
buffer_size = 64K
EOF
mount_fs

# flat SLOT PID: over one second the child used (almost) no CPU and
# stdout captured nothing new. Prints the stdout byte count.
flat() {
	local c0 c1 b0 b1
	c0=$(proc_cpu_ticks "$2")
	b0=$(logs_field "$1" stdout bytes)
	sleep 1
	c1=$(proc_cpu_ticks "$2")
	b1=$(logs_field "$1" stdout bytes)
	[ $((c1 - c0)) -le 2 ] || fail "child used $((c1 - c0)) ticks in 1 s while paused"
	[ "$b1" = "$b0" ] || fail "stdout grew from $b0 to $b1 while paused"
	echo "$b1"
}

s=$(slot yes)
exec 3<"$s/events"
ctl "$s" 'exec yes'
wait_until 10 state_is "$s" running
pid=$(json "$s/status" .pid)
cat "$s/stdout" 3<&- >/dev/null &
drain=$!
wait_until 5 logs_field_is "$s" stdout readers 1
wait_until 5 logs_field_is "$s" events paused true
[ "$(logs_field "$s" events readers)" = 1 ] || fail "events readers"
[ "$(logs_field "$s" stdout paused)" = false ] ||
	fail "stdout, which is being read, shows paused"
b=$(flat "$s" "$pid")
ev=$(logs_field "$s" events bytes)
[ "$ev" -le $((64 * 1024)) ] || fail "events log grew to $ev bytes past 64K unread"
[ "$(proc_state "$pid")" = S ] || fail "yes is in state $(proc_state "$pid"), not blocked"
ok "an unread events handle pauses yes (stdout drained, stuck at $b bytes," \
	"events $ev bytes, child CPU flat)"

# Every byte is still there for the events handle: its first line is
# the start event.
head -n 1 <&3 >"$WORK/first.ev"
jq -e '.seq == 1 and .type == "start" and .argv == ["yes"]' \
	"$WORK/first.ev" >/dev/null || fail "first event: $(cat "$WORK/first.ev")"

exec 3<&-
wait_until 5 logs_field_is "$s" events readers 0
until_true 5 '[ "$(logs_field "$s" stdout bytes)" -gt $((b + 4 * 1024 * 1024)) ]'
b0=$(logs_field "$s" stdout bytes)
sleep 0.5
b1=$(logs_field "$s" stdout bytes)
[ "$b1" -gt "$b0" ] || fail "stdout stopped growing after the events handle closed"
[ "$(logs_field "$s" events paused)" = false ] || fail "events still paused"
ok "closing the events handle resumes yes (stdout past $((b / 1024 + 4096)) KiB)"

# Without any handle open the child pauses on stdout's buffer, and the
# unread events log is not what holds it.
kill "$drain"
wait "$drain" 2>/dev/null || true
wait_until 5 logs_field_is "$s" stdout readers 0
wait_until 5 logs_field_is "$s" stdout paused true
b=$(flat "$s" "$pid")
[ "$(logs_field "$s" events paused)" = false ] ||
	fail "the unread events log holds the child"
retained=$(logs_field "$s" stdout retained)
[ "$retained" -le $((64 * 1024)) ] ||
	fail "stdout retains $retained bytes, over buffer_size 64K"
ok "with no handle open yes pauses on stdout (paused true, $retained bytes" \
	"retained), events does not hold it"

ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "wait after kill"
