# Basic tree, ctl, stdout/stderr, wait and status on a real mount.
. "$(dirname "$0")/lib.sh"
mount_fs

[ -f "$MNT/clone" ] || fail "no clone file"
s=$(slot job)
for f in ctl stdin stdout stderr status wait; do
	[ -e "$s/$f" ] || fail "missing $f"
done
ok "tree"

ctl "$s" 'start echo hi; echo oops >&2; exit 3'
[ "$(timeout 10 cat "$s/wait")" = 3 ] || fail "wait"
[ "$(timeout 5 cat "$s/stdout")" = hi ] || fail "stdout"
[ "$(timeout 5 cat "$s/stderr")" = oops ] || fail "stderr"
jq -e '.state == "exited" and .exit_code == 3 and .status == 3' \
	"$s/status" >/dev/null || fail "status: $(cat "$s/status")"
[ "$(stat -c %s "$s/status")" = "$(wc -c <"$s/status")" ] ||
	fail "status size differs from content"
[ "$(stat -c %s "$s/stdout")" = 3 ] || fail "stdout st_size"
ok "run, wait, logs, status"

n=$(timeout 5 cat "$MNT/clone")
[ -d "$MNT/$n" ] || fail "clone did not make $n"
n2=$(timeout 5 cat "$MNT/clone")
[ "$n" != "$n2" ] || fail "clone returned the same slot twice"
ok "clone"

rmdir "$s" || fail "rmdir of an exited slot"
[ ! -e "$s" ] || fail "slot still there"
ok "rmdir"
