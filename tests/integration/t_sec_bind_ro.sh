# A read-only bind of the tree (README "Containers"): a container that
# only watches reads stdout, status, wait and the snapshots, and cannot
# start, stop, make or remove anything: ctl and stdin writes, mkdir and
# rmdir fail with EROFS. Reading clone through it still makes an empty
# slot (the daemon cannot see the bind's flag), which is documented.
. "$(dirname "$0")/lib.sh"
RO=$WORK/ro
mkdir -p "$RO"
undo_bind() {
	umount "$RO" 2>/dev/null || umount -l "$RO" 2>/dev/null || true
	return "$1"
}
trap_cleanup undo_bind
mount_fs
s=$(slot job)
ctl "$s" 'stdin pipe' 'start echo out; cat'
wait_state "$s" running
mount --bind "$MNT" "$RO" || fail "bind mount"
mount -o remount,bind,ro "$RO" || fail "remount ro"
r=$RO/job
[ "$(timeout 5 head -n 1 "$r/stdout")" = out ] || fail "stdout through the bind"
[ "$(json "$r/status" .state)" = running ] || fail "status through the bind"
[ "$(timeout 5 cat "$r/stdout.now")" = out ] || fail "stdout.now through the bind"
fails_with 'Read-only file system' ctl "$r" 'kill'
fails_with 'Read-only file system' ctl "$r" 'exec true'
fails_with 'Read-only file system' bash -c 'echo x >"$1"' w "$r/stdin"
fails_with 'Read-only file system' mkdir "$RO/new"
fails_with 'Read-only file system' rmdir "$r"
state_is "$s" running || fail "something reached the job through the bind"
ok "read-only bind: stdout, status, stdout.now read; ctl, stdin, mkdir, rmdir EROFS"
name=$(timeout 5 cat "$RO/clone")
[ -d "$MNT/$name" ] || fail "clone through the bind: '$name'"
fails_with 'Read-only file system' ctl "$RO/$name" 'exec true'
ok "clone through the read-only bind made slot $name (documented), which cannot be started there"
umount "$RO"
ctl "$s" kill
wait_for "$s" 137 "job"
unmount_fs || fail "daemon exit status $?"
