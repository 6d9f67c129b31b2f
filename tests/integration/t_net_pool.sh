# diod's worker pool over the tree, on loopback, measured. A remote read
# that waits at the end of a silent job's stdout holds a diod worker.
# With THREADS=2 and three remote followers, every other request on the
# export waits (diodls of the root, a status read, a ctl write), until the
# job writes. Mitigations shown to work: THREADS = followers + 4 (what the
# unit's comment and the README say), and a control export (a bind mount
# of the tree exported beside it has a pool of its own). Then a remote
# follower killed while parked: its worker stays held (diod neither
# flushes nor notices the closed connection) until the job writes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netlib.sh"
net_require
CTLMNT=$WORK/ctl-export
net_pool_cleanup() {
	local rc=$1
	net_cleanup "$rc" || rc=$?
	! mountpoint -q "$CTLMNT" || umount "$CTLMNT" || umount -l "$CTLMNT"
	return "$rc"
}
trap_cleanup net_pool_cleanup
BLOCK_S=3 # how long a blocked request is given (a lower bound: not scaled)

mount_fs
s=$(slot quiet)
ctl "$s" 'stdin pipe' 'exec cat'
wait_state "$s" running

# blocked WHAT CMD...: CMD must not finish within BLOCK_S seconds.
blocked() {
	local what=$1 rc=0
	shift
	timeout "$BLOCK_S" "$@" >/dev/null 2>"$WORK/blocked.err" || rc=$?
	[ "$rc" = 124 ] ||
		fail "$what ended ($rc) while every worker was held: $(cat "$WORK/blocked.err")"
}
# prompt WHAT CMD...: CMD must finish; prints how long it took (ms).
prompt() {
	local what=$1 t0
	shift
	t0=$(now_ms)
	timeout "$((HANG))" "$@" >/dev/null 2>"$WORK/prompt.err" ||
		fail "$what did not complete: $(cat "$WORK/prompt.err")"
	ms_since "$t0"
}
# followers N: start N remote followers of quiet/stdout.
followers() {
	local i
	for i in $(seq 1 "$1"); do
		net_bg "${DIODCAT[@]}" quiet/stdout >>"$WORK/followed" 2>/dev/null
		FOLLOWERS="$FOLLOWERS $BG"
	done
}
# drop_followers: kill them (they would hold the next diod's workers).
drop_followers() {
	# shellcheck disable=SC2086
	kill -KILL $FOLLOWERS 2>/dev/null || true
	# shellcheck disable=SC2086
	wait $FOLLOWERS 2>/dev/null || true
	FOLLOWERS=
}

# readers_gone: once diod is stopped, its reads end (its threads die,
# the kernel interrupts their requests) and nobody reads quiet/stdout.
readers_gone() {
	local t=0
	while ! logs_field_is "$s" stdout readers 0; do
		t=$((t + 1))
		[ $t -lt $((200 * $(slow_factor))) ] ||
			fail "still read after diod stopped: $(jq -c .logs.stdout "$s/status")," \
				"diod: $(pgrep -a diod)"
		sleep 0.05
	done
}

# --- THREADS=2, three followers: the export is stuck
net_start 2 -n
FOLLOWERS=
followers 3
# Two reads park; the third follower's open may or may not get through
# first (readers counts open handles).
wait_until 10 logs_field_gt "$s" stdout readers 1
sleep 0.5
t0=$(now_ms)
blocked "diodls /" "${DIODLS[@]}" /
blocked "a status read" "${DIODCAT[@]}" quiet/status
blocked "a ctl write" "${NINEPW[@]}" quiet/ctl <<<"signal CONT"
stuck=$(ms_since "$t0")
ok "THREADS=2, 3 remote followers of a silent job: 2 workers parked," \
	"diodls, a status read and a ctl write each waited ${BLOCK_S} s in vain"
# The job writes: the parked reads are answered, and the followers ask
# again at once, so the pool stays theirs.
echo tick >>"$s/stdin"
wait_until 10 grep -q tick "$WORK/followed"
blocked "diodls after a line from the job" "${DIODLS[@]}" /
ok "a line from the job does not unstick it: the followers read it and" \
	"parked again, and diodls still waited ${BLOCK_S} s (stuck ${stuck} ms" \
	"before the line)"
drop_followers
net_stop
readers_gone

# --- Mitigation 1: THREADS = followers + 4
net_start 7 -n
followers 3
wait_until 10 logs_field_is "$s" stdout readers 3
ms1=$(prompt "diodls" "${DIODLS[@]}" /)
ms2=$(prompt "a status read" "${DIODCAT[@]}" quiet/status)
ms3=$(prompt "a ctl write" "${NINEPW[@]}" quiet/ctl <<<"signal CONT")
ok "THREADS=7 (3 followers + 4): diodls ${ms1} ms, status ${ms2} ms," \
	"ctl write ${ms3} ms while the 3 followers stay parked"
drop_followers
net_stop
readers_gone

# --- Mitigation 2: a control export with a pool of its own
mkdir "$CTLMNT"
mount --bind "$MNT" "$CTLMNT"
net_start 2 "-n -e $CTLMNT"
followers 3
wait_until 10 logs_field_gt "$s" stdout readers 1
blocked "diodls of the main export" "${DIODLS[@]}" /
t0=$(now_ms)
timeout "$HANG" diodls -s "127.0.0.1:$PORT" -a "$CTLMNT" / >"$WORK/ctl-ls" ||
	fail "diodls of the control export"
grep -qx quiet "$WORK/ctl-ls" || fail "the control export lists $(cat "$WORK/ctl-ls")"
printf 'signal CONT\n' | timeout "$HANG" python3 "$NINEP" \
	-s "127.0.0.1:$PORT" -a "$CTLMNT" write quiet/ctl >/dev/null ||
	fail "ctl write through the control export"
ok "a bind of the tree exported beside it (-e $CTLMNT) answered diodls" \
	"and a ctl write in $(ms_since "$t0") ms while the main pool was stuck"
drop_followers
net_stop
umount "$CTLMNT"
readers_gone

# --- A remote follower killed while parked
net_start 2 -n
followers 2
wait_until 10 logs_field_is "$s" stdout readers 2
drop_followers
t0=$(now_ms)
sleep 2
logs_field_is "$s" stdout readers 2 ||
	fail "the killed followers' reads ended: readers $(logs_field "$s" stdout readers)"
blocked "diodls after the followers died" "${DIODLS[@]}" /
held=$(ms_since "$t0")
echo tock >>"$s/stdin"
t0=$(now_ms)
readers_gone
freed=$(ms_since "$t0")
ms=$(prompt "diodls once the job wrote" "${DIODLS[@]}" /)
ok "2 remote followers kill -9ed while parked (THREADS=2): their reads and" \
	"workers were still held ${held} ms later; the job's next line ended" \
	"both reads in ${freed} ms and diodls then took ${ms} ms"
net_stop
