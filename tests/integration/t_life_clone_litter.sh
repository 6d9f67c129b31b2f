# clone leaves no litter: a slot made by reading clone that
# was never written to and that nobody has open goes after
# reap_new_after (here -o reap_new_after=300ms). Recursive tools (grep -r,
# cp -r, tar, find -exec cat) read clone; they must not fill the table.
. "$(dirname "$0")/lib.sh"
cat >"$CONF" <<'CONF'
[process]
max_processes = 8
CONF
mount_fs -o reap_new_after=300ms

kept=$(slot kept)
n=$(timeout 5 cat "$MNT/clone")
[ -d "$MNT/$n" ] || fail "clone did not make $n"
wait_until 10 life_gone "$MNT/$n"
ok "an untouched clone slot goes after reap_new_after"

# Written to: stays (a lower bound, not scaled).
w=$(timeout 5 cat "$MNT/clone")
ctl "$MNT/$w" 'env A=1'
# Held open: stays while open, goes once closed.
h=$(timeout 5 cat "$MNT/clone")
exec 4<"$MNT/$h/status"
life_trap_fds 4
sleep 1
[ -d "$MNT/$w" ] || fail "a slot written to was removed"
[ -d "$MNT/$h" ] || fail "a slot held open was removed"
[ -d "$kept" ] || fail "a mkdir slot was removed"
exec 4<&-
wait_until 10 life_gone "$MNT/$h"
[ -d "$MNT/$w" ] || fail "a slot written to was removed"
rmdir "$MNT/$w"
ok "written-to, open and mkdir'd slots stay; closed ones go"

# Recursive tools read clone. grep -r opens with O_NONBLOCK and gets
# EAGAIN where a read would wait; cp -r and tar block on the new slot's
# wait (that is documented), so they run under a short timeout: what
# matters is what they leave behind. More runs than max_processes allows.
for i in 1 2 3 4 5 6 7 8 9 10; do
	timeout "$HANG" grep -r x "$MNT" >/dev/null 2>&1 || true
	timeout "$HANG" find "$MNT" -maxdepth 1 -name clone -exec cat {} + \
		>/dev/null 2>&1 || true
	until_true 10 '[ "$(slots)" = "kept " ]'
done
ok "grep -r and find -exec cat, 20 runs: no slot left behind"
timeout 2 cp -r "$MNT" "$WORK/copy" 2>/dev/null || true
until_true 10 '[ "$(slots)" = "kept " ]'
timeout 2 tar -cf - -C "$MNT" . 2>/dev/null | cat >/dev/null || true
until_true 10 '[ "$(slots)" = "kept " ]'
for i in 1 2 3 4 5 6 7; do
	m=$(slot "after$i")
done
ok "cp -r and tar leave no slot behind; mkdir still has room"
