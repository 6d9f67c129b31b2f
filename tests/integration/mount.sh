# The mount harness that the integration tests (lib.sh) and the
# benchmarks (tests/bench/run.sh) share. Sourcing it only defines
# functions. The caller sets SPAWNFS, MNT, CONF, DAEMON_LOG and WORK and
# defines fail; optional: DAEMON_NOFILE (the daemon's open-file limit),
# MOUNT_LIMIT_S (default 60) and UNMOUNT_LIMIT_S (default 30).

# poll_until SECONDS COMMAND...: poll until COMMAND succeeds, or fail
# after SECONDS.
poll_until() {
	local limit=$1 t=0
	shift
	while ! "$@" 2>/dev/null; do
		sleep 0.05
		t=$((t + 1))
		[ "$t" -lt $((limit * 20)) ] || fail "timed out after ${limit}s: $*"
	done
}

is_mounted() {
	grep -q " $MNT fuse" /proc/self/mounts
}

# daemon_wrap: the words to put before "$SPAWNFS": SPAWNFS_WRAP (e.g. a
# valgrind command), with valgrind writing one log per process into $WORK.
# Empty without SPAWNFS_WRAP. Meant to be expanded unquoted.
daemon_wrap() {
	local wrap=${SPAWNFS_WRAP:-}
	case $wrap in
	*valgrind*) wrap="$wrap --log-file=$WORK/valgrind.%p.log" ;;
	esac
	echo "$wrap"
}

# mount_fs [-o OPTS...]: start the daemon on $MNT with $CONF, under
# daemon_wrap, and wait for the mount; fail if the daemon dies first.
mount_fs() {
	local t=0
	# shellcheck disable=SC2046
	(
		[ -z "${DAEMON_NOFILE:-}" ] || ulimit -n "$DAEMON_NOFILE" ||
			ulimit -n "$(ulimit -Hn)"
		exec $(daemon_wrap) "$SPAWNFS" -f -c "$CONF" "$@" "$MNT"
	) 2>>"$DAEMON_LOG" &
	DAEMON_PID=$!
	# Not scaled: valgrind mounts in seconds, and a hang must fail the
	# test well within ctest's timeout, while the trap can still clean up.
	until is_mounted; do
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			DAEMON_PID=
			fail "mount of $MNT failed: $(tail -n 3 "$DAEMON_LOG")"
		fi
		t=$((t + 1))
		[ "$t" -lt $((${MOUNT_LIMIT_S:-60} * 20)) ] ||
			fail "mount of $MNT not seen in ${MOUNT_LIMIT_S:-60} s"
		sleep 0.05
	done
	# The mount is there before the daemon has finished starting (its
	# fd census, the spawner): a request is answered only from its loop,
	# so once a stat is, a test that counts its fds counts what stays.
	timeout "${MOUNT_LIMIT_S:-60}" stat "$MNT" >/dev/null ||
		fail "$MNT mounted but not answering"
}

# check_valgrind PID [FDS]: the daemon's valgrind log shows no fd left
# open at exit beyond those it inherited (not checked with FDS "no"), and
# no error (a report starts with an unindented line, like "Invalid read"
# or "... definitely lost ..."). The exit status tells errors too, but
# not for a process nobody waits for.
check_valgrind() {
	local log="$WORK/valgrind.$1.log"
	[ -f "$log" ] || return 0
	awk -v fds="${2:-yes}" '/Open file descriptor/ { fd = $0; getline
		if (fds != "no" && $0 !~ /inherited from parent/) {
			print "leaked: " fd; bad = 1 }
		next }
	/^==[0-9]+== [^ ]/ && !/FILE DESCRIPTORS/ { print "error: " $0; bad = 1 }
		END { exit bad }' "$log" >&2 && return 0
	cat "$log" >&2
	return 1
}

# unmount_fs: unmount, wait for the daemon to exit (KILL it after
# UNMOUNT_LIMIT_S), and return its exit status (98 for a valgrind
# report). STOP_MS: how long the exit took.
unmount_fs() {
	local rc=0 t=0 pid=$DAEMON_PID t0
	t0=$(date +%s%N)
	if is_mounted; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" || true
	fi
	[ -n "$pid" ] || return 0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 0.05
		t=$((t + 1))
		if [ "$t" -gt $((${UNMOUNT_LIMIT_S:-30} * 20)) ]; then
			kill -9 "$pid" 2>/dev/null || true
			echo "daemon $pid did not exit in ${UNMOUNT_LIMIT_S:-30} s" >&2
			rc=99
			break
		fi
	done
	wait "$pid" 2>/dev/null || rc=$?
	STOP_MS=$((($(date +%s%N) - t0) / 1000000))
	DAEMON_PID=
	check_valgrind "$pid" || rc=98
	return $rc
}

# cgroup_sweep: remove the cgroups a daemon on $MNT made (its parent
# spawnfs-<MNT escaped>, or spawnfs-<MNT escaped>-PID, in this shell's
# cgroup), killing what they hold. A clean exit removes them itself; a
# daemon that crashed or was killed leaves them. Call it only once the
# daemon is gone. Nothing else is touched.
cgroup_sweep() {
	local root base esc d t
	root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	[ -n "$root" ] || return 0
	base=$root$(sed -n 's/^0:://p' /proc/self/cgroup)
	esc=$(systemd-escape --path "$MNT" 2>/dev/null) || return 0
	for d in "${base%/}/spawnfs-$esc" "${base%/}/spawnfs-$esc"-[0-9]*; do
		[ -d "$d" ] || continue
		echo 1 >"$d/cgroup.kill" 2>/dev/null || true
		t=0
		while grep -q 'populated 1' "$d/cgroup.events" 2>/dev/null &&
			[ $t -lt 100 ]; do
			sleep 0.02
			t=$((t + 1))
		done
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
		[ ! -d "$d" ] || echo "could not remove the cgroup $d" >&2
	done
}
