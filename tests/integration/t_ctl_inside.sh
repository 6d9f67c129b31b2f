# A run whose cwd lies inside the mount: the child's chdir needs the
# daemon, so the start must be awaited from the loop, not by blocking it.
. "$(dirname "$0")/lib.sh"
mount_fs

s=$(slot inside)
mkdir "$MNT/here"
printf 'cwd %s\nexec pwd\n' "$MNT/here" >"$WORK/lines"
timeout 10 dd if="$WORK/lines" of="$s/ctl" status=none ||
	fail "a start with its cwd inside the mount did not return"
[ "$(timeout 5 cat "$s/wait")" = 0 ] || fail "wait"
[ "$(timeout 5 cat "$s/stdout")" = "$MNT/here" ] ||
	fail "pwd printed: $(cat "$s/stdout")"
ok "cwd inside the mount: the start returns and the child runs there"

# The write still learns a failed exec's errno, and later lines of the
# same write run after the start.
s=$(slot missing)
printf 'cwd %s\nexec pwd\n' "$MNT/nonexistent" >"$WORK/lines"
if out=$(timeout 10 dd if="$WORK/lines" of="$s/ctl" status=none 2>&1); then
	fail "a bad cwd inside the mount should fail the write"
fi
case $out in
*"No such file or directory"*) ;;
*) fail "bad cwd: wanted ENOENT, got: $out" ;;
esac
s=$(slot after)
printf 'exec sleep 100\nsignal TERM\n' >"$s/ctl" || fail "start then signal"
[ "$(timeout 5 cat "$s/wait")" = 143 ] ||
	fail "the line after the start did not run after it"
ok "errno of a failed start and lines after a start keep working"
