# A background grandchild holding the pipe :
# readers see EOF at most drain_timeout after the command exits, and the
# daemon then closes its end of the pipe.
. "$(dirname "$0")/lib.sh"
printf '[stream]\ndrain_timeout=1000ms\n' >"$CONF"
mount_fs

# pipes: the number of the daemon's open pipe fds.
pipes() {
	ls -l "/proc/$DAEMON_PID/fd" | grep -c 'pipe:' || true
}

# fds_at_most N: for wait_until.
fds_at_most() {
	[ "$(daemon_fds)" -le "$1" ]
}

# A run's cgroup leaf is opened for each use, never held: while the
# tree lives (the grandchild below) the daemon holds no fd for it.
leaf=0
s=$(slot bg)
f0=$(daemon_fds)
p0=$(pipes)
# status drops pid and pgid once the command exited, so the command tells
# the grandchild's pid on stderr; it leads no group, its group is the run's.
ctl "$s" 'start sleep 300 & echo $! >&2; echo hi'
wait_until 5 test -s "$s/stderr"
gc=$(timeout 5 head -n 1 "$s/stderr")
pgid=$(ps -o pgid= -p "$gc" | tr -d ' ')
[ "${pgid:-0}" -gt 1 ] || fail "grandchild $gc: no process group"
GROUP=$pgid
trap 'r=$?; set +e; [ -n "$GROUP" ] && kill -9 -- "-$GROUP" 2>/dev/null; (exit $r); cleanup' EXIT

[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "wait"
t0=$(now_ms)
out=$(timeout 5 cat "$s/stdout") || fail "cat stdout: no EOF in 5 s (status $?)"
dt=$(($(now_ms) - t0))
[ "$out" = hi ] || fail "stdout is '$out', want 'hi'"
ok "cat after exit: 'hi' then EOF $dt ms after wait answered"
[ "$dt" -lt 3000 ] || fail "EOF took $dt ms (drain_timeout 1000 ms)"

# The grandchild is still there, holding the pipe: the EOF came from the
# drain timeout, not from the pipe closing.
[ "$(pgrep -g "$pgid" -x sleep)" = "$gc" ] ||
	fail "grandchild 'sleep 300' ($gc) not found in group $pgid"
ok "grandchild $gc still alive in group $pgid"

wait_until 2 fds_at_most $((f0 + leaf))
f1=$(daemon_fds)
p1=$(pipes)
ok "daemon fds: $f0 before the run, $f1 after EOF (pipes $p0 -> $p1;" \
	"$leaf for the living tree's leaf)"
[ "$f1" = $((f0 + leaf)) ] || fail "fd count $f0 -> $f1
$(ls -l "/proc/$DAEMON_PID/fd")"
[ "$p1" = "$p0" ] || fail "pipe fds $p0 -> $p1"

# What the grandchild writes after that is not captured, and a second
# reader also gets the same log and EOF at once.
b=$(logs_field "$s" stdout bytes)
[ "$b" = 3 ] || fail "stdout bytes $b, want 3"
t0=$(now_ms)
[ "$(timeout 5 cat "$s/stdout")" = hi ] || fail "second reader"
[ $(($(now_ms) - t0)) -lt 500 ] || fail "second reader waited"
ok "second reader: 'hi' and EOF at once"

kill -9 -- "-$pgid"
wait_until 5 pid_dead "$gc"
GROUP=
wait_until 5 fds_at_most "$f0"
ok "the grandchild killed: fds back to $f0"

# A reader already waiting when the command exits ends the same way.
r=$(slot bg2)
ctl "$r" 'start sleep 300 & sleep 0.5; echo hi'
pgid=$(json "$r/status" .pgid)
[ "$pgid" -gt 1 ] || fail "no pgid in status while running"
GROUP=$pgid
fr=$(daemon_fds)
[ "$fr" -gt "$f0" ] || fail "the run's pipes do not show in the daemon's fds"
t0=$(now_ms)
out=$(timeout 5 cat "$r/stdout") || fail "waiting reader: no EOF in 5 s"
dt=$(($(now_ms) - t0))
[ "$out" = hi ] || fail "waiting reader got '$out'"
[ "$(timeout 1 cat "$r/wait")" = 0 ] || fail "wait after EOF"
ok "reader open during exit: 'hi' then EOF after $dt ms"
[ "$dt" -lt 3500 ] || fail "EOF took $dt ms (exit at 500 ms + drain 1000 ms)"
[ -n "$(pgrep -g "$pgid" -x sleep)" ] || fail "grandchild gone too early"
wait_until 2 fds_at_most $((f0 + leaf))
[ "$(daemon_fds)" = $((f0 + leaf)) ] || fail "fds after second run"
kill -9 -- "-$pgid"
GROUP=
wait_until 5 fds_at_most "$f0"
ok "daemon fds: $fr while running, $((f0 + leaf)) after EOF, $f0 once" \
	"the tree is gone"
