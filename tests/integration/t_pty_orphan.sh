# A background grandchild that keeps the terminal open cannot keep the
# logs open ("the same holds for a pty"): readers of stdout and
# events see EOF at most drain_timeout after the command exits, the end
# event comes, and the daemon closes its end of the terminal.
. "$(dirname "$0")/lib.sh"
cat >"$CONF" <<'EOF'
[stream]
drain_timeout = 500ms
EOF
mount_fs

# orphan NAME CMDLINE: run CMDLINE on a pty with readers of stdout and
# events open from before the start; check both reach EOF within
# drain_timeout (+ slack) of the exit. Sets pid (the run's, = its pgid)
# and t (ms from the start to both EOFs).
orphan() {
	local s=$MNT/$1 r1 r2 t0
	mkdir "$s"
	cat "$s/stdout" >"$WORK/$1.out" &
	r1=$!
	cat "$s/events" >"$WORK/$1.ev" &
	r2=$!
	wait_until 5 logs_field_is "$s" stdout readers 1
	wait_until 5 logs_field_is "$s" events readers 1
	ctl "$s" 'pty 80x24' "start $2"
	t0=$(now_ms)
	life_wait_pid 10 "$r1" || fail "$1: the stdout reader failed"
	life_wait_pid 10 "$r2" || fail "$1: the events reader failed"
	t=$(($(now_ms) - t0))
	[ "$t" -le 2000 ] || fail "$1: readers saw EOF $t ms after the start" \
		"of a command that exits at once (drain_timeout 500 ms)"
	[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "$1: wait"
	[ "$(tr -d '\r' <"$WORK/$1.out")" = hi ] ||
		fail "$1: stdout '$(od -c <"$WORK/$1.out")'"
	life_ev_check "$WORK/$1.ev" >&2 || fail "$1: events"
	[ "$(life_ev_types "$WORK/$1.ev")" = "start stdout end" ] ||
		fail "$1: events $(life_ev_types "$WORK/$1.ev")"
	pid=$(jq -r 'select(.type == "start") | .pid' "$WORK/$1.ev")
	[ "$pid" -gt 1 ] || fail "$1: no pid in the start event"
}

fds0=$(daemon_fds)

# As asked: `sleep 300 & echo hi`. The sleep shares the terminal's group;
# the kernel may hang it up when the shell (the session leader) exits.
orphan plain 'sleep 300 & echo hi'
kill -9 -- "-$pid" 2>/dev/null || true
ok "pty, 'sleep 300 & echo hi': stdout and events readers end $t ms after the start"

# A grandchild that ignores SIGHUP survives the exit and holds the
# terminal open: only drain_timeout ends the logs.
orphan held "trap '' HUP; sleep 300 & echo hi"
members=$(session_pids "$pid")
[ -n "$members" ] || fail "held: the grandchild did not survive (test is void)"
[ "$t" -ge 400 ] || fail "held: EOF after $t ms, before drain_timeout," \
	"while the grandchild holds the terminal (test is void?)"
for m in $members; do
	[ "$(stat_field "$m" 5)" = "$pid" ] || fail "held: $m is not in group $pid"
done
ok "pty, HUP-immune grandchild (pids $members) still holds the terminal:" \
	"readers end $t ms after the start (drain_timeout 500 ms)"

# The daemon has let go of the terminal: its fd count is back (a living
# tree holds no fd: its cgroup leaf is opened for each use).
until_true 5 '[ "$(daemon_fds)" -le "$fds0" ]'
kill -9 -- "-$pid"
until_true 5 '[ "$(daemon_fds)" -le "$fds0" ]'
# shellcheck disable=SC2086
wait_dead 5 $members
ok "the daemon closed its end of the terminal (fds back to $fds0);" \
	"grandchild killed by its group $pid"
