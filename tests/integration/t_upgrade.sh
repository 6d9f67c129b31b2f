# Upgrade in place: SIGUSR2 (or spawnfs --upgrade MOUNTPOINT) makes the
# daemon exec its own binary with its state in a memfd, keeping its pid,
# the mount, every job, every open handle and every waiting read (the
# kernel sends parked requests again). Readers of a job that writes a line
# every 10 ms, started before three upgrades in a row, get every byte
# once; the daemon keeps its pid, mount ID, fds, runs and memory; a run
# that exits during the switch is seen; a poll parked across an upgrade
# wakes up for the output; a read re-sent to the new image is still
# interruptible; the --upgrade client reports the result.
if [ -n "${SPAWNFS_WRAP:-}" ]; then
	echo "skip: the daemon execs itself: valgrind would not follow it"
	exit 77
fi
. "$(dirname "$0")/lib.sh"
mount_fs

# gen: the upgrade generation (upgrades with a result so far).
gen() {
	metric spawnfs_upgrade_generation
}
gen_above() {
	[ "$(gen)" -gt "$1" ]
}
# upgrade_last: the spawnfs_upgrade_last line of metrics.
upgrade_last() {
	grep '^spawnfs_upgrade_last{' "$MNT/metrics" || true
}
# upgrade_done G WHAT: the upgrade after generation G gave ok, and no
# other result came between (the generation is G + 1 exactly).
upgrade_done() {
	local g=$1
	wait_until 10 gen_above "$g" ||
		fail "$2: no upgrade result (generation $(gen))"
	[ "$(gen)" = $((g + 1)) ] || fail "$2: generation $(gen), want $((g + 1))"
	[ "$(upgrade_last)" = "spawnfs_upgrade_last{result=\"ok\",reason=\"\"} $((g + 1))" ] ||
		fail "$2: $(upgrade_last)"
}
# upgrade_sig WHAT: SIGUSR2 to the daemon, and wait for an ok result.
upgrade_sig() {
	local g
	g=$(gen)
	kill -USR2 "$DAEMON_PID"
	upgrade_done "$g" "$1"
}
mount_id() {
	awk -v m="$MNT" '$5 == m { print $1 }' /proc/self/mountinfo
}
# comes_back N: the number of parked requests the Nth "serving after"
# line of the daemon log says were re-sent (information only).
comes_back() {
	grep 'upgrade: serving after' "$DAEMON_LOG" | sed -n "${1}p" |
		sed -n 's/.*, \([0-9]*\) requests to come back.*/\1/p'
}

[ "$(metric spawnfs_daemon_pid)" = "$DAEMON_PID" ] ||
	fail "spawnfs_daemon_pid $(metric spawnfs_daemon_pid), want $DAEMON_PID"
grep -q '^spawnfs_build_info{version="[^"]*"} 1$' "$MNT/metrics" ||
	fail "no spawnfs_build_info: $(grep build_info "$MNT/metrics")"
[ "$(gen)" = 0 ] || fail "generation $(gen) before any upgrade"
pid0=$DAEMON_PID
mid0=$(mount_id)
[ -n "$mid0" ] || fail "no mountinfo line for $MNT"

# --- 1 and 2: readers of a job across three upgrades in a row

# 600 numbered lines, one every 10 ms: about 7 s.
seq 0 599 | sed 's/^/line /' >"$WORK/want"
s=$(slot flow)
ctl "$s" "start i=0; while [ \$i -lt 600 ]; do echo \"line \$i\"; i=\$((i+1)); sleep 0.01; done"
jpid=$(json "$s/status" .pid)
[ "$jpid" -gt 0 ] 2>/dev/null || fail "no pid for the job: $(cat "$s/status")"
cat "$s/stdout" >"$WORK/cat.out" 2>"$WORK/cat.err" &
R_CAT=$!
timeout 60 tail -n +1 -f --pid="$jpid" "$s/stdout" >"$WORK/tail.out" 2>"$WORK/tail.err" &
R_TAIL=$!
cat "$s/events" >"$WORK/events.out" 2>"$WORK/events.err" &
R_EV=$!
cat "$s/wait" >"$WORK/wait.out" 2>"$WORK/wait.err" &
R_WAIT=$!
wait_until 10 logs_field_is "$s" stdout readers 2 ||
	fail "stdout readers $(logs_field "$s" stdout readers)"
wait_until 10 logs_field_is "$s" events readers 1
# Readers in the middle of the stream, the wait parked.
wait_until 10 logs_field_gt "$s" stdout bytes 200
wait_until 10 eval '[ "$(metric spawnfs_parked_requests)" -ge 1 ]' ||
	fail "no parked request before the upgrades"
fds0=$(daemon_fds)
rss0=$(daemon_rss_kb)
runs0=$(metric spawnfs_runs_started_total)
handles0=$(metric spawnfs_open_handles)
b0=$(logs_field "$s" stdout bytes)
t0=$(now_ms)
for n in 1 2 3; do
	upgrade_sig "upgrade $n of 3 while the job writes"
	sleep 0.3
done
dt=$(($(now_ms) - t0))
state_is "$s" running ||
	fail "the job ended before the three upgrades were over ($dt ms): they prove nothing"
b1=$(logs_field "$s" stdout bytes)
[ "$b1" -gt "$b0" ] || fail "no output captured across the upgrades ($b0 -> $b1)"
for r in $R_CAT $R_TAIL $R_EV $R_WAIT; do
	kill -0 "$r" 2>/dev/null || fail "reader $r ended during the upgrades"
done
ok "3 upgrades by SIGUSR2 in $dt ms while the job ran ($b0 -> $b1 bytes);" \
	"requests re-sent: $(comes_back 1), $(comes_back 2), $(comes_back 3)"

# Same jobs, same open handles: the same pid, mount, fds, runs; the RSS.
[ "$DAEMON_PID" = "$pid0" ] && kill -0 "$pid0" || fail "the daemon is gone"
[ "$(metric spawnfs_daemon_pid)" = "$pid0" ] ||
	fail "spawnfs_daemon_pid $(metric spawnfs_daemon_pid), want $pid0"
[ "$(mount_id)" = "$mid0" ] || fail "mount ID $mid0 -> $(mount_id)"
fds1=$(daemon_fds)
rss1=$(daemon_rss_kb)
[ "$fds1" = "$fds0" ] || fail "daemon fds $fds0 -> $fds1 across the upgrades:" \
	"$(ls -l "/proc/$pid0/fd")"
[ "$(metric spawnfs_runs_started_total)" = "$runs0" ] ||
	fail "runs started $runs0 -> $(metric spawnfs_runs_started_total)"
[ "$(metric spawnfs_open_handles)" = "$handles0" ] ||
	fail "open handles $handles0 -> $(metric spawnfs_open_handles)"
[ "$(metric 'spawnfs_upgrades_total{result="ok"}')" = 3 ] ||
	fail "upgrades ok: $(metric 'spawnfs_upgrades_total{result="ok"}')"
rss_limit 2049 "$rss0" "$rss1" "three upgrades in place"
ok "same pid $pid0, mount ID $mid0, $fds1 fds, $runs0 run(s), $handles0 handles;" \
	"RSS $rss0 -> $rss1 KiB"

# Every reader ends by itself, status 0.
for r in "cat stdout:$R_CAT" "tail -f:$R_TAIL" "cat events:$R_EV" "cat wait:$R_WAIT"; do
	rc=0
	life_wait_pid 30 "${r##*:}" || rc=$?
	[ "$rc" = 0 ] || fail "${r%:*} exited $rc: $(cat "$WORK"/*.err)"
done
cmp "$WORK/cat.out" "$WORK/want" ||
	fail "cat stdout: $(wc -c <"$WORK/cat.out") bytes, lines missing or" \
		"repeated: $(diff "$WORK/want" "$WORK/cat.out" | head -n 5)"
[ "$(tail -n 1 "$WORK/tail.out")" = "line 599" ] ||
	fail "tail -f's last line: $(tail -n 1 "$WORK/tail.out")"
cmp "$WORK/tail.out" "$WORK/want" ||
	fail "tail -f: $(diff "$WORK/want" "$WORK/tail.out" | head -n 5)"
[ "$(cat "$WORK/wait.out")" = 0 ] || fail "wait read '$(cat "$WORK/wait.out")'"
# events: every line is JSON, seq goes up by one, one start and one end
# (status 0), and the stdout events' data is the output exactly.
cat >"$WORK/evcheck.py" <<'EOF'
import base64, json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
want = open(sys.argv[2], "rb").read()
if lines[-1] != b"":
    sys.exit("events: no final newline")
ev = []
for i, l in enumerate(lines[:-1]):
    try:
        ev.append(json.loads(l))
    except ValueError as e:
        sys.exit("events line %d is not JSON (%s): %r" % (i + 1, e, l[:200]))
for a, b in zip(ev, ev[1:]):
    if b["seq"] != a["seq"] + 1:
        sys.exit("events seq %d then %d" % (a["seq"], b["seq"]))
types = [e["type"] for e in ev]
if types[0] != "start" or types[-1] != "end" or types.count("start") != 1 \
        or types.count("end") != 1:
    sys.exit("events types: %s" % sorted(set(types)))
if ev[-1]["status"] != 0:
    sys.exit("end event: %r" % ev[-1])
bad = set(types) - {"start", "stdout", "end"}
if bad:
    sys.exit("unexpected events: %s" % bad)
got = b""
for e in ev:
    if e["type"] == "stdout":
        got += e["data"].encode() if "data" in e else \
            base64.b64decode(e["data_base64"])
if got != want:
    n = next((i for i in range(min(len(got), len(want)))
              if got[i] != want[i]), min(len(got), len(want)))
    sys.exit("events stdout data: %d bytes, want %d; differs at %d: %r"
             % (len(got), len(want), n, got[max(0, n - 20):n + 20]))
print("%d events, %d stdout" % (len(ev), types.count("stdout")))
EOF
evinfo=$(python3 "$WORK/evcheck.py" "$WORK/events.out" "$WORK/want" 2>&1) ||
	fail "$evinfo"
ok "cat, tail -f, cat events, cat wait exit 0: stdout byte-exact" \
	"($(wc -l <"$WORK/cat.out") lines), tail saw 'line 599', events" \
	"continuous ($evinfo), wait 0"

# --- 3: runs that exit during the switch
for d in 0 0.01 0.03 0.05 0.1; do
	s=$(slot "quick-$d")
	g=$(gen)
	ctl "$s" "start sleep $d; exit 7"
	kill -USR2 "$DAEMON_PID"
	upgrade_done "$g" "upgrade while 'sleep $d; exit 7' ends"
	wait_for "$s" 7 "a run that ended during the upgrade (sleep $d)"
	[ "$(json "$s/status" .exit_code)" = 7 ] ||
		fail "exit_code $(json "$s/status" .exit_code)"
	[ "$(jq -c 'select(.type == "end") | [.exit_code, .status]' "$s/events")" = "[7,7]" ] ||
		fail "end event: $(tail -n 1 "$s/events.now")"
done
ok "runs that exit 7 during an upgrade (after 0 to 100 ms): wait 7, status, end event"

# --- 4: a poll parked across an upgrade wakes up for the output
s=$(slot late)
ctl "$s" 'start sleep 2; echo late'
timeout 30 python3 - "$s/stdout" "$WORK/polling" >"$WORK/poll.out" 2>&1 <<'EOF' &
import os, select, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
p = select.poll()
p.register(fd, select.POLLIN)
open(sys.argv[2], "w").close()
t0 = time.monotonic()
r = p.poll(15000)
dt = time.monotonic() - t0
if not r:
    sys.exit("poll: nothing after %.1f s" % dt)
ev = r[0][1]
if not ev & select.POLLIN:
    sys.exit("poll: revents %#x" % ev)
# POLLIN must mean that a read does not wait.
os.set_blocking(fd, False)
try:
    data = os.read(fd, 100)
except BlockingIOError:
    sys.exit("poll said POLLIN after %.2f s, but a read would wait" % dt)
print("revents=%#x data=%r after %.2f s" % (ev, data, dt))
sys.exit(0 if data == b"late\n" else 1)
EOF
P=$!
wait_until 10 test -e "$WORK/polling" || fail "python did not open stdout"
sleep 0.2
upgrade_sig "upgrade with a parked poll"
state_is "$s" running && [ "$(logs_field "$s" stdout bytes)" = 0 ] ||
	fail "the job wrote before the upgrade was over: nothing proven"
kill -0 "$P" 2>/dev/null ||
	fail "poll returned before the output: $(cat "$WORK/poll.out")"
rc=0
life_wait_pid 10 "$P" || rc=$?
[ "$rc" = 0 ] || fail "poll across the upgrade (status $rc): $(cat "$WORK/poll.out")"
wait_for "$s" 0 "the late job"
ok "poll parked across an upgrade: $(cat "$WORK/poll.out")"

# --- 5: a read re-sent to the new image is still interruptible
s=$(slot silent)
ctl "$s" 'exec sleep 30'
cat "$s/stdout" >/dev/null &
C=$!
wait_until 10 logs_field_is "$s" stdout readers 1
wait_until 10 metric_is spawnfs_parked_requests 1 ||
	fail "parked: $(metric spawnfs_parked_requests)"
upgrade_sig "upgrade with a parked read"
kill -0 "$C" 2>/dev/null || fail "the reader ended at the upgrade"
wait_until 10 metric_is spawnfs_parked_requests 1 ||
	fail "the read did not come back: parked $(metric spawnfs_parked_requests)"
t0=$(now_ms)
kill -TERM "$C"
until pid_dead "$C"; do
	[ $(($(now_ms) - t0)) -lt 1000 ] ||
		fail "cat still reads $(($(now_ms) - t0)) ms after SIGTERM" \
			"(state $(proc_state "$C"), wchan $(cat "/proc/$C/wchan" 2>/dev/null))"
	sleep 0.01
done
dt=$(($(now_ms) - t0))
rc=0
wait "$C" || rc=$?
[ "$rc" = 143 ] || fail "cat exit status $rc, want 143"
wait_until 10 metric_is spawnfs_parked_requests 0 ||
	fail "parked after the interrupt: $(metric spawnfs_parked_requests)"
ctl "$s" kill
wait_for "$s" 137 "the silent job, killed"
ok "a reader re-sent to the new image ends $dt ms after SIGTERM"

# --- 6: spawnfs --upgrade MOUNTPOINT
# Nothing runs, no handle is open: fds and RSS before and after.
wait_until 10 metric_is spawnfs_open_handles 1 ||
	fail "open handles: $(metric spawnfs_open_handles)"
fds0=$(daemon_fds)
rss0=$(daemon_rss_kb)
runs0=$(metric spawnfs_runs_started_total)
g=$(gen)
rc=0
timeout 70 "$SPAWNFS" --upgrade "$MNT" >"$WORK/up.out" 2>"$WORK/up.err" || rc=$?
[ "$rc" = 0 ] || fail "--upgrade exited $rc: $(cat "$WORK/up.err")"
[ -s "$WORK/up.out" ] || fail "--upgrade printed nothing"
grep -q "$pid0" "$WORK/up.out" || fail "--upgrade does not name pid $pid0: $(cat "$WORK/up.out")"
upgrade_done "$g" "--upgrade"
[ "$(metric spawnfs_daemon_pid)" = "$pid0" ] && [ "$(mount_id)" = "$mid0" ] ||
	fail "pid or mount changed at --upgrade"
fds1=$(daemon_fds)
rss1=$(daemon_rss_kb)
[ "$fds1" = "$fds0" ] || fail "daemon fds $fds0 -> $fds1 at --upgrade:" \
	"$(ls -l "/proc/$pid0/fd")"
[ "$(metric spawnfs_runs_started_total)" = "$runs0" ] || fail "runs started changed"
rss_limit 2049 "$rss0" "$rss1" "--upgrade of an idle tree"
total=$(gen)
[ "$(metric 'spawnfs_upgrades_total{result="ok"}')" = "$total" ] &&
	metric_is 'spawnfs_upgrades_total{result="refused"}' 0 &&
	metric_is 'spawnfs_upgrades_total{result="failed"}' 0 ||
	fail "upgrades_total: $(grep '^spawnfs_upgrades_total' "$MNT/metrics")"
pause=$(metric spawnfs_upgrade_pause_seconds)
awk -v p="$pause" 'BEGIN { exit !(p > 0 && p < 1) }' ||
	fail "spawnfs_upgrade_pause_seconds $pause"
ok "--upgrade: exit 0, '$(cat "$WORK/up.out")'; generation $g -> $total;" \
	"$fds1 fds; RSS $rss0 -> $rss1 KiB; paused ${pause}s"

# Not a spawnfs mount: exit 1 with the reason.
rc=0
timeout 10 "$SPAWNFS" --upgrade "$WORK" >"$WORK/up.out" 2>"$WORK/up.err" || rc=$?
[ "$rc" = 1 ] && [ -s "$WORK/up.err" ] ||
	fail "--upgrade of a plain directory: exit $rc, '$(cat "$WORK/up.err")'"
ok "--upgrade of a plain directory: exit 1, $(cat "$WORK/up.err")"

# The daemon still works and stops cleanly (no sanitizer report).
s=$(slot after)
ctl "$s" 'exec echo still here'
wait_for "$s" 0 "a run after the upgrades"
[ "$(timeout 5 cat "$s/stdout")" = "still here" ] || fail "stdout after the upgrades"
unmount_fs || fail "daemon exit status $? after $(gen) upgrades"
ok "a run after $total upgrades; clean unmount"
