# Child hygiene: whatever the daemon holds or inherited,
# a run starts with only fds 0, 1 and 2, an empty signal mask, no ignored
# signal, its own session and process group, only the documented
# environment, and the configured oom_score_adj (inherited from the daemon
# with the default "kernel"), while the daemon's own oom_score_adj stays.
. "$(dirname "$0")/lib.sh"

ZEROS=0000000000000000

# sig_line PID NAME: the hex mask of NAME (SigBlk, SigIgn...) of PID.
sig_line() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# fd_list PID: the open fds of PID, sorted, blank-separated.
fd_list() {
	# shellcheck disable=SC2012 # fd numbers
	ls "/proc/$1/fd" | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# oom PID: the oom_score_adj of PID.
oom() {
	cat "/proc/$1/oom_score_adj"
}


# run_sleep SLOT LINE...: start "exec sleep 1000" after the setting LINEs
# and print the pid once it runs.
run_sleep() {
	local s=$1
	shift
	ctl "$s" "$@" 'exec sleep 1000'
	wait_until 20 state_is "$s" running
	json "$s/status" .pid
}

# Lists the fds of the shell itself. The glob's directory fd is open while
# the glob runs and so is listed; testing each name afterwards (lstat, which
# opens nothing) keeps only the fds that stay open.
# shellcheck disable=SC2016 # expanded by the child's shell
fd_loop='for f in /proc/self/fd/*; do [ -L "$f" ] && echo "${f##*/}"; done'
fd_loop="$fd_loop; exit 0"

# Make the daemon's own state unlike a fresh process's: an inherited fd
# without close-on-exec, an ignored signal (a background job of a script
# also ignores INT and QUIT), a variable in its environment, and later an
# oom_score_adj of its own.
exec 9</dev/null
trap '' USR2
export SPAWNFS_T_SECRET=leak
mount_fs
trap - USR2
unset SPAWNFS_T_SECRET
exec 9<&-

[ -e "/proc/$DAEMON_PID/fd/9" ] || fail "the daemon did not inherit fd 9"

dblk=$(sig_line "$DAEMON_PID" SigBlk)
dign=$(sig_line "$DAEMON_PID" SigIgn)
# Under valgrind /proc shows valgrind's own dispositions, not the daemon's.
if [ -z "${SPAWNFS_WRAP:-}" ]; then
	[ "$dblk" != $ZEROS ] ||
		fail "the daemon blocks no signal: the check would be void"
	[ $((0x$dign & (1 << 11))) != 0 ] ||
		fail "the daemon does not ignore USR2 (SigIgn $dign)"
fi
ok "daemon: SigBlk $dblk, SigIgn $dign"

echo 123 >"/proc/$DAEMON_PID/oom_score_adj"
[ "$(oom "$DAEMON_PID")" = 123 ] ||
	fail "could not set the daemon's oom_score_adj"

# Another run with pipes and an open reader: more daemon fds at fork time.
busy=$(slot busy)
ctl "$busy" 'stdin pipe' 'exec cat'
wait_until 20 state_is "$busy" running
cat "$busy/stdout" >/dev/null &
wait_until 20 logs_field_is "$busy" stdout readers 1
dfds=$(daemon_fds)
ok "daemon holds $dfds fds"

for mode in null pipe pty; do
	s=$(slot "fd-$mode")
	case $mode in
	pty) setting='pty 80x24' ;;
	*) setting="stdin $mode" ;;
	esac
	pid=$(run_sleep "$s" "$setting")

	got=$(fd_list "$pid")
	[ "$got" = "0 1 2" ] || fail "$mode: child fds '$got':
$(ls -l "/proc/$pid/fd")"
	l0=$(readlink "/proc/$pid/fd/0")
	l1=$(readlink "/proc/$pid/fd/1")
	l2=$(readlink "/proc/$pid/fd/2")
	case $mode in
	null) [[ $l0 == /dev/null && $l1 == pipe:* && $l2 == pipe:* &&
		$l1 != "$l2" ]] ;;
	pipe) [[ $l0 == pipe:* && $l1 == pipe:* && $l2 == pipe:* &&
		$l0 != "$l1" && $l1 != "$l2" && $l0 != "$l2" ]] ;;
	pty) [[ $l0 == /dev/pts/* && $l1 == "$l0" && $l2 == "$l0" ]] ;;
	esac || fail "$mode: fds 0 1 2 are '$l0' '$l1' '$l2'"

	for k in SigBlk SigIgn; do
		[ "$(sig_line "$pid" $k)" = $ZEROS ] ||
			fail "$mode: child $k $(sig_line "$pid" $k)"
	done

	pgid=$(stat_field "$pid" 5)
	sid=$(stat_field "$pid" 6)
	tty=$(stat_field "$pid" 7)
	tpgid=$(stat_field "$pid" 8)
	if [ "$sid" != "$pid" ] || [ "$pgid" != "$pid" ]; then
		fail "$mode: pid $pid has session $sid, process group $pgid"
	fi
	[ "$(json "$s/status" .pgid)" = "$pid" ] || fail "$mode: status.pgid"
	if [ $mode = pty ]; then
		if [ "$tty" = 0 ] || [ "$tpgid" != "$pid" ]; then
			fail "$mode: controlling tty $tty, foreground $tpgid"
		fi
	else
		[ "$tty" = 0 ] || fail "$mode: has a controlling tty ($tty)"
	fi

	[ "$(oom "$pid")" = 123 ] ||
		fail "$mode: oom_score_adj $(oom "$pid"), not the daemon's 123"

	ctl "$s" kill
	wait_for "$s" 137 "$mode: kill"

	# The same from inside.
	ctl "$s" "exec sh -c '$fd_loop'"
	wait_for "$s" 0 "$mode: inside run"
	got=$(timeout 10 cat "$s/stdout" | tr -d '\r' | tr '\n' ' ')
	[ "$got" = "0 1 2 " ] || fail "$mode: fds seen from inside: '$got'"
	ok "$mode: fds exactly 0 1 2 ($l0 $l1 $l2), SigBlk and SigIgn" \
		"zero, own session and group, tty $tty, oom_score_adj inherited"
done

# The environment: only what README "ctl" lists, nothing from the daemon.
s=$(slot env)
ctl "$s" 'exec env'
wait_for "$s" 0 "env: exit"
timeout 10 cat "$s/stdout" >"$WORK/env.out"
names=$(cut -d= -f1 "$WORK/env.out" | sort | tr '\n' ' ')
[ "$names" = "HOME LOGNAME PATH SHELL USER " ] ||
	fail "env: names '$names':
$(cat "$WORK/env.out")"
for kv in USER=root LOGNAME=root "HOME=$(getent passwd root | cut -d: -f6)"; do
	grep -qxF "$kv" "$WORK/env.out" ||
		fail "env: no $kv: $(cat "$WORK/env.out")"
done
ok "environment: exactly HOME LOGNAME PATH SHELL USER, nothing inherited"

[ "$(oom "$DAEMON_PID")" = 123 ] || fail "the daemon's oom_score_adj changed"
ctl "$busy" eof
wait_for "$busy" 0 "busy: cat did not end"
unmount_fs || fail "daemon exit status $?"

# A configured oom_score_adj: the child gets it, the daemon keeps its own.
own=$(oom $$)
[ "$own" != 500 ] || fail "this shell already has oom_score_adj 500"
printf '[process]\noom_score_adj = 500\n' >"$CONF"
mount_fs
[ "$(oom "$DAEMON_PID")" = "$own" ] ||
	fail "daemon oom_score_adj $(oom "$DAEMON_PID") at start"
s=$(slot oom)
pid=$(run_sleep "$s" 'stdin null')
[ "$(oom "$pid")" = 500 ] || fail "child oom_score_adj $(oom "$pid"), want 500"
[ "$(oom "$DAEMON_PID")" = "$own" ] ||
	fail "daemon oom_score_adj became $(oom "$DAEMON_PID")"
ctl "$s" kill
wait_for "$s" 137 "oom: kill"
ok "oom_score_adj = 500: the child has 500, the daemon keeps $own"
