# Back-pressure: with no reader, `yes` fills buffer_size and is
# paused by its own pipe; the daemon's CPU and memory stay flat; a reader
# that comes later gets every byte from the first, in order.
. "$(dirname "$0")/lib.sh"
BUF=262144
printf '[stream]\nbuffer_size=256K\n' >"$CONF"
mount_fs

s=$(slot yes)
ctl "$s" 'exec yes'
wait_until 5 state_is "$s" running
pid=$(json "$s/status" .pid)
[ "$pid" -gt 0 ] || fail "no pid in status"

sleep 1
d0=$(daemon_cpu_ticks)
r0=$(daemon_rss_kb)
c0=$(proc_cpu_ticks "$pid")
sleep 2
d1=$(daemon_cpu_ticks)
r1=$(daemon_rss_kb)
c1=$(proc_cpu_ticks "$pid")
st=$(cat "$s/status")

ok "daemon cpu ticks t=1s..3s: $d0 -> $d1 (+$((d1 - d0)))"
ok "daemon rss kB t=1s..3s: $r0 -> $r1 (+$((r1 - r0)))"
ok "child cpu ticks t=1s..3s: $c0 -> $c1 (+$((c1 - c0)))"
[ $((d1 - d0)) -le 5 ] || fail "daemon burnt $((d1 - d0)) ticks while paused"
rss_limit 1024 "$r0" "$r1" "paused child, nobody reading"
[ $((c1 - c0)) -le 2 ] || fail "child not paused: +$((c1 - c0)) ticks"
[ "$(proc_state "$pid")" != R ] || fail "child still runnable"
jq -e --argjson b "$BUF" '.state == "running" and .logs.stdout.paused == true
	and .logs.stdout.retained == $b and .logs.stdout.bytes == $b' \
	<<<"$st" >/dev/null || fail "status while paused: $st"
ok "paused: $(jq -c .logs.stdout <<<"$st")"

N=5000000
want=$({ yes || :; } | head -c $N | md5sum)
got=$(timeout 20 head -c $N "$s/stdout" | md5sum)
[ "$got" = "$want" ] || fail "first $N bytes differ from yes: $got"
ok "late reader from offset 0 got $N bytes identical to yes"

# The child ran on while it was read, then paused again.
wait_until 5 logs_field_is "$s" stdout paused true
b=$(logs_field "$s" stdout bytes)
[ "$b" -ge $N ] || fail "bytes $b < $N after the read"
ok "paused again at $b bytes"
# yes repeats "y\n", so a lost or doubled chunk of even length would not
# show; seq's output never repeats, so here any loss or reordering does.
q=$(slot seq)
ctl "$q" 'exec seq 1 1000000'
sleep 1
jq -e --argjson b "$BUF" '.state == "running" and .logs.stdout.paused == true
	and .logs.stdout.bytes == $b' "$q/status" >/dev/null ||
	fail "seq not paused at buffer_size: $(cat "$q/status")"
want=$(seq 1 1000000 | md5sum)
got=$(timeout 20 cat "$q/stdout" | md5sum)
[ "$got" = "$want" ] || fail "late reader of seq 1 1000000 lost or reordered bytes"
[ "$(timeout 5 cat "$q/wait")" = 0 ] || fail "seq wait"
ok "late reader of a paused seq 1 1000000 got all $(stat -c %s "$q/stdout") bytes in order"

# Each pipe is held by its own log: an unread stderr (or events) below
# buffer_size does not pause a child whose stdout is being read...
seq 1 150000 >"$WORK/out.want"
seq 1 20000 >"$WORK/err.want"
e=$(slot mixed)
ctl "$e" 'start seq 1 150000; seq 1 20000 >&2'
timeout 10 cat "$e/stdout" >"$WORK/out" || fail "mixed: stdout reader stuck"
cmp -s "$WORK/out" "$WORK/out.want" || fail "mixed: stdout differs"
[ "$(timeout 5 cat "$e/wait")" = 0 ] || fail "mixed: wait"
timeout 5 cat "$e/stderr" | cmp -s - "$WORK/err.want" || fail "mixed: stderr differs"
ok "stdout read, stderr and events unread: ran to the end, both logs whole"

# ...but one that fills its own buffer does, and its reader resumes it.
seq 1 200000 >"$WORK/err.want"
e=$(slot errfull)
ctl "$e" 'start seq 1 200000 >&2; echo end'
rc=0
timeout 2 cat "$e/stdout" >"$WORK/out" || rc=$?
[ "$rc" = 124 ] && [ ! -s "$WORK/out" ] ||
	fail "stdout reader did not wait for the paused child (status $rc)"
jq -e --argjson b "$BUF" '.state == "running" and .logs.stderr.paused == true
	and .logs.stderr.bytes == $b' "$e/status" >/dev/null ||
	fail "stderr not paused at buffer_size: $(cat "$e/status")"
timeout 10 cat "$e/stderr" | cmp -s - "$WORK/err.want" || fail "errfull: stderr differs"
[ "$(timeout 5 cat "$e/stdout")" = end ] || fail "errfull: stdout after stderr drained"
[ "$(timeout 5 cat "$e/wait")" = 0 ] || fail "errfull: wait"
ok "unread stderr paused the child at $BUF bytes; reading it resumed the run"

ctl "$s" kill
[ "$(timeout 5 cat "$s/wait")" = 137 ] || fail "wait after kill"
ok "kill of the paused child: wait gives 137"

# Unmount with that output still unread: the daemon must still exit
#, not wait for an EOF it has stopped reading for.
fusermount3 -u "$MNT" || fail "fusermount3 -u"
t=0
limit=$((5 * $(slow_factor)))
while kill -0 "$DAEMON_PID" 2>/dev/null && [ $t -lt $((limit * 20)) ]; do
	sleep 0.05
	t=$((t + 1))
done
if kill -0 "$DAEMON_PID" 2>/dev/null; then
	kill -9 "$DAEMON_PID"
	fail "daemon still running $limit s after unmount (unread paused output)"
fi
unmount_fs || fail "daemon exit status $?"
ok "unmount with unread output: daemon exited in $((t * 50)) ms"
