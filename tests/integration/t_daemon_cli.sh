# The command line and the configuration: -V, -h, exit 2
# for usage and configuration errors with a message naming the key and the
# line, exit 1 for a runtime failure, and -o key=value applied over the
# file.
. "$(dirname "$0")/lib.sh"

# valgrind_clean [FDS]: check_valgrind every valgrind log in $WORK, then
# remove it, so that each is checked once (a daemon that is not our child,
# or one that ran under timeout, has no exit status to tell its errors).
valgrind_clean() {
	local log pid
	for log in "$WORK"/valgrind.*.log; do
		[ -f "$log" ] || continue
		pid=${log##*/valgrind.}
		check_valgrind "${pid%.log}" "${1:-yes}" || return 1
		rm -f "$log"
	done
}

# run_daemon ARGS...: run spawnfs in the foreground (under daemon_wrap),
# bounded; sets rc, and leaves stdout and stderr in $WORK/out and
# $WORK/err.
run_daemon() {
	rc=0
	# shellcheck disable=SC2046
	timeout -k 2 $((10 * $(slow_factor))) $(daemon_wrap) "$SPAWNFS" -f "$@" \
		>"$WORK/out" 2>"$WORK/err" || rc=$?
	[ "$rc" != 124 ] && [ "$rc" != 137 ] ||
		fail "spawnfs $* did not exit: $(cat "$WORK/err")"
	valgrind_clean || fail "spawnfs $*: valgrind found errors (above)"
}
# expect_exit CODE WHAT ARGS...
expect_exit() {
	local want=$1 what=$2
	shift 2
	run_daemon "$@"
	[ "$rc" = "$want" ] ||
		fail "$what: exit $rc, wanted $want; stderr: $(cat "$WORK/err")"
	! is_mounted || fail "$what: something got mounted"
}
# err_has TEXT...: stderr holds each TEXT (an extended regex).
err_has() {
	local t
	for t in "$@"; do
		grep -Eq -- "$t" "$WORK/err" ||
			fail "stderr lacks /$t/: $(cat "$WORK/err")"
	done
}

expect_exit 0 "-V" -V
grep -Eq '^spawnfs [0-9]+\.[0-9]+' "$WORK/out" ||
	fail "-V printed: $(cat "$WORK/out")"
ok "-V prints '$(cat "$WORK/out")' and exits 0"

expect_exit 0 "-h" -h
grep -q MOUNTPOINT "$WORK/out" || fail "-h printed: $(cat "$WORK/out")"
ok "-h prints the usage and exits 0"

expect_exit 0 "--version" --version
grep -Eq '^spawnfs [0-9]+\.[0-9]+' "$WORK/out" ||
	fail "--version printed: $(cat "$WORK/out")"
expect_exit 0 "--help" --help
grep -q MOUNTPOINT "$WORK/out" || fail "--help printed: $(cat "$WORK/out")"
for w in 'output keep SIZE' stdout.now 'restart no|on-failure|always'; do
	grep -qF "$w" "$WORK/out" || fail "--help does not name $w"
done
[ ! -s "$WORK/err" ] || fail "--help wrote to stderr: $(cat "$WORK/err")"
ok "--version and --help print and exit 0"

expect_exit 2 "no mountpoint" -c "$CONF"
expect_exit 2 "an unknown option" -c "$CONF" -Z "$MNT"
ok "no mountpoint, unknown option: exit 2"

# An unknown key on line 7: named, with its line.
cat >"$WORK/unknown.ini" <<'EOF'
; comment
[process]
shell = /bin/sh

; another comment
kill_grace = 100ms
nosuchkey = 1
EOF
expect_exit 2 "unknown key" -c "$WORK/unknown.ini" "$MNT"
err_has nosuchkey '(line |:)7([^0-9]|$)'
ok "unknown key: exit 2, '$(head -n 1 "$WORK/err")'"

cat >"$WORK/badvalue.ini" <<'EOF'
[process]
shell = /bin/sh
[stream]
pipe_size = 64K
buffer_size = 12Q
EOF
expect_exit 2 "bad value" -c "$WORK/badvalue.ini" "$MNT"
err_has buffer_size '(line |:)5([^0-9]|$)'
ok "buffer_size=12Q: exit 2, '$(head -n 1 "$WORK/err")'"

expect_exit 2 "-o nosuchkey=1" -c "$CONF" -o nosuchkey=1 "$MNT"
err_has nosuchkey
expect_exit 2 "-o buffer_size=12Q" -c "$CONF" -o buffer_size=12Q "$MNT"
err_has buffer_size
ok "-o nosuchkey=1, -o buffer_size=12Q: exit 2, key named"

expect_exit 2 "-c /missing/file" -c /missing/file "$MNT"
err_has /missing/file
ok "-c /missing/file: exit 2"

expect_exit 1 "a missing mountpoint" -c "$CONF" "$WORK/no-such-dir"
ok "a mountpoint that does not exist: exit 1"

# -o buffer_size=64K overrides the file's 128K: an unread `yes` pauses
# with exactly 64 KiB retained.
cat >"$CONF" <<'EOF'
[stream]
buffer_size = 128K
EOF
mount_fs -o buffer_size=64K
s=$(slot yes)
ctl "$s" 'exec yes'
paused() {
	jq -e '.logs.stdout.paused == true' "$s/status" >/dev/null
}
wait_until 10 paused
sleep 0.3
b1=$(json "$s/status" .logs.stdout.bytes)
sleep 0.5
jq -e '.logs.stdout.retained == 65536 and .logs.stdout.bytes == 65536' \
	"$s/status" >/dev/null || fail "-o buffer_size=64K: $(cat "$s/status")"
[ "$b1" = 65536 ] || fail "bytes moved while paused: $b1"
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "yes: kill"
# Read what is left, so the run is over before the unmount below.
timeout 10 cat "$s/stdout" >/dev/null || fail "yes: stdout did not end"
ok "-o buffer_size=64K over a file's 128K: an unread yes keeps 65536 bytes"
unmount_fs || fail "the daemon did not exit 0 after unmount"

# Without -f the daemon detaches: the command returns 0 with the tree
# mounted, and an unmount ends the background daemon.
rc=0
# shellcheck disable=SC2046
timeout $((10 * $(slow_factor))) $(daemon_wrap) "$SPAWNFS" -c "$CONF" "$MNT" \
	2>>"$DAEMON_LOG" || rc=$?
[ "$rc" = 0 ] || fail "spawnfs without -f: exit $rc"
wait_until 10 is_mounted
bg=$(grep -lzx -- "$MNT" /proc/[0-9]*/cmdline 2>/dev/null | head -n 1 |
	cut -d/ -f3 || true)
[ -n "$bg" ] || fail "no background daemon found for $MNT"
fusermount3 -u "$MNT"
wait_dead 10 "$bg"
! is_mounted || fail "still mounted"
check_valgrind "$bg" || fail "without -f: valgrind found errors (above)"
rm -f "$WORK/valgrind.$bg.log"
# The parent that detached hands its fds (fuse, epoll...) to the daemon and
# leaves by _exit: only its errors count.
valgrind_clean no || fail "without -f: valgrind found errors (above)"
ok "without -f: returns 0 mounted (daemon $bg), ends on unmount"

# ps shows the -o options as they were given: the daemon splits a copy.
mount_fs -o kill_grace=1s,allow_other,process_mode=0750
args=$(tr '\0' ' ' <"/proc/$DAEMON_PID/cmdline")
case $args in
*"-o kill_grace=1s,allow_other,process_mode=0750 "*) ;;
*) fail "ps shows the daemon as: $args" ;;
esac
ok "ps shows '-o kill_grace=1s,allow_other,process_mode=0750' unchanged"

# A daemon killed with -9 leaves a dead mount ("Transport endpoint is not
# connected"); a new daemon there says how to clear it, and exits 1.
dead=$DAEMON_PID
kill -9 "$dead"
wait "$dead" 2>/dev/null || true
DAEMON_PID=
rm -f "$WORK/valgrind.$dead.log" # killed: its report is cut short
is_mounted || fail "kill -9 took the mount with it: no dead mount to test"
expect_exit_mounted() { # the dead mount stays in the table meanwhile
	run_daemon -c "$CONF" "$MNT"
	[ "$rc" = 1 ] || fail "over a dead mount: exit $rc: $(cat "$WORK/err")"
}
expect_exit_mounted
grep -q "fusermount3 -u $MNT" "$WORK/err" ||
	fail "over a dead mount, stderr says: $(cat "$WORK/err")"
grep -q "not connected" "$WORK/err" ||
	fail "over a dead mount, no 'not connected': $(cat "$WORK/err")"
fusermount3 -u "$MNT" || fusermount3 -uz "$MNT"
ok "over a dead mount: exit 1, '$(head -n 1 "$WORK/err")'"
