# Failed starts and refused signals: the write itself reports
# the exec errno, status.error says why, and a thousand failures leave no
# fd, memory or zombie behind in the daemon.
. "$(dirname "$0")/lib.sh"
mount_fs

# error_says SLOT TEXT...: status.error holds every TEXT.
error_says() {
	local s=$1 e t
	shift
	e=$(json "$s/status" .error)
	for t in "$@"; do
		case $e in
		*"$t"*) ;;
		*) fail "status.error '$e' lacks '$t'" ;;
		esac
	done
}
# never_ran SLOT: no run was recorded: the start failed.
never_ran() {
	jq -e '.state == "failed" and .pid == null and .start_time == null' \
		"$1/status" >/dev/null ||
		fail "$1 looks started: $(cat "$1/status")"
}

s=$(slot missing)
ctl_fails "$s" "No such file or directory" 'exec /nonexistent/prog'
error_says "$s" "/nonexistent/prog" "No such file or directory"
never_ran "$s"
ctl_fails "$s" "No such file or directory" 'exec no-such-program-in-path'
error_says "$s" "no-such-program-in-path" "No such file or directory"
never_ran "$s"
ok "exec of a missing program: ENOENT from the write, status.error"

printf '#!/bin/sh\necho should not run\n' >"$WORK/noexec"
chmod 0644 "$WORK/noexec"
s=$(slot noexec)
ctl_fails "$s" "Permission denied" "exec $WORK/noexec"
error_says "$s" "$WORK/noexec" "Permission denied"
never_ran "$s"
[ "$(stat -c %s "$s/stdout")" = 0 ] || fail "noexec produced output"
ok "exec of a non-executable file: EACCES"

s=$(slot badcwd)
ctl "$s" 'cwd /nonexistent' || fail "cwd is checked at start, not when set"
ctl_fails "$s" "No such file or directory" 'start echo should not run'
error_says "$s" "No such file or directory"
never_ran "$s"
ctl_fails "$s" "No such file or directory" 'exec echo should not run'
never_ran "$s"
ok "cwd /nonexistent then start: ENOENT"

# A slot that ran and failed to restart is failed: wait
# answers for the failed start, not for the run before it.
ctl "$s" 'cwd /' 'exec true'
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "badcwd: run after fixing cwd"
ctl_fails "$s" "No such file or directory" 'exec /nonexistent'
[ "$(timeout 2 cat "$s/wait")" = 127 ] || fail "wait after a failed restart"
ok "a failed restart is failed: wait 127"

# signal, kill and stop need a running process: ESRCH.
for st in new exited; do
	s=$(slot "esrch-$st")
	if [ $st = exited ]; then
		ctl "$s" 'exec true'
		[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "esrch: true"
	fi
	for line in 'signal TERM' kill stop 'stop 1'; do
		ctl_fails "$s" "No such process" "$line"
	done
	error_says "$s" "No such process"
done
ok "signal, kill, stop when not running: ESRCH (new and exited slots)"

s=$(slot badsig)
ctl "$s" 'exec sleep 100'
wait_until 10 state_is "$s" running
pid=$(json "$s/status" .pid)
for line in 'signal NOSUCHSIG' 'signal 99' 'signal' 'signal -9' \
	'signal TERM KILL' 'stop soon'; do
	ctl_fails "$s" "Invalid argument" "$line"
done
[ "$(proc_state "$pid")" != gone ] &&
	[ "$(json "$s/status" .state)" = running ] ||
	fail "a bad signal line hurt the process"
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "badsig: kill"
ok "bad signal names: EINVAL, process untouched"

# no_children_left: allow 5 s (times slow_factor) for the daemon to reap,
# then fail naming any zombie or other child of the daemon.
no_children_left() {
	local i z c
	for ((i = 0; i < 100 * $(slow_factor); i++)); do
		[ -z "$(children_of "$DAEMON_PID")" ] && return 0
		sleep 0.05
	done
	z=$(zombies_of "$DAEMON_PID" | tr '\n' ' ')
	[ -z "$z" ] || fail "zombie children of the daemon: $z"
	c=$(children_of "$DAEMON_PID" | tr '\n' ' ')
	fail "children of the daemon left after failed starts: $c"
}

# A thousand failed starts leave nothing behind. Under valgrind, where
# each start costs a slow fork, a hundred do: it reports even one leak.
N=$(wrap_count 1000 100)
m=$(slot many)
for i in 1 2 3 4 5 6 7 8 9 10; do
	echo 'exec /nonexistent' >"$m/ctl" 2>/dev/null || true
done
fds0=$(daemon_fds)
rss0=$(daemon_rss_kb)
t0=$(now_ms)
for ((i = 0; i < N; i++)); do
	echo 'exec /nonexistent' >"$m/ctl" 2>/dev/null || true
done
t1=$(now_ms)
never_ran "$m"
error_says "$m" "No such file or directory"
no_children_left
fds1=$(daemon_fds)
rss1=$(daemon_rss_kb)
ok "$N failed starts in $((t1 - t0)) ms: fds $fds0 -> $fds1," \
	"rss ${rss0} KiB -> ${rss1} KiB"
[ "$fds1" = "$fds0" ] || fail "fd count changed: $fds0 -> $fds1:
$(ls -l "/proc/$DAEMON_PID/fd")"
rss_limit 1024 "$rss0" "$rss1" "$N failed starts"
ok "no fd or memory growth, no child and no zombie of the daemon"

# Same for the other failure paths.
n=$(slot many-eacces)
c=$(slot many-cwd)
ctl "$c" 'cwd /nonexistent'
for ((i = 0; i < N * 3 / 10; i++)); do
	echo "exec $WORK/noexec" >"$n/ctl" 2>/dev/null || true
	echo 'start true' >"$c/ctl" 2>/dev/null || true
done
no_children_left
fds2=$(daemon_fds)
rss2=$(daemon_rss_kb)
ok "$((N * 6 / 10)) EACCES/bad-cwd starts: fds $fds1 -> $fds2," \
	"rss ${rss1} KiB -> ${rss2} KiB"
[ "$fds2" = "$fds0" ] || fail "fd count changed: $fds0 -> $fds2"
rss_limit 1024 "$rss0" "$rss2" "EACCES and bad-cwd starts"
ok "EACCES and bad-cwd failures leave nothing behind either"
