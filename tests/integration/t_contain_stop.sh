# Nothing of a run outlives the daemon (DESIGN §11): a SIGTERM stop or an
# unmount leaves no process of any run, setsid grandchildren included
# with cgroups (group members with cgroup = off); after kill -9 of the
# daemon its leaders die with it (PR_SET_PDEATHSIG) and a new daemon on
# the same mount point kills what the old runs left (their leaves), and
# a clean exit removes the daemon's cgroups.
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
