# The exec report of a start whose child dies before exec, while a
# second child, forked later and held between fork and exec, still holds
# a copy of the first report pipe's read end. The daemon must delete the
# watch before it closes the pipe (else epoll goes on reporting the pipe
# for a freed watch: a use-after-free, or a busy loop), and a child that
# dies before exec is a failed start, not a run that was killed.
. "$(dirname "$0")/lib.sh"
mount_fs

# A second tree whose daemon is stopped: a child whose cwd is in it
# hangs in chdir, after fork and before exec.
stall_up

# held SLOT OUT: in the background, start "exec true" in SLOT with its
# cwd on the stopped tree; OUT gets the write's outcome.
held() {
	(printf 'cwd %s\nexec true\n' "$M2/d" >"$1/ctl" 2>"$2.err" &&
		echo ok >"$2" || echo "failed: $(cat "$2.err")" >"$2") &
}
# held_children: the daemon's children that are not yet exec'd (still a
# copy of the daemon or of its spawner: their command line is one of
# theirs).
held_children() {
	local p
	for p in $(children_of "$DAEMON_PID"); do
		{ cmp -s "/proc/$p/cmdline" "/proc/$DAEMON_PID/cmdline" ||
			[ "$(tr '\0' ' ' <"/proc/$p/cmdline")" = \
				"spawnfs --spawner 3 " ]; } && echo "$p"
	done
}
count_is() {
	[ "$(held_children | wc -l)" = "$1" ]
}

a=$(slot a)
b=$(slot b)
held "$a" "$WORK/a"
wait_until 10 count_is 1 || fail "the first child is not held"
first=$(held_children)
held "$b" "$WORK/b"
wait_until 10 count_is 2 || fail "the second child is not held"

# The first child dies before exec; the second still holds the first's
# report pipe.
kill -9 "$first"
wait_until 10 test -s "$WORK/a" || fail "the first write never ended"
case $(cat "$WORK/a") in
failed:*) ;;
*) fail "a child that died before exec was taken for a start" ;;
esac
wait_state "$a" failed || fail "state $(json "$a/status" .state)"
json "$a/status" .error | grep -q 'before exec' ||
	fail "status.error: $(json "$a/status" .error)"
[ "$(timeout 10 cat "$a/wait")" = 1 ] || fail "wait of a: not 1"
ok "a child killed before exec is a failed start, wait 1"

# The daemon neither crashed nor spins on the dead pipe.
t0=$(daemon_cpu_ticks)
sleep 1
t1=$(daemon_cpu_ticks)
[ $((t1 - t0)) -lt 30 ] || fail "daemon used $((t1 - t0)) ticks in 1 s idle"
ok "no busy loop on the first report pipe ($((t1 - t0)) ticks in 1 s)"

# The second start goes on once the stopped tree answers, and runs.
kill -CONT "$STALL"
wait_until 10 test -s "$WORK/b" || fail "the second write never ended"
[ "$(cat "$WORK/b")" = ok ] || fail "second start: $(cat "$WORK/b")"
[ "$(timeout 10 cat "$b/wait")" = 0 ] || fail "wait of b: not 0"
ok "the second start, held before exec, then runs"

# Again, many times: starts racing a held child's death.
kill -STOP "$STALL"
for i in $(seq 1 "$(wrap_count 20 4)"); do
	rmdir "$a" "$b"
	a=$(slot a)
	b=$(slot b)
	held "$a" "$WORK/a$i"
	wait_until 10 count_is 1 || fail "round $i: first child not held"
	first=$(held_children)
	held "$b" "$WORK/b$i"
	wait_until 10 count_is 2 || fail "round $i: second child not held"
	kill -9 "$first"
	wait_until 10 test -s "$WORK/a$i" || fail "round $i: write hangs"
	kill -9 $(held_children) 2>/dev/null || true
	wait_until 10 test -s "$WORK/b$i" || fail "round $i: write hangs"
	kill -0 "$DAEMON_PID" || fail "round $i: the daemon died"
done
ok "$(wrap_count 20 4) rounds of a child killed before exec"
