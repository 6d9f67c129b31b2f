# Fail-stop per open ctl handle: bash writes one line per
# write(2), so a typo on one line must stop the lines after it. Once a
# write on a handle fails, every later write on that handle fails with
# the same errno and runs nothing; earlier lines stay applied; status.error
# keeps what the first failure said; a new open starts clean.
. "$(dirname "$0")/lib.sh"
mount_fs

# write3 TEXT: one write(2) of TEXT through fd 3; prints the shell's
# message and returns printf's status.
write3() {
	(trap '' PIPE; LC_ALL=C printf '%s' "$1" >&3) 2>&1
}

# never_ran SLOT: no run was recorded and nothing came out.
never_ran() {
	jq -e '.pid == null and .argv == null' "$1/status" >/dev/null ||
		fail "$1 ran: $(cat "$1/status")"
	[ "$(stat -c %s "$1/stdout")" = 0 ] || fail "$1: output: $(cat "$1/stdout")"
}

# The issue's own line, as bash writes it: one write per line.
s=$(slot typo)
if (LC_ALL=C printf 'user nobdy\nstart echo ran as $(id -un)\n' >"$s/ctl") \
	2>"$WORK/err"; then
	fail "printf of a bad user succeeded"
fi
grep -q 'Invalid argument' "$WORK/err" || fail "message: $(cat "$WORK/err")"
never_ran "$s"
case $(json "$s/status" .error) in
*'no such user "nobdy"'*) ;;
*) fail "status.error: $(json "$s/status" .error)" ;;
esac
ok "printf 'user nobdy\\nstart ...' runs nothing"

s=$(slot pty)
if (printf 'pty 120X40\nstart echo ran\n' >"$s/ctl") 2>/dev/null; then
	fail "printf of a bad pty size succeeded"
fi
never_ran "$s"
ok "printf 'pty 120X40\\nstart ...' runs nothing"

# Explicit writes through one fd: the lines before stay, the errno of the
# first failure (ESRCH here, not the EINVAL the bogus line would give)
# comes back for every later write, and status.error is not touched.
s=$(slot explicit)
exec 3>"$s/ctl"
life_trap_fds 3
out=$(write3 $'env A=1\n') || fail "env A=1: $out"
out=$(write3 $'kill\n') && fail "kill on a new slot succeeded"
case $out in *"No such process"*) ;; *) fail "kill: '$out'" ;; esac
err1=$(json "$s/status" .error)
for line in $'start echo ran\n' $'bogus\n' $'env B=2\n' $'exec true\n'; do
	out=$(write3 "$line") && fail "refused line ran: $line"
	case $out in
	*"No such process"*) ;;
	*) fail "after a failure, '$line' gave '$out', not ESRCH" ;;
	esac
done
exec 3>&-
never_ran "$s"
[ "$(json "$s/status" .error)" = "$err1" ] ||
	fail "status.error changed: '$err1' -> '$(json "$s/status" .error)'"
grep -qx 'env A=1' "$s/ctl" || fail "the line before the failure: $(cat "$s/ctl")"
grep -q 'B=2' "$s/ctl" && fail "a refused line applied: $(cat "$s/ctl")"
ok "after a failure: same errno, nothing runs, error kept, earlier lines kept"

# A new open starts clean.
ctl "$s" 'start echo "A=$A"'
wait_for "$s" 0 "after reopening"
[ "$(timeout 5 cat "$s/stdout")" = "A=1" ] || fail "stdout: $(cat "$s/stdout")"
ok "a new open starts clean"

# A start that fails in the child (exec error) stops the handle too, and
# the start that follows on the same fd never runs.
s=$(slot execfail)
exec 3>"$s/ctl"
out=$(write3 $'exec /nonexistent/prog\n') && fail "exec of a missing program"
out=$(write3 $'exec true\n') && fail "start after a failed exec ran"
case $out in *"No such file or directory"*) ;; *) fail "after exec: '$out'" ;; esac
exec 3>&-
jq -e '.argv == ["/nonexistent/prog"]' "$s/status" >/dev/null ||
	fail "a later start ran: $(cat "$s/status")"
ok "a failed exec stops the handle as well"
