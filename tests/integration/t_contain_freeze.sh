# freeze and thaw (cgroup.freeze): a frozen tree uses no CPU, state is
# "frozen" (metrics count it), stop thaws it; status.cpu comes from the
# leaf's cpu.stat. Limits need controllers: where they are not enabled
# for the runs (here they belong to cgroup v1) memory, cpus and pids fail
# with EOPNOTSUPP and status.error names the controller. Without
# cgroups, freeze and limits give EOPNOTSUPP too.
. "$(dirname "$0")/lib.sh"

usage() {
	json "$1/status" .cpu.usage_usec
}

# limit_refused SLOT LINE CONTROLLER
limit_refused() {
	ctl_fails "$1" "Operation not supported" "$2"
	json "$1/status" .error | grep -q "no $3 controller" ||
		fail "status.error does not name $3: $(json "$1/status" .error)"
}

cgroup2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -n "$cgroup2" ] && [ -w "$cgroup2" ]; then
	printf '[process]\ncgroup = auto\n' >"$CONF"
	mount_fs
	s=$(slot spin)
	ctl_fails "$s" "No such process" freeze
	ctl "$s" 'start exec yes > /dev/null'
	wait_until 10 state_is "$s" running
	pid=$(json "$s/status" .pid)
	sleep 0.5
	ctl "$s" freeze
	state_is "$s" frozen || fail "state after freeze: $(json "$s/status" .state)"
	[ "$(metric 'spawnfs_slots{state="frozen"}')" = 1 ] ||
		fail "metrics do not count the frozen slot"
	[ "$(metric spawnfs_processes)" -ge 1 ] || fail "processes gauge"
	sleep 0.2
	u0=$(usage "$s")
	c0=$(proc_cpu_ticks "$pid")
	sleep 2
	u1=$(usage "$s")
	c1=$(proc_cpu_ticks "$pid")
	[ $((u1 - u0)) -lt 20000 ] && [ $((c1 - c0)) -le 1 ] ||
		fail "frozen, yet it ran: usage_usec +$((u1 - u0)), ticks +$((c1 - c0))"
	ok "frozen: state frozen, usage_usec +$((u1 - u0)) and $((c1 - c0)) ticks in 2 s"
	ctl "$s" thaw
	state_is "$s" running || fail "state after thaw"
	sleep 1
	u2=$(usage "$s")
	[ $((u2 - u1)) -gt 300000 ] || fail "thawed, yet idle: +$((u2 - u1)) us"
	ok "thawed: running, usage_usec +$((u2 - u1)) in 1 s"
	ctl "$s" freeze
	ctl "$s" 'stop 5'
	[ "$(timeout 10 cat "$s/wait")" = 143 ] || fail "stop of a frozen tree"
	[ "$(json "$s/status" .cpu.usage_usec)" -ge "$u2" ] ||
		fail "cpu figures lost after the run"
	awk -v t="$(metric spawnfs_cpu_seconds_total)" -v u="$u2" \
		'BEGIN { exit !(t * 1000000 >= u) }' || fail "metrics cpu total"
	ok "stop thaws a frozen tree and TERMs it (wait 143); cpu kept"

	# Limits: which controllers did the daemon get for the leaves?
	leaves=$(dirname "$(sed -n 's/^0:://p' "/proc/$DAEMON_PID/cgroup")")
	enabled=$(cat "$cgroup2$leaves/cgroup.subtree_control")
	for c in memory:'memory 1G' cpu:'cpus 0.5' pids:'pids 100'; do
		name=${c%%:*}
		line=${c#*:}
		case " $enabled " in
		*" $name "*) ctl "$s" "$line" ;;
		*) limit_refused "$s" "$line" "$name" ;;
		esac
	done
	ok "limits: enabled for the runs: '${enabled}'; the others refused" \
		"with EOPNOTSUPP naming the controller"
	unmount_fs
else
	echo "skip: no writable cgroup2 here; only the fallback is tested"
fi

printf '[process]\ncgroup = off\n' >"$CONF"
mount_fs
s=$(slot groups)
ctl "$s" 'exec sleep 300'
wait_until 10 state_is "$s" running
limit_refused "$s" freeze cgroup2
idle=$(slot idle)
limit_refused "$idle" 'memory 1G' memory
limit_refused "$idle" 'cpus 2' cpu
limit_refused "$idle" 'pids 10' pids
[ "$(json "$s/status" .cpu)" = null ] || fail "cpu without cgroups"
[ "$(json "$s/status" .processes)" = 1 ] || fail "processes of the group"
ctl "$s" kill
ok "cgroup = off: freeze and limits EOPNOTSUPP, cpu null, processes counted"
