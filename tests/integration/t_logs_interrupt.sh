# Interrupted reads : a reader
# waiting at the end of a live log ends at once on Ctrl-C or kill -9,
# and is never left in state D.
. "$(dirname "$0")/lib.sh"
READER=
trap 'r=$?; set +e; [ -n "$READER" ] && kill -9 "$READER" 2>/dev/null; (exit $r); cleanup' EXIT
mount_fs

s=$(slot quiet)
ctl "$s" 'exec sleep 100'
wait_until 5 state_is "$s" running

# SIGINT, as Ctrl-C would send, to a cat waiting on a silent log.
t0=$(now_ms)
rc=0
timeout -s INT 1 cat "$s/stdout" >/dev/null || rc=$?
dt=$(($(now_ms) - t0))
ok "timeout -s INT 1 cat: status $rc after $dt ms"
[ "$rc" = 124 ] || fail "cat status $rc, want 124"
[ "$dt" -lt 2000 ] || fail "SIGINT took $dt ms to end the read"
wait_until 2 logs_field_is "$s" stdout readers 0

# file_is FILE TEXT: for wait_until.
file_is() {
	[ "$(cat "$1")" = "$2" ]
}

# reader_killed SLOT WANT LABEL: start `cat stdout &`, wait until it has
# printed WANT and sits in a parked read, kill -9 it, and time its end.
reader_killed() {
	local out=$WORK/$3.out pid st t0 dt
	: >"$out"
	cat "$1/stdout" >"$out" &
	pid=$!
	# Out of the job table, so bash does not report it as "Killed"; the
	# trap still ends it if a check below fails first.
	disown "$pid"
	READER=$pid
	wait_until 5 logs_field_is "$1" stdout readers 1
	wait_until 5 file_is "$out" "$2"
	# The read has reached the daemon and is parked there.
	wait_until 5 grep -qE 'request_wait_answer|fuse' "/proc/$pid/wchan"
	st=$(proc_state "$pid")
	[ "$st" = S ] || [ "$st" = D ] || fail "$3: reader state $st before kill"
	t0=$(now_ms)
	kill -9 "$pid"
	while ! pid_dead "$pid"; do
		[ $(($(now_ms) - t0)) -lt 1000 ] && { sleep 0.005; continue; }
		fail "$3: reader still alive 1 s after kill -9, state $(proc_state "$pid")"
	done
	dt=$(($(now_ms) - t0))
	ok "$3: kill -9 of a waiting reader: gone in $dt ms (state before: $st)"
	wait_until 2 logs_field_is "$1" stdout readers 0
}

reader_killed "$s" "" "empty log"

# A reader that already read some bytes and waits at the end.
p=$(slot chatty)
ctl "$p" 'start echo hello; exec sleep 100'
wait_until 5 logs_field_is "$p" stdout bytes 6
reader_killed "$p" hello "after 6 bytes"

# The logs still work for the next reader: it sees what is there and
# then EOF when the process ends.
ctl "$p" kill
[ "$(timeout 5 cat "$p/wait")" = 137 ] || fail "wait after kill"
[ "$(timeout 5 cat "$p/stdout")" = hello ] || fail "log after the killed readers"
ok "log readable to EOF after interrupted readers"
ctl "$s" kill
[ "$(timeout 5 cat "$s/wait")" = 137 ] || fail "wait after kill"
