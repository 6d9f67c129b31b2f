# A run is its whole process tree: a timeout, kill, stop and
# rmdir reach grandchildren after the leader has exited, setsid ones too
# with cgroups; start and settings give EBUSY while the tree lives; once
# it is empty signal gives ESRCH and the run's leaf is gone. Run twice:
# with cgroup = auto (a cgroup2 leaf per run) and cgroup = off (process
# groups, the daemon a child subreaper).
. "$(dirname "$0")/lib.sh"

# pids_of SLOT: the pids the run printed to stdout, one a line.
pids_of() {
	cat "$1/stdout"
}

# all_dead PID...: none of the pids runs any more.
all_dead() {
	local p
	for p in "$@"; do
		pid_dead "$p" || return 1
	done
}

# now_ms: milliseconds since the epoch.
now_ms() {
	date +%s%3N
}

processes_is() {
	[ "$(json "$1/status" .processes)" = "$2" ]
}

# The run's stdout has N lines.
lines_are() {
	[ "$(wc -l <"$1/stdout")" -ge "$2" ]
}

run_mode() { # MODE: auto or off
	local mode=$1 s t0 t pids
	printf '[process]\ncgroup = %s\nkill_grace = 500ms\n' "$mode" >"$CONF"
	mount_fs

	# timeout reaches background grandchildren after the leader exited.
	s=$(slot "to-$mode")
	ctl "$s" 'timeout 2'
	if [ "$mode" = auto ]; then
		ctl "$s" 'start sleep 300 & echo $!; setsid sleep 300 & echo $!; sleep 0.3'
	else
		ctl "$s" 'start sleep 300 & echo $!; sleep 300 & echo $!; sleep 0.3'
	fi
	t0=$(now_ms)
	wait_until 10 lines_are "$s" 2
	wait_until 10 state_is "$s" exited
	pids=$(pids_of "$s")
	# shellcheck disable=SC2086
	all_dead $pids && fail "$mode: grandchildren gone before the timeout"
	processes_is "$s" 2 || fail "$mode: processes is not 2: $(cat "$s/status")"
	[ "$(json "$s/status" .pid)" = null ] || fail "$mode: pid not null"
	ctl_fails "$s" "Device or resource busy" 'exec true'
	ctl_fails "$s" "Device or resource busy" 'cwd /'
	# shellcheck disable=SC2086
	wait_until 4 all_dead $pids
	t=$(($(now_ms) - t0))
	[ "$t" -ge 1900 ] || fail "$mode: killed after $t ms, before timeout 2"
	wait_until 5 processes_is "$s" 0
	ok "$mode: timeout 2 killed the grandchildren ($t ms after start)"
	ctl_fails "$s" "No such process" 'signal TERM'
	ctl "$s" 'exec true'
	[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "$mode: restart after empty"
	ok "$mode: EBUSY while the tree lives, ESRCH and a new start once empty"

	# kill after the leader's exit.
	s=$(slot "kill-$mode")
	if [ "$mode" = auto ]; then
		ctl "$s" 'start setsid sleep 300 & echo $!'
	else
		ctl "$s" 'start sleep 300 & echo $!'
	fi
	wait_until 10 state_is "$s" exited
	pids=$(pids_of "$s")
	pid_dead "$pids" && fail "$mode: no grandchild to kill"
	ctl "$s" kill
	wait_until 3 pid_dead "$pids"
	wait_until 5 processes_is "$s" 0
	ok "$mode: kill after the leader's exit killed the grandchild"

	# stop (TERM) after the leader's exit, a grandchild that traps it.
	s=$(slot "stop-$mode")
	ctl "$s" "start sh -c 'trap \"\" TERM; echo \$\$; exec sleep 300' &"
	wait_until 10 lines_are "$s" 1
	wait_until 10 state_is "$s" exited
	pids=$(pids_of "$s")
	ctl "$s" 'stop 0.3'
	wait_until 3 pid_dead "$pids"
	ok "$mode: stop after the leader's exit: TERM, then KILL after grace"

	# rmdir of a slot whose leader exited kills its tree.
	s=$(slot "rm-$mode")
	if [ "$mode" = auto ]; then
		ctl "$s" 'start setsid sleep 300 & echo $!'
	else
		ctl "$s" 'start sleep 300 & echo $!'
	fi
	wait_until 10 state_is "$s" exited
	pids=$(pids_of "$s")
	rmdir "$s" || fail "$mode: rmdir of an exited slot with a tree"
	wait_until 3 pid_dead "$pids"
	ok "$mode: rmdir killed what was left of the tree"

	if [ "$mode" = auto ]; then
		# The leader and its children are in the run's own leaf.
		s=$(slot leaf)
		ctl "$s" 'exec sleep 300'
		wait_until 10 state_is "$s" running
		cg=$(sed -n 's/^0:://p' "/proc/$(json "$s/status" .pid)/cgroup")
		case $cg in
		*/spawnfs-*/[0-9]*-1) ;;
		*) fail "the leader is in $cg, not in a run's leaf" ;;
		esac
		grep -q 'no clone3 here' "$DAEMON_LOG" && late=1 || late=0
		case ${SPAWNFS_WRAP:-} in
		*valgrind*) [ "$late" = 1 ] ||
			fail "under valgrind the child did not join by cgroup.procs" ;;
		*) [ "$late" = 0 ] || fail "clone3 was not used" ;;
		esac
		ctl "$s" kill
		[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "leaf: kill"
		wait_until 5 test ! -d "$cgroup2$cg"
		ok "the leader runs in its own leaf $cg (joined by $([ "$late" = 1 ] && echo cgroup.procs || echo clone3)); the leaf goes with the tree"
	fi
	unmount_fs
}

cgroup2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -n "$cgroup2" ] && [ -w "$cgroup2" ]; then
	run_mode auto
else
	echo "skip: no writable cgroup2 here; only the fallback is tested"
fi
run_mode off
