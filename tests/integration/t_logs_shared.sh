# One handle shared by two processes: a read inside the window is
# answered at once even while another read on the same handle waits at
# the end (never blocking inside the window).
. "$(dirname "$0")/lib.sh"
mount_fs

s=$(slot shared)
ctl "$s" 'start printf abcdef; exec sleep 300'
wait_until 10 test "$(stat -c %s "$s/stdout")" = 6

exec 7<"$s/stdout"
# The first read (at 6, the end) parks in the daemon.
"$HELPERS/preadat" -d 7 p 6 10 >"$WORK/parked.out" &
parked=$!
wait_until 5 grep -q request_wait_answer "/proc/$parked/wchan"
# A second reader of the same handle, inside the window.
out=$(timeout 5 "$HELPERS/preadat" -o "$WORK/bytes" -d 7 p 0 6) ||
	fail "in-window pread blocked behind a parked read"
case $out in
"p 0 6: n=6 "*) ;;
*) fail "in-window pread: $out" ;;
esac
[ "$(cat "$WORK/bytes")" = abcdef ] || fail "bytes: $(cat "$WORK/bytes")"
kill -0 "$parked" 2>/dev/null || fail "the parked read did not wait"
ok "in-window read answered at once: $out"

ctl "$s" kill
wait_until 10 pid_dead "$parked"
grep -q 'p 6 10: n=0' "$WORK/parked.out" ||
	fail "parked read should end at EOF: $(cat "$WORK/parked.out")"
exec 7<&-
ok "the parked read got end of file when the run ended"
