# The systemd template unit etc/systemd/spawnfs@.service. systemd-analyze
# verify checks the unit as installed (into a DESTDIR; the copy checked
# names the installed binary's real path, and MANPATH lets it find the
# installed pages its Documentation= names). systemd is not PID 1 here, so
# the service's life is then played the way systemd would: the instance
# name unescaped into %f, $$ into $, ExecStartPre, ExecStart, ExecStartPost,
# a reload (ExecReload: spawnfs --upgrade, an upgrade in place that keeps
# the daemon's pid and its runs), a stop with KillMode=mixed (SIGTERM to the daemon alone, which stops a
# child that ignores TERM within TimeoutStopSec), ExecStopPost, and after a
# crash (kill -9) ExecStopPost detaching the dead mount so that the next
# start works; ExecStopPost leaves a mount that is not FUSE alone.
. "$(dirname "$0")/lib.sh"

SRC=${SPAWNFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=$(dirname "$SPAWNFS")
UNIT_SRC=$SRC/etc/systemd/spawnfs@.service
[ -f "$UNIT_SRC" ] || fail "no $UNIT_SRC"
for t in systemd-analyze systemd-escape findmnt mountpoint unshare; do
	command -v "$t" >/dev/null || fail "$t is not installed"
done
if [ -n "${SPAWNFS_WRAP:-}" ]; then
	echo "note: SPAWNFS_WRAP ignored: the daemon is started as systemd would"
	unset SPAWNFS_WRAP
fi

# --- systemd-analyze verify, on the installed unit
ROOT=$WORK/root
DESTDIR=$ROOT timeout 60 cmake --install "$BUILD" --prefix /usr \
	>"$WORK/install.log" 2>&1 || fail "install: $(cat "$WORK/install.log")"
UNIT=$ROOT/usr/lib/systemd/system/spawnfs@.service
[ -f "$UNIT" ] || fail "the unit was not installed"
grep -q '^ExecStart=/usr/bin/spawnfs ' "$UNIT" ||
	fail "the installed unit does not run /usr/bin/spawnfs"
grep -q '^ExecReload=/usr/bin/spawnfs --upgrade ' "$UNIT" ||
	fail "the installed unit's ExecReload is not /usr/bin/spawnfs --upgrade"
mkdir "$WORK/units"
sed "s|^\(Exec[A-Za-z]*=\)/usr/bin/spawnfs |\1$ROOT/usr/bin/spawnfs |" \
	"$UNIT" >"$WORK/units/spawnfs@.service"

# verify FILE: systemd-analyze verify's exit status and all it said.
verify() {
	local rc=0
	(cd "$WORK" && MANPATH=$ROOT/usr/share/man SYSTEMD_LOG_COLOR=0 \
		timeout 60 systemd-analyze verify "$1") >"$WORK/verify.out" 2>&1 ||
		rc=$?
	return $rc
}
verify "$WORK/units/spawnfs@.service" ||
	fail "systemd-analyze verify: $(cat "$WORK/verify.out")"
[ ! -s "$WORK/verify.out" ] ||
	fail "systemd-analyze verify warns: $(cat "$WORK/verify.out")"
grep -qx 'Delegate=yes' "$UNIT" || fail "the unit does not delegate its cgroup"
sed 's/^Delegate=yes/Delegate=perhaps/' "$WORK/units/spawnfs@.service" \
	>"$WORK/units/bad0@.service"
verify "$WORK/units/bad0@.service" || true
grep -q 'perhaps' "$WORK/verify.out" ||
	fail "verify said nothing of Delegate=perhaps: $(cat "$WORK/verify.out")"
verify "$WORK/units/spawnfs@.service" || true
ok "systemd-analyze verify: the installed unit (Delegate=yes) passes without a message"

# The check itself can fail: a bad value, a missing binary.
sed 's/^KillMode=mixed/KillMode=nonsense/' "$WORK/units/spawnfs@.service" \
	>"$WORK/units/bad1@.service"
verify "$WORK/units/bad1@.service" || true
grep -q nonsense "$WORK/verify.out" ||
	fail "verify said nothing of KillMode=nonsense: $(cat "$WORK/verify.out")"
sed "s|^ExecStart=$ROOT/usr/bin/spawnfs |ExecStart=$ROOT/nonexistent |" \
	"$WORK/units/spawnfs@.service" >"$WORK/units/bad2@.service"
! verify "$WORK/units/bad2@.service" ||
	fail "verify passed a unit whose binary is missing"
ok "systemd-analyze verify does catch a bad KillMode and a missing binary"

# --- What the unit says
# unit_key KEY: the value of KEY= (the first such line).
unit_key() {
	sed -n "s/^$1=//p" "$UNIT" | head -n 1
}
[ "$(unit_key Type)" = simple ] || fail "Type=$(unit_key Type)"
[ "$(unit_key KillMode)" = mixed ] || fail "KillMode=$(unit_key KillMode)"
[ "$(unit_key KillSignal)" = SIGTERM ] ||
	fail "KillSignal=$(unit_key KillSignal)"
[ "$(unit_key WantedBy)" = multi-user.target ] ||
	fail "WantedBy=$(unit_key WantedBy)"
[ "$(unit_key ExecStart)" = \
	"/usr/bin/spawnfs -f -c /etc/spawnfs/spawnfs.ini -o allow_other %f" ] ||
	fail "ExecStart=$(unit_key ExecStart)"
# systemctl reload upgrades in place the daemon on the same mount point.
[ "$(unit_key ExecReload)" = "/usr/bin/spawnfs --upgrade %f" ] ||
	fail "ExecReload=$(unit_key ExecReload)"
# TimeoutStopSec leaves the daemon its kill_grace and 10 s more.
stop_s=$(unit_key TimeoutStopSec)
grace=$(sed -n 's/^kill_grace *= *\([0-9]*\)ms$/\1/p' "$SRC/etc/spawnfs.ini")
[ -n "$grace" ] || fail "no kill_grace in ms in etc/spawnfs.ini"
[ "$stop_s" -ge $((grace / 1000 + 10)) ] ||
	fail "TimeoutStopSec=$stop_s for a kill_grace of ${grace}ms"
[ "$(systemd-escape --path /run/spawn)" = run-spawn ] ||
	fail "systemd-escape --path /run/spawn: $(systemd-escape --path /run/spawn)"
ok "Type=simple, KillMode=mixed, KillSignal=SIGTERM, TimeoutStopSec=$stop_s" \
	"(kill_grace ${grace}ms), ExecReload=spawnfs --upgrade %f," \
	"spawnfs@run-spawn.service is /run/spawn"

# --- The service's life, played as systemd would
MNT=$WORK/run/spawn
INST=$(systemd-escape --path "$MNT")
F=$(systemd-escape --unescape --path "$INST") # what %f expands to
[ "$F" = "$MNT" ] || fail "instance $INST unescapes to $F"
cp "$SRC/etc/spawnfs.ini" "$CONF"

# cmdline KEY: the command line of an Exec KEY as systemd runs it here:
# "-" (ignore failure) dropped, %f and $$ expanded, the binary and the
# configuration replaced by the built ones.
cmdline() {
	local c
	c=$(unit_key "$1")
	[ -n "$c" ] || fail "the unit has no $1"
	c=${c#-}
	c=${c//%f/$F}
	c=${c//\$\$/\$}
	c=${c//\/usr\/bin\/spawnfs /$SPAWNFS }
	c=${c//\/etc\/spawnfs\/spawnfs.ini/$CONF}
	case $c in
	*%*) fail "$1 holds a specifier this test does not expand: $c" ;;
	esac
	echo "$c"
}
PRE=$(cmdline ExecStartPre)
START=$(cmdline ExecStart)
POST=$(cmdline ExecStartPost)
RELOAD=$(cmdline ExecReload)
STOPPOST=$(cmdline ExecStopPost)
unit_key ExecStopPost | grep -q '^-' ||
	fail "ExecStopPost must be allowed to fail (nothing to detach)"

# service_start: ExecStartPre, ExecStart in the background, ExecStartPost;
# the tree must be mounted when ExecStartPost returns.
service_start() {
	local argv
	eval "$PRE" || fail "ExecStartPre failed: $PRE"
	read -ra argv <<<"$START"
	"${argv[@]}" 2>>"$DAEMON_LOG" &
	DAEMON_PID=$!
	timeout 20 bash -c "$POST" || fail "ExecStartPost failed: $POST"
	is_mounted || fail "ExecStartPost returned before the mount"
}

service_start
[ -d "$MNT" ] || fail "ExecStartPre did not make $MNT"
grep " $MNT fuse" /proc/self/mounts | grep -q allow_other ||
	fail "not mounted with allow_other: $(grep " $MNT " /proc/self/mounts)"
ok "ExecStartPre made $F; ExecStartPost returned once it was mounted"

# A job that ignores TERM and one that does not.
s=$(slot stubborn)
ctl "$s" "start trap '' TERM; exec sleep 300"
n=$(slot nice)
ctl "$n" 'exec sleep 300'
wait_state "$s" running
wait_state "$n" running
kids="$(json "$s/status" .pid) $(json "$n/status" .pid)"

# systemctl reload: ExecReload upgrades the daemon in place and returns
# once the new program serves: the same pid, mount and runs.
mnt_id=$(findmnt -n -o ID --mountpoint "$MNT")
gen=$(metric spawnfs_upgrade_generation)
[ "$gen" = 0 ] || fail "upgrade generation $gen before any reload"
timeout 90 bash -c "$RELOAD" >"$WORK/reload.out" 2>&1 ||
	fail "ExecReload failed: $(cat "$WORK/reload.out")"
grep -q 'upgraded in place' "$WORK/reload.out" ||
	fail "ExecReload said: $(cat "$WORK/reload.out")"
metric_is spawnfs_upgrade_generation 1 ||
	fail "generation after the reload: $(metric spawnfs_upgrade_generation)"
metric_is 'spawnfs_upgrades_total{result="ok"}' 1 || fail "no upgrade counted"
metric_is spawnfs_daemon_pid "$DAEMON_PID" ||
	fail "daemon pid $(metric spawnfs_daemon_pid), not $DAEMON_PID"
kill -0 "$DAEMON_PID" || fail "the daemon is gone after the reload"
[ "$(findmnt -n -o ID --mountpoint "$MNT")" = "$mnt_id" ] ||
	fail "the mount changed in the reload"
[ "$(json "$s/status" .pid) $(json "$n/status" .pid)" = "$kids" ] ||
	fail "the runs changed in the reload: $kids"
state_is "$s" running || fail "$s is not running after the reload"
state_is "$n" running || fail "$n is not running after the reload"
ok "reload: ExecReload upgraded the daemon in place (pid $DAEMON_PID," \
	"mount $mnt_id and both runs kept)"

# systemctl stop: KillMode=mixed sends KillSignal to the main process only.
t0=$(now_ms)
kill -TERM "$DAEMON_PID"
wait_until "$stop_s" pid_dead "$DAEMON_PID"
took=$(($(now_ms) - t0))
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
[ "$rc" = 0 ] || fail "the daemon exited $rc on SIGTERM"
# shellcheck disable=SC2086
wait_dead 5 $kids
! is_mounted || fail "still mounted after the stop"
[ "$took" -ge $((grace - 200)) ] ||
	fail "stopped in ${took} ms: the stubborn child did not get its grace"
eval "$STOPPOST" || true
[ -d "$MNT" ] && ! is_mounted || fail "ExecStopPost after a clean stop"
ok "stop: SIGTERM to the daemon alone stopped both children (KILL after" \
	"kill_grace), unmounted and exited 0 in ${took} ms < ${stop_s} s"

# A crash leaves a dead mount; ExecStopPost detaches it, so that the
# restart's ExecStartPre (mkdir -p) works again.
service_start
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
is_mounted || fail "no dead mount after kill -9 (nothing to test)"
if eval "$PRE" 2>/dev/null; then
	fail "mkdir -p worked on a dead mount: ExecStopPost would not be needed"
fi
eval "$STOPPOST" || fail "ExecStopPost failed on the dead mount"
! is_mounted || fail "ExecStopPost left the dead mount"
eval "$PRE" || fail "ExecStartPre fails after ExecStopPost"
service_start
[ -f "$MNT/clone" ] || fail "the restarted tree has no clone"
kill -TERM "$DAEMON_PID"
wait_until 10 pid_dead "$DAEMON_PID"
wait "$DAEMON_PID" || fail "the restarted daemon exited $?"
DAEMON_PID=
ok "after kill -9, ExecStopPost detached the dead mount and the" \
	"service started again"

# ExecStopPost only ever detaches a FUSE mount.
out=$(timeout 20 unshare -m --propagation private bash -c '
	mount -t tmpfs spawnfs-ops "$1" || exit 90
	eval "$2" || true
	findmnt -n -o FSTYPE --mountpoint "$1"' ops "$MNT" "$STOPPOST") ||
	fail "the tmpfs check failed: $out"
[ "$out" = tmpfs ] || fail "ExecStopPost unmounted a tmpfs on $F: '$out'"
ok "ExecStopPost leaves a tmpfs on $F alone"
