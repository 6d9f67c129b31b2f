# Restart: `start` on a slot whose run ended starts a new run;
# the logs keep growing, events records a second start and end, seq goes
# on increasing, wait follows the new run, status describes the new run.
. "$(dirname "$0")/lib.sh"
mount_fs

s=$(slot job)
ctl "$s" 'start echo first; echo e1 >&2; exit 3'
[ "$(timeout 10 cat "$s/wait")" = 3 ] || fail "first run: wait"
pid1=$(timeout 5 cat "$s/events" | jq -r 'select(.type == "start") | .pid')
size1=$(stat -c %s "$s/events")

# Between the runs wait still answers the first run's status at once.
[ "$(timeout 2 cat "$s/wait")" = 3 ] || fail "wait between the runs"

# The second run ends when the test sends it a line.
ctl "$s" 'stdin pipe' 'start read go; echo second; echo e2 >&2; exit 5'
wait_until 5 state_is "$s" running
# A wait opened now blocks for the second run.
cat "$s/wait" >"$WORK/w2" &
w=$!
sleep 0.2
kill -0 "$w" 2>/dev/null || fail "wait answered during the second run: $(cat "$WORK/w2")"
echo go >"$s/stdin"
life_wait_pid 10 "$w" || fail "wait for the second run failed"
[ "$(cat "$WORK/w2")" = 5 ] || fail "second run: wait gave '$(cat "$WORK/w2")'"
[ "$(timeout 2 cat "$s/wait")" = 5 ] || fail "a late wait after the second run"
ok "wait answers 3 between the runs, then blocks for the second run and gives 5"

[ "$(timeout 5 cat "$s/stdout")" = "first
second" ] || fail "stdout: $(timeout 5 cat "$s/stdout")"
[ "$(timeout 5 cat "$s/stderr")" = "e1
e2" ] || fail "stderr: $(timeout 5 cat "$s/stderr")"
[ "$(stat -c %s "$s/stdout")" = 13 ] || fail "stdout st_size"
ok "stdout holds 'first' then 'second', stderr 'e1' then 'e2'"

timeout 5 cat "$s/events" >"$WORK/ev"
life_ev_check "$WORK/ev" >&2 || fail "events malformed"
[ "$(stat -c %s "$s/events")" -gt "$size1" ] || fail "events did not grow"
types=$(jq -r 'select(.type == "start" or .type == "end") | .type' "$WORK/ev" |
	tr '\n' ' ')
[ "$types" = "start end start end " ] || fail "events: $(life_ev_types "$WORK/ev")"
jq -s -e 'map(select(.type == "end")) | length == 2 and
	.[0].exit_code == 3 and .[0].status == 3 and
	.[1].exit_code == 5 and .[1].status == 5' "$WORK/ev" >/dev/null ||
	fail "end events: $(grep '"end"' "$WORK/ev")"
jq -s -e 'map(select(.type == "start")) | length == 2 and
	.[0].pid != .[1].pid and
	(.[1].argv[2] | test("second"))' "$WORK/ev" >/dev/null ||
	fail "start events: $(grep '"start"' "$WORK/ev")"
jq -s -e '[.[] | select(.type == "stdout") | .data] == ["first\n", "second\n"]' \
	"$WORK/ev" >/dev/null || fail "stdout events: $(grep stdout "$WORK/ev")"
pid2=$(jq -r 'select(.type == "start") | .pid' "$WORK/ev" | tail -n 1)
[ "$pid2" != "$pid1" ] || fail "the second run has the first's pid"
ok "events: start, end(3), start, end(5) with seq increasing; pids $pid1, $pid2"

jq -e '.state == "exited" and .exit_code == 5 and .status == 5 and
	(.argv[2] | test("second")) and .logs.stdout.bytes == 13' \
	"$s/status" >/dev/null || fail "status: $(cat "$s/status")"
ok "status shows the second run"

# A restart while running: EBUSY; after a kill, a restart clears the signal.
ctl "$s" 'exec sleep 100'
wait_until 10 state_is "$s" running
ctl_fails "$s" "Device or resource busy" 'start echo no'
ctl_fails "$s" "Device or resource busy" 'exec true'
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "kill: wait"
ctl "$s" 'start echo third'
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "third: wait"
jq -e '.state == "exited" and .signal == null and .exit_code == 0 and
	.status == 0' "$s/status" >/dev/null || fail "after kill+restart: $(cat "$s/status")"
[ "$(timeout 5 cat "$s/stdout" | tail -n 1)" = third ] || fail "third: stdout"
n=$(timeout 5 cat "$s/events" | jq -r 'select(.type == "start") | .seq' | wc -l)
[ "$n" = 4 ] || fail "$n start events after 4 runs"
ok "start while running: EBUSY; restart after kill: exited 0, signal null; 4 starts"

# A reader that follows stdout across a restart: cat, opened during the
# first run, ends at that run's end (it does not hang on the slot).
s=$(slot follow)
ctl "$s" 'start echo a; sleep 0.5; echo b'
cat "$s/stdout" >"$WORK/f1" &
r=$!
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "follow: wait"
life_wait_pid 5 "$r" || fail "follow: the reader failed"
ctl "$s" 'start echo c'
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "follow: second wait"
[ "$(cat "$WORK/f1")" = "a
b" ] || fail "follow: the first reader got '$(cat "$WORK/f1")'"
[ "$(timeout 5 cat "$s/stdout")" = "a
b
c" ] || fail "follow: stdout after the restart"
ok "a reader of the first run ends at its end; the log then reads a, b, c"
