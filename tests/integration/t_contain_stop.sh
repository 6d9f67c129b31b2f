# Nothing of a run outlives the daemon: a SIGTERM stop or an
# unmount leaves no process of any run, setsid grandchildren included
# with cgroups (group members with cgroup = off); after kill -9 of the
# daemon its leaders die with it (PR_SET_PDEATHSIG) and a new daemon on
# the same mount point kills what the old runs left (their leaves), and
# a clean exit removes the daemon's cgroups; a second daemon on a mount
# point whose cgroup parent a live daemon owns uses a parent of its own.
. "$(dirname "$0")/lib.sh"

all_dead() {
	local p
	for p in "$@"; do
		pid_dead "$p" || return 1
	done
}

# lines_are FILE N: FILE has N lines (the runs write their pids to
# files: their stdout would not end while they run).
lines_are() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

# start_family MODE: three slots whose runs leave grandchildren (setsid
# ones with cgroups) and write every pid to $WORK/famN (the leader's
# first); prints them all.
start_family() {
	local mode=$1 i s f
	for i in 1 2 3; do
		s=$(slot "fam$i")
		f=$WORK/fam$i
		rm -f "$f"
		if [ "$mode" = auto ]; then
			ctl "$s" "start exec >$f; echo \$\$; setsid sleep 300 & echo \$!; sleep 300 & echo \$!; exec sleep 300"
		else
			ctl "$s" "start exec >$f; echo \$\$; sleep 300 & echo \$!; (sleep 300 & echo \$!; sleep 300) & echo \$!; exec sleep 300"
		fi
		wait_until 10 lines_are "$f" 3
	done
	cat "$WORK"/fam[123]
}

cgroup2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
parent=$cgroup2$(sed -n 's/^0:://p' /proc/self/cgroup)
parent=${parent%/}/spawnfs-$(systemd-escape --path "$MNT" 2>/dev/null ||
	echo none)
modes="off"
if [ -n "$cgroup2" ] && [ -w "$cgroup2" ]; then
	modes="auto off"
else
	echo "skip: no writable cgroup2 here; only the fallback is tested"
fi

for mode in $modes; do
	printf '[process]\ncgroup = %s\nkill_grace = 300ms\n' "$mode" >"$CONF"
	for how in TERM unmount; do
		mount_fs
		pids=$(start_family "$mode")
		# shellcheck disable=SC2086
		all_dead $pids && fail "$mode: nothing started"
		if [ "$how" = TERM ]; then
			kill -TERM "$DAEMON_PID"
		fi
		unmount_fs || fail "$mode $how: daemon exit $?"
		# shellcheck disable=SC2086
		wait_until 3 all_dead $pids
		if [ "$mode" = auto ]; then
			[ ! -e "$parent" ] ||
				fail "$mode $how: $parent is left: $(ls "$parent")"
		fi
		ok "$mode: $how left no process of any run ($(echo $pids | wc -w) checked)"
	done
done

case $modes in
*auto*) ;;
*) exit 0 ;;
esac
printf '[process]\ncgroup = auto\nkill_grace = 300ms\n' >"$CONF"
mount_fs
pids=$(start_family auto)
leaders=$(for f in "$WORK"/fam[123]; do head -n 1 "$f"; done)
old=$DAEMON_PID
kill -9 "$old"
wait "$old" 2>/dev/null || true
DAEMON_PID=
# shellcheck disable=SC2086
wait_until 3 all_dead $leaders
ok "kill -9 of the daemon: its leaders died with it (PDEATHSIG)"
fusermount3 -uz "$MNT"
t0=$(date +%s%3N)
mount_fs
# shellcheck disable=SC2086
wait_until 5 all_dead $pids
t=$(($(date +%s%3N) - t0))
grep -q "killed .* a dead daemon left" "$DAEMON_LOG" ||
	fail "the new daemon did not say what it killed"
ok "a new daemon on the same mount point killed what the old runs left" \
	"($(echo $pids | wc -w) processes gone $t ms after it started)"
unmount_fs
[ ! -e "$parent" ] || fail "$parent is left after a clean exit"
ok "a clean exit removed $parent"

# A second daemon on a mount point whose parent a live daemon owns: the
# first, lazily unmounted, lives on while a handle holds it. The second
# makes spawnfs-<mount>-PID of its own and touches nothing of the first.
mount_fs
s=$(slot keep)
ctl "$s" "exec sleep 300"
wait_until 5 state_is "$s" running
keep=$(json "$s/status" .pid)
exec 7<"$s/stdout" # the first daemon's connection lives while this does
first=$DAEMON_PID
fusermount3 -uz "$MNT"
DAEMON_PID=
mount_fs
own=$parent-$DAEMON_PID
grep -q "another daemon owns" "$DAEMON_LOG" ||
	fail "the second daemon did not say the parent is taken"
[ -d "$own" ] || fail "no $own"
b=$(slot other)
ctl "$b" "exec sleep 300"
wait_until 5 state_is "$b" running
other=$(json "$b/status" .pid)
grep -qx "$other" "$own"/*/cgroup.procs ||
	fail "the second daemon's run is not below $own"
grep -qx "$keep" "$parent"/*/cgroup.procs ||
	fail "the first daemon's run left its leaf"
ok "a second daemon on the mount point uses $(basename "$own")"
unmount_fs || fail "second daemon: exit $?"
pid_dead "$other" || fail "the second daemon's run outlived it"
[ ! -e "$own" ] || fail "$own is left after the second daemon's exit"
pid_dead "$keep" && fail "the second daemon's exit killed the first's run"
ok "its exit removed its own cgroups and nothing of the first daemon"
exec 7<&-
rc=0
timeout 30 tail --pid="$first" -f /dev/null || fail "the first daemon did not exit"
wait "$first" || rc=$?
[ "$rc" = 0 ] || fail "the first daemon exited with $rc"
check_valgrind "$first" || fail "valgrind report for the first daemon"
wait_until 5 pid_dead "$keep"
[ ! -e "$parent" ] || fail "$parent is left after the first daemon's exit"
ok "the first daemon, released, stopped its run and removed $parent"
