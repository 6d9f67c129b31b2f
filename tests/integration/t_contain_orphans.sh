# The daemon is the subreaper of its runs in every mode:
# a background grandchild whose parent exited comes to the daemon, and
# when it ends the daemon reaps it at once, never leaving it to PID 1
# (which may never reap it). A leader's own status is never taken by
# that reaping: wait still answers each run's status.
. "$(dirname "$0")/lib.sh"

ppid_of() {
	stat_field "$1" 4
}

for mode in auto off; do
	printf '[process]\ncgroup = %s\n' "$mode" >"$CONF"
	mount_fs
	s=$(slot "o-$mode")
	ctl "$s" "start sleep 1 >/dev/null 2>&1 & echo \$!; exit 3"
	[ "$(timeout 20 cat "$s/wait")" = 3 ] || fail "$mode: leader status"
	pid=$(timeout 10 head -n 1 "$s/stdout")
	[ -n "$pid" ] || fail "$mode: no grandchild pid"
	[ "$(ppid_of "$pid")" = "$DAEMON_PID" ] ||
		fail "$mode: orphan $pid has parent $(ppid_of "$pid"), not the daemon"
	wait_until 10 eval '[ "$(proc_state "$pid")" = gone ]' ||
		fail "$mode: orphan $pid left as $(proc_state "$pid")"
	[ "$(metric spawnfs_orphans_reaped_total)" -ge 1 ] ||
		fail "$mode: orphans reaped: $(metric spawnfs_orphans_reaped_total)"
	ok "$mode: an orphan came to the daemon and was reaped when it ended"

	# Many at once, beside leaders that exit: every status right.
	for i in 1 2 3 4 5; do
		ctl "$(slot "m$i-$mode")" "start for j in 1 2 3; do sleep 0.2 & done; exit $i"
	done
	for i in 1 2 3 4 5; do
		[ "$(timeout 20 cat "$MNT/m$i-$mode/wait")" = "$i" ] ||
			fail "$mode: run m$i: wrong status"
	done
	wait_until 10 eval '[ -z "$(zombies_of "$DAEMON_PID")" ]' ||
		fail "$mode: zombies left: $(zombies_of "$DAEMON_PID")"
	ok "$mode: 15 orphans beside 5 leaders: each status right, no zombie"
	unmount_fs || fail "$mode: daemon exit"
done
