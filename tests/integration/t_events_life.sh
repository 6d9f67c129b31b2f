# events through a run's life: the end event is written
# with nobody reading and a late reader gets it; an early reader follows
# the run and reaches EOF after the end; failed starts write error events,
# `signal` a signal event, `eof` an eof event; seq strictly increases.
# The events file keeps the output-log contract: st_size, tail -n,
# O_NONBLOCK (EAGAIN), waiting at the end, interruptible reads.
. "$(dirname "$0")/lib.sh"
mount_fs
preadat=$(logs_helper preadat)

# evs SLOT NAME: copy SLOT's events (the run is over, so cat ends) to
# $WORK/NAME.ev, check it is well formed and print its path.
evs() {
	timeout 5 cat "$1/events" >"$WORK/$2.ev" || fail "$2: cat events did not end"
	life_ev_check "$WORK/$2.ev" >&2 || fail "$2: malformed events"
	echo "$WORK/$2.ev"
}

# A run nobody watches: its events are all there afterwards, end last.
s=$(slot quiet)
ctl "$s" 'start echo out; echo err >&2; exit 4'
[ "$(timeout 10 cat "$s/wait")" = 4 ] || fail "quiet: wait"
[ "$(logs_field "$s" events readers)" = 0 ] || fail "quiet: an events reader?"
f=$(evs "$s" quiet)
types=$(life_ev_types "$f")
case $types in
"start stdout stderr end" | "start stderr stdout end") ;;
*) fail "quiet: events are '$types'" ;;
esac
jq -s -e '(.[0] | .type == "start" and .argv == ["/bin/sh", "-c",
		"echo out; echo err >&2; exit 4"] and .pid > 1) and
	(.[-1] | .type == "end" and .exit_code == 4 and .signal == null and
		.status == 4) and
	(map(select(.type == "stdout"))[0].data == "out\n") and
	(map(select(.type == "stderr"))[0].data == "err\n")' "$f" >/dev/null ||
	fail "quiet: event contents: $(cat "$f")"
[ "$(stat -c %s "$s/events")" = "$(wc -c <"$f")" ] ||
	fail "quiet: st_size $(stat -c %s "$s/events") != $(wc -c <"$f") bytes read"
[ "$(timeout 5 tail -n 1 "$s/events")" = "$(tail -n 1 "$f")" ] ||
	fail "quiet: tail -n 1 events is not the end event"
ok "nobody reading: a late reader gets start, stdout, stderr, end (4)," \
	"st_size matches, tail -n 1 is the end event"

# A reader that opens before the start follows the run, sees the output
# as it happens, and ends (EOF) right after the end event.
s=$(slot follow)
cat "$s/events" >"$WORK/follow.ev" &
r=$!
wait_until 5 logs_field_is "$s" events readers 1
ctl "$s" 'start echo one; sleep 1; echo two'
until_true 5 'grep -q "\"data\":\"one\\\\n\"" "$WORK/follow.ev"'
kill -0 "$r" 2>/dev/null || fail "follow: the reader ended while running"
grep -q '"type":"end"' "$WORK/follow.ev" && fail "follow: end before the end"
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "follow: wait"
t0=$(now_ms)
life_wait_pid 5 "$r" || fail "follow: the reader failed"
t=$(($(now_ms) - t0))
[ "$t" -lt 1500 ] || fail "follow: the reader ended $t ms after the run"
life_ev_check "$WORK/follow.ev" >&2 || fail "follow: malformed"
[ "$(life_ev_types "$WORK/follow.ev")" = "start stdout stdout end" ] ||
	fail "follow: events $(life_ev_types "$WORK/follow.ev")"
ok "a reader opened before the start sees 'one' while running, and EOF" \
	"$t ms after wait answered"

# Failed starts write error events (and no start event).
s=$(slot bad)
ctl_fails "$s" "No such file or directory" 'exec /nonexistent/prog'
ctl_fails "$s" "No such file or directory" "cwd $WORK/missing" 'start true'
ctl "$s" 'cwd /' 'start exit 0'
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "bad: wait"
ctl_fails "$s" "No such file or directory" 'exec /nonexistent/again'
f=$(evs "$s" bad)
[ "$(life_ev_types "$f")" = "error error start end error" ] ||
	fail "bad: events are '$(life_ev_types "$f")'"
jq -s -e 'map(select(.type == "error") | .error) as $e |
	($e[0] | test("nonexistent/prog")) and ($e[1] | test("missing")) and
	($e[2] | test("nonexistent/again")) and
	all($e[]; test("No such file or directory"))' "$f" >/dev/null ||
	fail "bad: error texts: $(jq -c 'select(.type == "error")' "$f")"
# A failed restart is state failed, and wait says 127.
jq -e '.state == "failed" and .status == 127' "$s/status" >/dev/null ||
	fail "bad: a failed restart: $(cat "$s/status")"
ok "exec /nonexistent, a bad cwd and a failed restart write error events" \
	"naming the cause; seq increases across them"

# signal TERM: a signal event, then the end with the signal.
s=$(slot term)
ctl "$s" 'exec sleep 100'
wait_until 10 state_is "$s" running
ctl "$s" 'signal TERM'
[ "$(timeout 10 cat "$s/wait")" = 143 ] || fail "term: wait"
f=$(evs "$s" term)
[ "$(life_ev_types "$f")" = "start signal end" ] ||
	fail "term: events are '$(life_ev_types "$f")'"
jq -s -e '(.[1].signal == "TERM") and
	(.[2] | .exit_code == null and .signal == "TERM" and .status == 143)' \
	"$f" >/dev/null || fail "term: $(cat "$f")"
ctl "$s" 'exec sleep 100'
wait_until 10 state_is "$s" running
ctl "$s" 'signal 2'
[ "$(timeout 10 cat "$s/wait")" = 130 ] || fail "term: wait after INT"
f=$(evs "$s" term2)
[ "$(life_ev_types "$f")" = "start signal end start signal end" ] ||
	fail "term2: events are '$(life_ev_types "$f")'"
jq -s -e '(.[4].signal == "INT") and (.[5].signal == "INT") and
	(.[5].status == 130)' "$f" >/dev/null || fail "term2: $(cat "$f")"
ok "signal TERM and signal 2 write signal events (TERM, INT) before the end"

# eof: an eof event; cat then ends with 0.
s=$(slot eof)
ctl "$s" 'stdin pipe' 'exec cat'
wait_until 10 state_is "$s" running
printf 'abc\n' >>"$s/stdin"
until_true 5 '[ "$(logs_field "$s" stdout bytes)" = 4 ]'
ctl "$s" eof
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "eof: wait"
f=$(evs "$s" eof)
[ "$(life_ev_types "$f")" = "start stdout eof end" ] ||
	fail "eof: events are '$(life_ev_types "$f")'"
ok "eof writes an eof event (start stdout eof end)"

# The file contract while a run is going: O_NONBLOCK at the end gives
# EAGAIN, a read at the end waits and is interruptible, tail -f follows.
s=$(slot live)
ctl "$s" 'start sleep 1.5; echo late; sleep 100'
wait_until 10 state_is "$s" running
size=$(stat -c %s "$s/events")
[ "$size" -gt 0 ] || fail "live: st_size 0 with a start event"
out=$("$preadat" -n "$s/events" s 0 END r 100)
case $out in
*"r 100: err=EAGAIN"*) ;;
*) fail "live: O_NONBLOCK read at the end: $out" ;;
esac
out=$("$preadat" -n "$s/events" p 0 100000)
case $out in
*"p 0 100000: n=$size "*) ;;
*) fail "live: O_NONBLOCK read from 0 gave '$out', wanted $size bytes" ;;
esac
t0=$(now_ms)
rc=0
timeout -s INT 0.5 "$preadat" "$s/events" s 0 END r 100 >/dev/null || rc=$?
t=$(($(now_ms) - t0))
[ "$rc" = 124 ] || fail "live: a read at the end did not wait (rc $rc)"
[ "$t" -lt 1500 ] || fail "live: the interrupted read took $t ms"
tail -n 0 -f "$s/events" >"$WORK/tail.ev" &
tp=$!
until_true 10 'grep -q "\"data\":\"late\\\\n\"" "$WORK/tail.ev"'
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "live: wait"
until_true 5 'grep -q "\"type\":\"end\"" "$WORK/tail.ev"'
[ "$(life_ev_merged "$WORK/tail.ev")" = "stdout signal end" ] ||
	fail "live: tail -f saw $(life_ev_types "$WORK/tail.ev")"
kill "$tp"
ok "events: O_NONBLOCK -> EAGAIN at the end, a read there waits and" \
	"SIGINT ends it ($t ms), tail -f follows to the end"
