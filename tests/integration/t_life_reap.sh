# reap_after: an exited slot with no handle open
# disappears reap_after after its end (or after its last handle closed);
# an open handle keeps it; running and never-started slots stay. A bare
# number is seconds.
. "$(dirname "$0")/lib.sh"
life_trap_fds 3 4
cat >"$CONF" <<'EOF'
[process]
reap_after = 1s
EOF
mount_fs

# gone_between PATH MIN MAX: PATH is still there after MIN ms and gone
# before MAX ms (both from now; MAX, a bound on a hang, is scaled by
# slow_factor). Prints the time it went, in ms.
gone_between() {
	local t0 t max
	t0=$(now_ms)
	max=$(slow_ms "$3")
	while [ -e "$1" ]; do
		t=$(($(now_ms) - t0))
		[ "$t" -lt "$max" ] || fail "$1 still there after $t ms"
		sleep 0.05
	done
	t=$(($(now_ms) - t0))
	[ "$t" -ge "$2" ] || fail "$1 went after $t ms, before $2 ms"
	echo "$t"
}

# An exited slot nobody holds goes about 1 s after the end.
s=$(slot quick)
ctl "$s" 'start echo x'
[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "quick: wait"
t=$(gone_between "$s" 500 3000)
life_listed "$MNT" quick && fail "quick: still listed by ls"
[ ! -e "$MNT/quick/status" ] || fail "quick: status still reachable"
ok "an exited slot with no handle open is gone $t ms after its end"

# The name is free again: a new slot of that name starts fresh.
s=$(slot quick)
[ "$(json "$s/status" .state)" = new ] || fail "quick again: not new"
[ "$(stat -c %s "$s/stdout")" = 0 ] || fail "quick again: old stdout"
ok "the name can be used again, for a new empty slot"

# A never-started slot stays, and so does a running one.
s=$(slot held)
ctl "$s" 'start sleep 0.3; echo held'
exec 3<"$s/stdout"
[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "held: wait"
s3=$(slot held-status)
ctl "$s3" 'start true'
[ "$(timeout 5 cat "$s3/wait")" = 0 ] || fail "held-status: wait"
exec 4<"$s3/status"
# The running one is a cat the test ends with eof below: a run of fixed
# length could end, and be reaped, before the test gets to it.
s2=$(slot runs)
ctl "$s2" 'stdin pipe' 'exec cat'
sleep 2.2
[ -d "$s3" ] || fail "held-status: reaped while a status handle is open"
jq -e '.state == "exited"' <&4 >/dev/null || fail "held-status: status handle"
[ -e "$MNT/quick" ] || fail "a never-started slot was reaped"
[ -e "$s2" ] && [ "$(json "$s2/status" .state)" = running ] ||
	fail "a running slot was reaped"
[ -d "$s" ] || fail "held: reaped while a stdout handle is open"
life_listed "$MNT" held || fail "held: not listed while a handle is open"
[ "$(head -c 5 <&3)" = held ] || fail "held: the open handle cannot read"
[ "$(json "$s/status" .state)" = exited ] || fail "held: state"
ok "after 2.2 s: exited slots with an open stdout or status handle, a new slot" \
	"and a running one are all still there"

# Closing the handle lets it go, reap_after later.
exec 3<&- 4<&-
t=$(gone_between "$s" 500 3000)
[ ! -e "$s3" ] || fail "held-status: still there after its handle closed"
ok "closing the handles: the slots are gone $t ms later"

# The running one goes after its own end.
[ "$(json "$s2/status" .state)" = running ] || fail "runs: not running"
ctl "$s2" eof
[ "$(timeout 5 cat "$s2/wait")" = 0 ] || fail "runs: wait"
t=$(gone_between "$s2" 500 3000)
ok "a slot that was running goes $t ms after its end"

# A bare number is seconds: reap_after = 2.
unmount_fs || fail "unmount"
cat >"$CONF" <<'EOF'
[process]
reap_after = 2
EOF
mount_fs
s=$(slot bare)
ctl "$s" 'start true'
[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "bare: wait"
t=$(gone_between "$s" 1500 4500)
ok "reap_after = 2 (bare): gone $t ms after the end"
