# Containers: a process in another mount namespace that sees the
# tree through a bind mount can start a job, read its output and wait for
# it (unshare -m, bwrap --bind); through a read-only bind (bwrap --ro-bind)
# it can observe and follow but not change anything (EROFS). A namespace
# that bind-mounts the tree's parent with rslave propagation sees the tree
# come back when the daemon is restarted on the host, while a plain bind of
# the mount itself stays dead (ENOTCONN). When the daemon is killed, a read
# waiting in the namespace ends with an error; when it is stopped (TERM),
# with end of file. Nothing hangs: every step has a deadline.
# shellcheck disable=SC2016 # the sh -c scripts expand their own arguments
. "$(dirname "$0")/lib.sh"

# The tree's parent is a shared mount of its own, so that mounts on it
# propagate to the namespaces' rslave copies whatever the host's root is.
TREE=$WORK/tree
MNT=$TREE/mnt
V=$WORK/view/mnt # the tree, as the long-lived namespace sees it
TREE_BOUND=
NS_PID=
ORPHANS=()
mkdir -p "$MNT" "$WORK/ns" "$WORK/bw" "$WORK/view" "$WORK/plain"



# bw_ro CMD...: CMD in a bwrap sandbox that sees the tree read-only at
# $WORK/bw.
bw_ro() {
	timeout 30 bwrap --die-with-parent --dev-bind / / \
		--ro-bind "$MNT" "$WORK/bw" -- "$@"
}

# in_ns CMD...: CMD in the long-lived mount namespace.
in_ns() {
	timeout 30 nsenter -t "$NS_PID" -m -- "$@"
}

ns_made() {
	local ns
	ns=$(readlink "/proc/$NS_PID/ns/mnt")
	[ -n "$ns" ] && [ "$ns" != "$(readlink /proc/$$/ns/mnt)" ]
}

# ns_fuse_at PATH: the namespace has a fuse mount on PATH.
ns_fuse_at() {
	local m
	m=$(in_ns cat /proc/self/mounts) && grep -q " $1 fuse" <<<"$m"
}
ns_no_fuse_at() {
	! ns_fuse_at "$1"
}
not_mounted() {
	! is_mounted
}

# read_error FILE: the errno of a reader's message: the connection was
# aborted (the read was waiting) or is gone (the request came after).
read_error() {
	case $(cat "$1") in
	*": Software caused connection abort") echo ECONNABORTED ;;
	*": Transport endpoint is not connected") echo ENOTCONN ;;
	*) fail "$1: unexpected reader message '$(cat "$1")'" ;;
	esac
}

# The trap: the namespace and the readers go first, then the runs the
# killed daemon left, the mount, and the shared bind of the parent.
sec_cleanup() {
	local rc=$1 drc=0 p
	cd /
	if [ -n "$NS_PID" ]; then
		kill -9 "$NS_PID" 2>/dev/null || true
		wait "$NS_PID" 2>/dev/null || true
	fi
	jobs -p | grep -vx "${DAEMON_PID:-none}" |
		xargs -r kill -9 2>/dev/null || true
	for p in "${ORPHANS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	unmount_fs || drc=$?
	if [ -n "$TREE_BOUND" ]; then
		umount "$TREE" 2>/dev/null || umount -l "$TREE" || drc=1
	fi
	cleanup_status "$rc" "$drc"
}
trap_cleanup sec_cleanup

mount --bind "$TREE" "$TREE"
TREE_BOUND=1
mount --make-shared "$TREE"
mount_fs

# --- unshare -m: bind the mount itself, run a job, wait, read.
out=$(timeout 30 unshare -m --propagation slave sh -c '
	mount --bind "$1" "$2" || exit 1
	grep -q " $2 fuse" /proc/self/mounts || exit 2
	mkdir "$2/x" && echo "exec echo hi" >"$2/x/ctl" &&
		cat "$2/x/wait" && cat "$2/x/stdout"' ns "$MNT" "$WORK/ns") ||
	fail "unshare: status $?, output '$out'"
[ "$out" = "0
hi" ] || fail "unshare: output '$out'"
! grep -q " $WORK/ns " /proc/self/mounts || fail "unshare: the bind leaked"
[ "$(json "$MNT/x/status" .state)" = exited ] || fail "unshare: x on the host"
ok "unshare -m + mount --bind: a job started, waited for and read from" \
	"another mount namespace"

# --- bwrap --bind (and its own pid namespace).
out=$(timeout 30 bwrap --die-with-parent --dev-bind / / --unshare-pid \
	--bind "$MNT" "$WORK/bw" -- sh -c '
	mkdir "$1/b" && echo "exec echo hello" >"$1/b/ctl" &&
		cat "$1/b/wait" && cat "$1/b/stdout"' bw "$WORK/bw") ||
	fail "bwrap: status $?, output '$out'"
[ "$out" = "0
hello" ] || fail "bwrap: output '$out'"
ok "bwrap --bind: a job started, waited for and read from the sandbox"

# --- bwrap --ro-bind: observe and follow, change nothing.
obs=$(slot obs)
ctl "$obs" 'start echo out; echo err >&2; exit 7'
wait_for "$obs" 7 "obs: wait"
live=$(slot live)
ctl "$live" 'stdin pipe' 'exec cat'
wait_until 20 state_is "$live" running
out=$(bw_ro sh -c 'cat "$1/obs/stdout" "$1/obs/stderr" "$1/obs/wait" &&
	jq -r .state "$1/obs/status" && ls "$1"' ro "$WORK/bw") ||
	fail "bwrap ro: status $?, output '$out'"
[ "$(echo "$out" | head -n 4)" = "out
err
7
exited" ] || fail "bwrap ro: read '$out'"
grep -qx live <<<"$out" || fail "bwrap ro: ls of the root: '$out'"
bw=$WORK/bw
erofs="Read-only file system"
fails_with "$erofs" bw_ro bash -c 'echo "exec true" >>"$1"' x "$bw/obs/ctl"
fails_with "$erofs" bw_ro bash -c 'echo kill >"$1"' x "$bw/live/ctl"
fails_with "$erofs" bw_ro bash -c 'echo in >>"$1"' x "$bw/live/stdin"
fails_with "$erofs" bw_ro truncate -s 0 "$bw/obs/ctl"
fails_with "$erofs" bw_ro mkdir "$bw/new"
fails_with "$erofs" bw_ro rmdir "$bw/obs"
[ -d "$obs" ] || fail "bwrap ro: obs was removed"
[ ! -e "$MNT/new" ] || fail "bwrap ro: new was made"
[ "$(json "$obs/status" .status)" = 7 ] || fail "bwrap ro: obs was restarted"
[ "$(json "$live/status" .state)" = running ] || fail "bwrap ro: live stopped"

bwrap --die-with-parent --dev-bind / / --ro-bind "$MNT" "$bw" -- \
	cat "$bw/live/stdout" >"$WORK/live.out" 2>&1 &
follower=$!
wait_until 20 logs_field_is "$live" stdout readers 1
printf 'ping\n' >>"$live/stdin"
wait_until 20 life_contains "$WORK/live.out" ping
ctl "$live" eof
life_wait_pid 30 "$follower" ||
	fail "bwrap ro: the follower failed: $(cat "$WORK/live.out")"
[ "$(cat "$WORK/live.out")" = ping ] ||
	fail "bwrap ro: followed '$(cat "$WORK/live.out")'"
ok "bwrap --ro-bind: logs, wait, status and ls read; ctl, stdin, truncate," \
	"mkdir and rmdir fail with EROFS; cat follows a live run to its end"

# --- a long-lived namespace: the parent bound rslave, and a plain bind.
unshare -m --propagation slave sleep 1000 &
NS_PID=$!
wait_until 10 ns_made
in_ns sh -c 'mount --rbind "$1" "$2" && mount --make-rslave "$2" &&
	mount --bind "$3" "$4"' ns "$TREE" "$WORK/view" "$MNT" "$WORK/plain" ||
	fail "namespace: bind mounts failed"
ns_fuse_at "$V" || fail "namespace: no tree at $V"
ns_fuse_at "$WORK/plain" || fail "namespace: no tree at $WORK/plain"
! grep -q " $WORK/view" /proc/self/mounts || fail "namespace: view leaked"
m=$(in_ns grep " $WORK/view " /proc/self/mountinfo) || m=
grep -q ' master:' <<<"$m" || fail "namespace: $WORK/view is not a slave: $m"

# Daemon killed: the namespace's waiting reads end with an error.
f=$(slot f)
ctl "$f" 'exec sleep 1000'
wait_until 20 state_is "$f" running
ORPHANS+=("$(json "$f/status" .pid)")
# Started here, not through in_ns: $! is then the reader itself.
declare -A kpid
nsenter -t "$NS_PID" -m -- cat "$V/f/stdout" >"$WORK/k1" 2>&1 &
kpid[k1]=$!
nsenter -t "$NS_PID" -m -- cat "$WORK/plain/f/stdout" >"$WORK/k2" 2>&1 &
kpid[k2]=$!
nsenter -t "$NS_PID" -m -- cat "$V/f/wait" >"$WORK/k3" 2>&1 &
kpid[k3]=$!
wait_until 20 logs_field_is "$f" stdout readers 2
sleep 0.5 # lets the wait read reach the daemon too (either error is fine)
kill -9 "$DAEMON_PID"
drc=0
wait "$DAEMON_PID" || drc=$?
DAEMON_PID=
[ "$drc" = 137 ] || fail "the killed daemon's status: $drc"
kill -9 "${ORPHANS[@]}" 2>/dev/null || true
errs=
for k in k1 k2 k3; do
	rc=0
	life_wait_pid 20 "${kpid[$k]}" || rc=$?
	[ "$rc" != 0 ] || fail "$k ended with status 0: the daemon was killed"
	errs="$errs $k:$(read_error "$WORK/$k")"
done
fails_with "Transport endpoint is not connected" ls "$MNT"
ok "daemon killed: the namespace's waiting reads end with errors:$errs;" \
	"the host sees ENOTCONN"

# Unmount and start a new daemon on the host: the rslave view follows.
fusermount3 -u "$MNT" || fail "fusermount3 -u of the dead mount failed"
wait_until 10 ns_no_fuse_at "$V"
fails_with "Transport endpoint is not connected" in_ns ls "$WORK/plain"
mount_fs
mkdir "$MNT/b-marker"
wait_until 10 in_ns test -d "$V/b-marker"
out=$(in_ns sh -c 'mkdir "$1/z" && echo "exec echo z" >"$1/z/ctl" &&
	cat "$1/z/wait" "$1/z/stdout"' ns "$V") || fail "namespace: z: '$out'"
[ "$out" = "0
z" ] || fail "namespace: z: '$out'"
fails_with "Transport endpoint is not connected" in_ns ls "$WORK/plain"
ok "restart: the rslave view of the parent shows the new tree and runs jobs;" \
	"the plain bind of the old mount stays ENOTCONN"

# Daemon stopped (TERM): a waiting read in the namespace gets end of file,
# and the unmount reaches the namespace's view.
g=$(slot g)
ctl "$g" 'exec sleep 1000'
wait_until 20 state_is "$g" running
nsenter -t "$NS_PID" -m -- cat "$V/g/stdout" >"$WORK/k4" 2>&1 &
k4=$!
wait_until 20 logs_field_is "$g" stdout readers 1
kill -TERM "$DAEMON_PID"
rc=0
life_wait_pid 30 "$k4" || rc=$?
[ "$rc" = 0 ] || fail "TERM: the namespace's reader: status $rc"
[ ! -s "$WORK/k4" ] ||
	fail "TERM: the namespace's reader printed '$(cat "$WORK/k4")'"
wait_until 30 not_mounted
wait_until 10 ns_no_fuse_at "$V"
unmount_fs || fail "TERM: daemon exit status $?"
ok "daemon stopped: the namespace's reader gets EOF; the unmount propagates"

mount_fs
wait_until 10 ns_fuse_at "$V"
in_ns test ! -e "$V/b-marker" || fail "the new tree shows an old slot"
out=$(in_ns sh -c 'n=$(cat "$1/clone") &&
	echo "exec echo again" >"$1/$n/ctl" &&
	cat "$1/$n/wait" "$1/$n/stdout"' ns "$V") ||
	fail "namespace: clone: '$out'"
[ "$out" = "0
again" ] || fail "namespace: clone: '$out'"
# A host unmount ends the daemon, though the namespace still has the view.
unmount_fs || fail "final unmount: daemon exit status $?"
wait_until 10 ns_no_fuse_at "$V"
ok "second restart seen by the namespace; a host unmount ends the daemon" \
	"and its view in the namespace"
