# Read-only mounts: with -o ro the tree can be observed but
# nothing can be created or changed: reading clone (which would make a
# slot) fails with EROFS from the daemon, and mkdir, rmdir, truncation and
# writes fail with EROFS. The mount is its own daemon's, so it is empty:
# the root lists clone and by-pid, and by-pid lists nothing.
. "$(dirname "$0")/lib.sh"


# no_slots: the root holds only the fixed entries (readdir is under test).
no_slots() {
	local e
	for e in "$MNT"/* "$MNT"/.[!.]*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		case ${e##*/} in
		clone | by-pid | metrics) ;;
		*) fail "the read-only root lists '${e##*/}'" ;;
		esac
	done
}

# put_fails WANT FILE: appending to FILE from a shell fails with WANT;
# truncating it too.
put_fails() {
	# shellcheck disable=SC2016 # expanded by that bash
	fails_with "$1" bash -c 'echo x >>"$1"' put "$2"
	# shellcheck disable=SC2016
	fails_with "$1" bash -c ': >"$1"' put "$2"
}

mount_fs -o ro
grep " $MNT fuse" /proc/self/mounts | grep -qE ' (ro|ro,[^ ]*) ' ||
	fail "not mounted read-only: $(grep " $MNT fuse" /proc/self/mounts)"

# Observing works.
if [ ! -f "$MNT/clone" ] || [ ! -d "$MNT/by-pid" ]; then
	fail "root entries: $(ls -A "$MNT")"
fi
no_slots
[ -z "$(ls -A "$MNT/by-pid")" ] || fail "by-pid lists: $(ls -A "$MNT/by-pid")"
[ "$(stat -c %a "$MNT")" = 1777 ] || fail "root mode $(stat -c %a "$MNT")"
ok "ro: ls of the root and of by-pid work; no slot"

# Reading clone is allowed by the kernel (O_RDONLY): the daemon refuses.
fails_with "Read-only file system" cat "$MNT/clone"
fails_with "Read-only file system" "$HELPERS/preadat" "$MNT/clone" 'r 16'
no_slots
ok "ro: reading clone fails with EROFS and makes no slot"

fails_with "Read-only file system" mkdir "$MNT/job"
fails_with "Read-only file system" rmdir "$MNT/job"
fails_with "Read-only file system" rmdir "$MNT/by-pid"
fails_with "Read-only file system" truncate -s 0 "$MNT/clone"
put_fails "Read-only file system" "$MNT/clone"
fails_with "Read-only file system" touch "$MNT/newfile"
fails_with "Read-only file system" ln -s clone "$MNT/link"
no_slots
ok "ro: mkdir, rmdir, truncate, write, create and symlink fail with EROFS"

# Still serving after all the refusals, and it exits cleanly.
[ -f "$MNT/clone" ] || fail "the daemon stopped answering"
unmount_fs || fail "daemon exit status $?"
ok "ro: clean unmount"
