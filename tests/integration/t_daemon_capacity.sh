# Capacity: a running slot holds its two pipes and nothing else (no
# pidfd, no cgroup fd), metrics say how many runs the open-file limit
# allows (spawnfs_run_capacity), and a start beyond that fails cleanly:
# EMFILE, a status.error that names the limit, no fd or child leaked,
# and the daemon serves on. Run with a hard limit of 200 so the edge is
# reached with a few dozen slots.
if [ -n "${SPAWNFS_WRAP:-}" ]; then
	echo "skip: under SPAWNFS_WRAP (valgrind keeps fds and limits for itself)"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
cat >"$CONF" <<'CONF'
[process]
max_processes = 1000
CONF
ulimit -Sn 200
ulimit -Hn 200
mount_fs
cap=$(metric spawnfs_run_capacity)
f0=$(daemon_fds)
[ "$cap" -gt 10 ] && [ "$cap" -le $(((200 - f0) / 2)) ] ||
	fail "capacity $cap with $f0 fds open and a limit of 200"
ok "capacity $cap runs under a limit of 200 ($f0 fds open at start)"

# Runs up to the capacity: two fds each.
for i in $(seq 1 "$cap"); do
	mkdir "$MNT/r$i"
	echo 'exec sleep 100' >"$MNT/r$i/ctl" || fail "start $i of $cap failed: $(cat "$MNT/r$i/status")"
done
f1=$(daemon_fds)
[ "$f1" -eq $((f0 + 2 * cap)) ] ||
	fail "$cap running slots hold $((f1 - f0)) fds, want $((2 * cap))"
ok "$cap running slots hold two fds each ($f0 -> $f1)"

# One more: EMFILE, said in status, nothing left behind.
mkdir "$MNT/over"
if echo 'exec sleep 100' >"$MNT/over/ctl" 2>"$WORK/over.err"; then
	fail "a start beyond the capacity succeeded"
fi
grep -q 'Too many open files' "$WORK/over.err" ||
	fail "the write's error: $(cat "$WORK/over.err")"
err=$(jq -r .error "$MNT/over/status")
case $err in
*"$cap runs at once"*"open-file limit"*"Too many open files") ;;
*) fail "status.error: $err" ;;
esac
[ "$(jq -r .state "$MNT/over/status")" = failed ] || fail "state: $(jq -r .state "$MNT/over/status")"
[ "$(daemon_fds)" -eq "$f1" ] || fail "fds after the refused start: $(daemon_fds), want $f1"
ok "start $((cap + 1)): EMFILE, status.error '$err'"

# A run ends: room for one more.
echo kill >"$MNT/r1/ctl"
[ "$(timeout 10 cat "$MNT/r1/wait")" = 137 ] || fail "r1 did not end"
wait_until 10 eval '[ "$(daemon_fds)" -le $((f1 - 2)) ]' || fail "r1's pipes still open"
echo 'exec true' >"$MNT/over/ctl" || fail "no room after a run ended"
[ "$(timeout 10 cat "$MNT/over/wait")" = 0 ] || fail "the run after the room failed"
ok "a run that ends makes room again"
for i in $(seq 1 "$cap"); do echo kill >"$MNT/r$i/ctl" 2>/dev/null || true; done
for i in $(seq 1 "$cap"); do timeout 10 cat "$MNT/r$i/wait" >/dev/null; done
wait_until 20 metric_is spawnfs_processes 0 || fail "processes left"
ok "every run ended"
