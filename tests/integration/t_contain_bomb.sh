# A fork bomb (every process forks forever, retrying when the limit
# refuses) cannot outlive its run's control: started as
# user nobody with `ulimit -u 300` (root ignores RLIMIT_NPROC: a bomb is
# never run as root) under `timeout 3`, every process of it is gone
# within 5 s of the deadline. As a safety net the daemon runs in a v1
# pids cgroup of this test's own (where that controller is mounted),
# which the test removes however it ends.
. "$(dirname "$0")/lib.sh"

id nobody >/dev/null 2>&1 || { echo "skip: no user nobody"; exit 77; }
command -v bash >/dev/null || { echo "skip: no bash"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skip: needs root (user nobody)"; exit 77; }

NET=
if [ -w /sys/fs/cgroup/pids ]; then
	NET=/sys/fs/cgroup/pids/spawnfs-test-bomb.$$
	mkdir "$NET"
	echo 3000 >"$NET/pids.max"
fi
net_remove() {
	[ -n "$NET" ] && [ -d "$NET" ] || return 0
	local p t=0
	while read -r p; do kill -9 "$p" 2>/dev/null || true; done <"$NET/cgroup.procs"
	while [ -s "$NET/cgroup.procs" ] && [ $t -lt 100 ]; do
		sleep 0.05
		t=$((t + 1))
	done
	rmdir "$NET" || echo "could not remove $NET" >&2
}
trap 'r=$?; set +e; unmount_fs >/dev/null 2>&1; net_remove; (exit $r); cleanup' EXIT

# nobody_count: live processes of uid nobody.
nobody_count() {
	local n=0 f
	for f in /proc/[0-9]*/status; do
		awk '/^Uid:/ { u = ($2 == 65534) } /^State:/ { z = ($2 == "Z") }
			END { exit !(u && !z) }' "$f" 2>/dev/null && n=$((n + 1))
	done
	echo $n
}
processes_are() {
	[ "$(json "$1/status" .processes)" = "$2" ]
}
none_left() {
	[ "$(nobody_count)" = 0 ]
}
# nobody_all: processes of uid nobody, zombies included: a zombie still
# counts against RLIMIT_NPROC, so the next bomb could not grow.
nobody_all() {
	local n=0 f
	for f in /proc/[0-9]*/status; do
		awk '/^Uid:/ { u = ($2 == 65534) } END { exit !u }' "$f" \
			2>/dev/null && n=$((n + 1))
	done
	echo $n
}
all_gone() {
	[ "$(nobody_all)" = 0 ]
}

[ "$(nobody_count)" = 0 ] || { echo "skip: processes of nobody are running"; exit 77; }
for mode in auto off; do
	printf '[process]\ncgroup = %s\nkill_grace = 500ms\n' "$mode" >"$CONF"
	mount_fs
	[ -z "$NET" ] || echo "$DAEMON_PID" >"$NET/cgroup.procs"
	s=$(slot "bomb-$mode")
	ctl "$s" 'user nobody' 'timeout 3' \
		"start exec bash -c 'ulimit -u 300; b() { while :; do b & sleep 0.01; done; }; b 2>/dev/null'"
	t0=$(date +%s%3N)
	peak=0
	while [ $(($(date +%s%3N) - t0)) -lt 2800 ]; do
		n=$(json "$s/status" .processes)
		[ "$n" -le "$peak" ] || peak=$n
		sleep 0.2
	done
	[ "$peak" -ge 20 ] || fail "$mode: the bomb did not grow (peak $peak): test is void"
	wait_until 8 processes_are "$s" 0
	t=$(($(date +%s%3N) - t0 - 3000))
	[ "$t" -le 5000 ] || fail "$mode: bomb gone $t ms after the deadline"
	none_left || fail "$mode: processes of nobody left: $(nobody_count)"
	ok "$mode: fork bomb as nobody (peak $peak processes) gone $t ms" \
		"after its 3 s deadline"
	unmount_fs || fail "$mode: daemon exit"
	# The daemon reaped the orphans as their subreaper: no zombie of
	# nobody waits for PID 1.
	wait_until 10 all_gone || fail "$mode: $(nobody_all) processes" \
		"of nobody (zombies included) left after the daemon exit"
done
