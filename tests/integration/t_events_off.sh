# [stream] events = off: no events file in any slot (lookup,
# readdir, open), output still streams byte-exact, a failed start's error
# lives in status.error only, and status has no events bytes.
. "$(dirname "$0")/lib.sh"
printf '[stream]\nevents = off\n' >"$CONF"
mount_fs

s=$(slot quiet)
ls "$s" >"$WORK/ls"
grep -qx events "$WORK/ls" && fail "readdir lists events: $(cat "$WORK/ls")"
grep -qx stdout "$WORK/ls" || fail "readdir lacks stdout"
[ ! -e "$s/events" ] || fail "events exists"
if cat "$s/events" 2>"$WORK/err"; then fail "cat events succeeded"; fi
grep -q 'No such file' "$WORK/err" || fail "cat events: $(cat "$WORK/err")"
ok "no events file: readdir, stat and open say so"

ctl "$s" 'start seq 1 200000; printf "\\0\\377\\n"'
{ seq 1 200000; printf '\0\377\n'; } >"$WORK/want"
timeout 10 cat "$s/stdout" | cmp - "$WORK/want" || fail "stdout differs"
[ "$(timeout 10 cat "$s/wait")" = 0 ] || fail "wait"
[ "$(json "$s/status" .logs.events.bytes)" = 0 ] ||
	fail "events bytes: $(json "$s/status" .logs.events.bytes)"
ok "stdout byte-exact ($(wc -c <"$WORK/want") bytes); no events made"

f=$(slot failing)
ctl_fails "$f" "No such file or directory" 'exec /nonexistent/prog'
json "$f/status" .error | grep -q '/nonexistent/prog' ||
	fail "status.error: $(json "$f/status" .error)"
ok "a failed start's error is in status.error"
