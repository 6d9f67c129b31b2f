# poll/select/epoll: one event loop follows three jobs'
# stdout at once and gets every line promptly and EOF from each; handles
# report readable exactly when a read would not wait: not while nothing
# is there, at once when data, EOF or the end (wait) arrives.
. "$(dirname "$0")/lib.sh"
mount_fs
pm=$(logs_helper poll_many)

# job N DELAY TAG: a start line printing N lines "TAG I SEND_MS", DELAY
# seconds apart.
job() {
	echo "start i=0; while [ \$i -lt $1 ]; do i=\$((i + 1));" \
		"echo \"$3 \$i \$(date +%s%3N)\"; sleep $2; done"
}

# three MODE FLAG: three jobs at different rates, watched by one
# poll_many loop (FLAG: '' poll, -e epoll, -s select). Sets lat (the
# worst delay from a line's write to its read, ms) and wakeups.
three() {
	local m=$1 flag=$2 d=$WORK/$1 p n i
	mkdir "$d"
	for n in fast medium slow; do mkdir "$MNT/$m-$n"; done
	# shellcheck disable=SC2086
	"$pm" $flag drain 15000 "$d" "$MNT/$m-fast/stdout" \
		"$MNT/$m-medium/stdout" "$MNT/$m-slow/stdout" >"$d.log" &
	p=$!
	for n in fast medium slow; do
		wait_until 5 logs_field_is "$MNT/$m-$n" stdout readers 1
	done
	ctl "$MNT/$m-fast" "$(job 8 0.1 fast)"
	ctl "$MNT/$m-medium" "$(job 5 0.25 medium)"
	ctl "$MNT/$m-slow" "$(job 3 0.6 slow)"
	life_wait_pid 20 "$p" || fail "$m: poll_many failed: $(cat "$d.log")"
	i=0
	for n in fast medium slow; do
		timeout 5 cat "$MNT/$m-$n/stdout" >"$d/want$i"
		cmp -s "$d/$i" "$d/want$i" ||
			fail "$m: $n: the loop read '$(cat "$d/$i")'"
		grep -q "^eof $i " "$d.log" || fail "$m: no EOF from $n"
		i=$((i + 1))
	done
	[ "$(wc -l <"$d/0") $(wc -l <"$d/1") $(wc -l <"$d/2")" = "8 5 3" ] ||
		fail "$m: line counts $(wc -l "$d"/[012])"
	[ "$(awk '/^eof/ { printf "%s ", $2 }' "$d.log")" = "0 1 2 " ] ||
		fail "$m: EOF order: $(grep '^eof' "$d.log" | tr '\n' ' ')"
	# each line reached the loop soon after it was written
	lat=$(awk '/^line/ { d = $3 - $6; if (d > max) max = d } END { print max + 0 }' \
		"$d.log")
	[ "$lat" -le "$(slow_ms 400)" ] ||
		fail "$m: a line took $lat ms to reach the loop"
	grep -q '^wakeups [0-9]* spurious 0$' "$d.log" || fail "$m: $(tail -n 1 "$d.log")"
	wakeups=$(awk '/^wakeups/ { print $2 }' "$d.log")
}

for mode in poll:'' epoll:-e select:-s; do
	three "${mode%%:*}" "${mode#*:}"
	ok "${mode%%:*}: 3 jobs (8, 5, 3 lines at 0.1, 0.25, 0.6 s): every byte," \
		"EOF in order, worst line latency $lat ms, $wakeups wakeups, none spurious"
done

# Nothing to read: not readable for the whole timeout, for each mode.
s=$(slot idle)
ctl "$s" 'exec sleep 100'
wait_until 10 state_is "$s" running
for flag in '' -e -s; do
	# shellcheck disable=SC2086
	out=$("$pm" $flag once 500 1 "$s/stdout" "$s/stderr" "$s/wait")
	case $out in
	"ret=0 ms="*) ;;
	*) fail "idle ($flag): $out" ;;
	esac
	t=${out#ret=0 ms=}
	[ "$t" -ge 480 ] && [ "$t" -lt $((500 + $(slow_ms 1000))) ] ||
		fail "idle ($flag): poll took $t ms"
	# shellcheck disable=SC2086
	out=$("$pm" $flag -D once 500 1 "$s/events")
	case $out in
	"ret=0 ms="*) ;;
	*) fail "idle events at the end ($flag): $out" ;;
	esac
done
out=$("$pm" once 500 1 "$s/events")
case $out in
"ret=1 ms="*"0 IN n="*'"type":"start"'*) ;;
*) fail "events from 0 not readable: $out" ;;
esac
ctl "$s" kill
[ "$(timeout 10 cat "$s/wait")" = 137 ] || fail "idle: wait"
ok "stdout, stderr, wait and events at its end stay not readable for 500 ms" \
	"(poll, epoll, select); events from 0 is readable at once"

# Data arrives: readable about when it is written, not before.
s=$(slot late)
ctl "$s" 'start sleep 1; echo late; sleep 1; exit 6'
t0=$(now_ms)
out=$("$pm" once 3000 1 "$s/stdout" "$s/wait")
t=$(($(now_ms) - t0))
case $out in
"ret=1 ms="*$'\n''0 IN n=5 data=late\n') ;;
*) fail "late: $out" ;;
esac
[ "$t" -ge 700 ] && [ "$t" -le $((1000 + $(slow_ms 800))) ] ||
	fail "late: readable after $t ms"
ok "stdout becomes readable with 'late' after $t ms (wait stays not readable)"

# wait becomes readable when the process ends.
out=$("$pm" once 3000 1 "$s/wait")
t=$(($(now_ms) - t0))
case $out in
"ret=1 ms="*$'\n''0 IN n=2 data=6\n') ;;
*) fail "wait: $out" ;;
esac
[ "$t" -ge 1700 ] && [ "$t" -le $((2000 + $(slow_ms 1000))) ] ||
	fail "wait: readable at $t ms"
# and after the end, stdout at its end is readable at once (EOF)
out=$("$pm" -D once 3000 1 "$s/stdout")
case $out in
"ret=1 ms="*$'\n''0 IN n=0 data=') ;;
*) fail "stdout at EOF: $out" ;;
esac
t=$(echo "$out" | sed -n 's/^ret=1 ms=//p')
[ "$t" -lt "$(slow_ms 200)" ] || fail "stdout at EOF: readable after $t ms"
ok "wait becomes readable (6) when the run ends; stdout at its end is" \
	"readable at once with EOF"

# EOF and events arriving while a poll waits wake it.
s=$(slot ending)
ctl "$s" 'exec sleep 100'
wait_until 10 state_is "$s" running
"$pm" -D once 5000 1 "$s/stdout" >"$WORK/eof.out" &
p1=$!
"$pm" -e -D once 5000 1 "$s/events" >"$WORK/ev.out" &
p2=$!
sleep 0.5
ctl "$s" 'signal TERM'
life_wait_pid 10 "$p1" || fail "ending: poll_many on stdout failed"
life_wait_pid 10 "$p2" || fail "ending: poll_many on events failed"
case $(cat "$WORK/eof.out") in
"ret=1 ms="*$'\n''0 IN n=0 data=') ;;
*) fail "ending: stdout: $(cat "$WORK/eof.out")" ;;
esac
t=$(sed -n 's/^ret=1 ms=//p' "$WORK/eof.out")
[ "$t" -ge 300 ] && [ "$t" -le $((500 + $(slow_ms 1500))) ] ||
	fail "ending: EOF woke poll after $t ms"
grep -q '"type":"signal"' "$WORK/ev.out" || fail "ending: events: $(cat "$WORK/ev.out")"
ok "a parked poll wakes on EOF ($t ms) and epoll on events on the signal event"
