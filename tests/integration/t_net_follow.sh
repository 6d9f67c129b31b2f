# The tree over 9P2000.L: diod exports the mount on a loopback port with
# the command line of etc/systemd/spawnfs-export@.service (authentication
# off with -n, as the unit allows on loopback), and diod's own clients
# use it. A remote diodcat follows a running job's stdout to end of file
# byte-exact while a local cat does too; a remote reader of wait gets the
# exit status; status and events read remotely parse; a remote reader
# that stops reading pauses the child and resuming it resumes the child;
# a remote client makes a slot (clone), starts a job through ctl and
# reads its result; and a ctl line longer than one Twrite is cut in two
# (diod's msize is at most 65536: a line must fit in 65,512 bytes).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netlib.sh"
net_require
trap_cleanup net_cleanup

mount_fs
net_start 16 -n
ok "diod exports $MNT on 127.0.0.1:$PORT: $(sed -n 's/^diod: //p' "$DIOD_LOG")"
rls / >"$WORK/ls" || fail "diodls: $(cat "$WORK/ls")"
grep -qx clone "$WORK/ls" && grep -qx metrics "$WORK/ls" ||
	fail "diodls / lists: $(tr '\n' ' ' <"$WORK/ls")"

# --- A remote follower of a running job, byte-exact
# About 2.6 MB over 1 s, with bytes that are not text at the end.
job='for i in $(seq 1 20); do seq $((i * 1000)) $((i * 1000 + 20000)); sleep 0.05; done; printf "\377\000\001end"; exit 3'
want=$({ sh -c "$job" || true; } | sha256sum | cut -d" " -f1)
s=$(slot follow)
ctl "$s" "start sleep 0.5; $job"
net_bg "${DIODCAT[@]}" follow/stdout >"$WORK/remote.out" 2>"$WORK/remote.err"
remote=$BG
net_bg "${DIODCAT[@]}" follow/wait >"$WORK/wait.out" 2>&1
waiter=$BG
net_bg cat "$s/stdout" >"$WORK/local.out"
localcat=$BG
wait_until 10 logs_field_is "$s" stdout readers 2
state_is "$s" running || fail "the job ended before both readers followed it"
life_wait_pid 30 "$remote" || fail "diodcat exited $?: $(cat "$WORK/remote.err")"
life_wait_pid 10 "$localcat" || fail "the local cat failed"
got=$(sha256sum <"$WORK/remote.out" | cut -d' ' -f1)
[ "$got" = "$want" ] ||
	fail "remote copy differs: $(wc -c <"$WORK/remote.out") bytes, sha256 $got, want $want"
cmp -s "$WORK/remote.out" "$WORK/local.out" ||
	fail "the local cat read something else than the remote one"
ok "a remote diodcat followed the running job to end of file:" \
	"$(wc -c <"$WORK/remote.out") bytes, sha256 equal to the job run locally and to a local cat"
life_wait_pid 10 "$waiter" || fail "remote wait failed: $(cat "$WORK/wait.out")"
[ "$(cat "$WORK/wait.out")" = 3 ] || fail "remote wait read '$(cat "$WORK/wait.out")', want 3"
ok "a remote reader of wait, waiting before the end, read 3"

# --- status and events, remotely
rcat follow/status >"$WORK/status.json" || fail "remote status"
[ "$(jq -r '.state + " " + (.exit_code | tostring)' "$WORK/status.json")" = "exited 3" ] ||
	fail "remote status: $(cat "$WORK/status.json")"
e=$(slot ev)
ctl "$e" 'start echo hello; echo oops >&2; exit 4'
wait_for "$e" 4 "events job"
rcat ev/events >"$WORK/events.jsonl" || fail "remote events"
why=$(life_ev_check "$WORK/events.jsonl") || fail "remote events: $why"
[ "$(life_ev_merged "$WORK/events.jsonl")" = "start stdout stderr end" ] ||
	[ "$(life_ev_merged "$WORK/events.jsonl")" = "start stderr stdout end" ] ||
	fail "remote events types: $(life_ev_types "$WORK/events.jsonl")"
[ "$(life_ev_data "$WORK/events.jsonl" stdout)" = hello ] ||
	fail "remote events stdout: $(life_ev_data "$WORK/events.jsonl" stdout)"
[ "$(tail -n 1 "$WORK/events.jsonl" | jq -r .status)" = 4 ] ||
	fail "remote events end: $(tail -n 1 "$WORK/events.jsonl")"
ok "remote status and events parse (jq; every events line well formed, end status 4)"

# --- A remote reader that stops reading holds the child, and resumes it
p=$(slot paced)
ctl "$p" 'exec yes spawnfs'
mkfifo "$WORK/fifo"
net_bg cat "$WORK/fifo" >/dev/null
consumer=$BG
net_bg "${DIODCAT[@]}" paced/stdout >"$WORK/fifo" 2>"$WORK/paced.err"
wait_until 10 logs_field_is "$p" stdout readers 1
wait_until 10 logs_field_gt "$p" stdout bytes $((4 << 20))
kill -STOP "$consumer"
wait_until 10 logs_field_is "$p" stdout paused true
b1=$(logs_field "$p" stdout bytes)
sleep 0.5
b2=$(logs_field "$p" stdout bytes)
[ "$b1" = "$b2" ] || fail "the paused child still wrote: $b1 -> $b2"
logs_field_is "$p" stdout paused true || fail "paused went back to false"
ok "the remote reader's consumer stopped: status.logs.stdout.paused is" \
	"true and the child wrote nothing in 0.5 s (at $b1 bytes)"
kill -CONT "$consumer"
wait_until 10 logs_field_gt "$p" stdout bytes $((b2 + (8 << 20)))
ok "resumed: the child wrote 8 MiB more once the remote reader read again"
echo kill >"$p/ctl"

# --- A remote client runs a job: clone, ctl, wait, stdout
n=$(rcat clone) || fail "remote read of clone"
[ -d "$MNT/$n" ] || fail "remote clone read '$n', no such slot"
sends=$(printf 'env GREETING=remote\nstart echo "$GREETING $((6 * 7))"\n' |
	rwrite "$n/ctl") || fail "remote ctl write"
[ "$sends" = 1 ] || fail "a short ctl script took $sends Twrite messages"
[ "$(rcat "$n/wait")" = 0 ] || fail "remote wait of slot $n"
[ "$(rcat "$n/stdout")" = "remote 42" ] ||
	fail "remote stdout of slot $n: $(rcat "$n/stdout")"
ok "a remote client read clone (slot $n), wrote its ctl, read wait 0 and stdout"

# --- ctl lines over 9P: whole only when they fit in one Twrite
msize=$(python3 "$NINEP" -s "127.0.0.1:$PORT" -a "$MNT" -m 1048576 msize)
[ "$msize" = 65536 ] || fail "diod agreed to msize $msize for 1 MiB, want 65536"
c=$(slot lines)
line="env LONG=$(head -c $((65511 - 9)) /dev/zero | tr '\0' a)"
[ ${#line} = 65511 ] || fail "the test line is ${#line} bytes"
sends=$(printf '%s\n' "$line" | rwrite lines/ctl) || fail "a 65512-byte write"
[ "$sends" = 1 ] || fail "a 65512-byte write took $sends Twrite messages"
[ "$(grep -c '^env LONG=a*$' "$c/ctl")" = 1 ] || fail "the long env line is not set"
line="env CUT=$(head -c $((65536 - 8)) /dev/zero | tr '\0' b)"
[ ${#line} = 65536 ] || fail "the test line is ${#line} bytes"
if printf '%s\n' "$line" | rwrite lines/ctl 2>"$WORK/cut.err"; then
	fail "a 65537-byte ctl write went through as one line"
fi
grep -q EINVAL "$WORK/cut.err" || fail "the cut line: $(cat "$WORK/cut.err")"
kept=$(sed -n 's/^env CUT=//p' "$c/ctl")
[ ${#kept} = $((65512 - 8)) ] ||
	fail "the first half of the cut line: ${#kept} bytes of value"
jq -r .error "$c/status" | grep -q '^unknown command "bbbb' ||
	fail "status.error: $(jq -r .error "$c/status" | head -c 100)"
ok "msize is at most 65536: a 65,511-byte ctl line plus newline goes in one" \
	"Twrite; a 65,536-byte line is cut after 65,512 bytes and parsed as two" \
	"(env CUT= set to ${#kept} bytes, then EINVAL for the rest)"
