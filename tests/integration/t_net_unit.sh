# The export unit etc/systemd/spawnfs-export@.service: systemd-analyze
# verify passes it beside spawnfs@.service (systemd is not PID 1 here, so
# the check reads the files) and catches a broken copy; it binds to the
# mount's unit, listens on loopback and exports %f only. Then its exact
# command line with authentication on (no -n): munged runs in a private
# mount namespace (its socket and key on a tmpfs there), diodls attaches
# through MUNGE as root, and an attach claiming another uid is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netlib.sh"
command -v systemd-analyze >/dev/null || {
	echo "SKIP: systemd-analyze is not installed"
	exit 77
}
net_require
if [ -n "${SPAWNFS_WRAP:-}" ]; then
	echo "note: SPAWNFS_WRAP ignored: this test checks the unit, not the daemon"
	unset SPAWNFS_WRAP
fi

# --- systemd-analyze verify
mkdir -p "$WORK/units" "$WORK/man/man8"
cp "$EXPORT_UNIT" "$SRC/etc/systemd/spawnfs@.service" "$WORK/units/"
cp "$SRC/man/spawnfs.8" "$WORK/man/man8/"
# spawnfs@.service names the installed binary; point it at the built one.
sed -i "s|^\(Exec[A-Za-z]*=\)/usr/bin/spawnfs |\1$SPAWNFS |" \
	"$WORK/units/spawnfs@.service"
verify() {
	local rc=0
	(cd "$WORK/units" && MANPATH=$WORK/man: SYSTEMD_LOG_COLOR=0 \
		timeout 60 systemd-analyze verify "$1") >"$WORK/verify.out" 2>&1 ||
		rc=$?
	return $rc
}
verify ./spawnfs-export@run-spawn.service ||
	fail "systemd-analyze verify: $(cat "$WORK/verify.out")"
[ ! -s "$WORK/verify.out" ] ||
	fail "systemd-analyze verify warns: $(cat "$WORK/verify.out")"
sed 's/^KillMode=.*/KillMode=nonsense/; s|^ExecStart=/usr/sbin/diod |ExecStart=/nonexistent/diod |' \
	"$WORK/units/spawnfs-export@.service" >"$WORK/units/bad-export@.service"
! verify ./bad-export@run-spawn.service || fail "verify passed a broken unit"
grep -q nonsense "$WORK/verify.out" ||
	fail "verify said nothing of KillMode=nonsense: $(cat "$WORK/verify.out")"
ok "systemd-analyze verify passes spawnfs-export@run-spawn.service" \
	"silently and catches a broken copy"

unit_key() {
	sed -n "s/^$1=//p" "$EXPORT_UNIT" | head -n 1
}
[ "$(unit_key BindsTo)" = 'spawnfs@%i.service' ] || fail "BindsTo=$(unit_key BindsTo)"
unit_key After | grep -qw 'spawnfs@%i.service' || fail "After=$(unit_key After)"
unit_key Environment | grep -qw 'LISTEN=127.0.0.1:564' ||
	fail "LISTEN is not loopback: $(unit_key Environment)"
unit_key Environment | grep -qw 'OPTS=' && ! unit_key Environment | grep -q 'OPTS=-n' ||
	fail "authentication is off by default: $(unit_key Environment)"
cmd=$(net_unit_cmd 127.0.0.1:564 64 "")
[ "$(echo "$cmd" | grep -o ' -e ' | wc -l)" = 1 ] &&
	echo "$cmd" | grep -q -- " -e $MNT\( \|$\)" && echo "$cmd" | grep -q -- ' -c /dev/null' ||
	fail "the unit does not export %f alone: $cmd"
ok "BindsTo and After spawnfs@%i.service; LISTEN=127.0.0.1:564, MUNGE on," \
	"only %f exported: $cmd"

# --- The unit's command line with MUNGE, munged in a private namespace
mount_fs
mkdir -p "$WORK/munge"
chmod 0711 "$WORK"
made_run_munge=
if [ ! -d /run/munge ]; then
	mkdir /run/munge
	made_run_munge=1
fi
PORT=$(net_free_port)
cat >"$WORK/munge.sh" <<'EOF'
set -eu
mnt=$1 port=$2 dir=$3 cmd=$4
mount -t tmpfs -o mode=0755 spawnfs-munge /run/munge
chown munge:munge /run/munge "$dir"
chmod 0700 "$dir"
runuser -u munge -- mungekey -c -k "$dir/munge.key"
runuser -u munge -- munged -F --key-file="$dir/munge.key" \
	--log-file="$dir/munged.log" --seed-file="$dir/seed" \
	--pid-file=/run/munge/munged.pid 2>"$dir/munged.err" &
mp=$!
read -ra argv <<<"$cmd"
t=0
until [ -S /run/munge/munge.socket.2 ]; do
	t=$((t + 1))
	[ $t -lt 200 ] || { echo "munged did not start: $(cat "$dir/munged.err")"; exit 77; }
	sleep 0.05
done
"${argv[@]}" 2>"$dir/diod.err" &
dp=$!
trap 'kill $dp $mp 2>/dev/null; wait' EXIT
t=0
until ss -Htln "sport = :$port" | grep -q .; do
	t=$((t + 1))
	[ $t -lt 200 ] || { echo "diod did not listen: $(cat "$dir/diod.err")"; exit 1; }
	sleep 0.05
done
timeout 20 diodls -s "127.0.0.1:$port" -a "$mnt" / >"$dir/ls" 2>&1 ||
	{ echo "diodls with MUNGE: $(cat "$dir/ls")"; exit 1; }
grep -qx clone "$dir/ls" || { echo "diodls lists $(cat "$dir/ls")"; exit 1; }
if timeout 20 diodls -u 65534 -s "127.0.0.1:$port" -a "$mnt" / >"$dir/ls2" 2>&1; then
	echo "an attach as uid 65534 with root's credential worked"
	exit 1
fi
grep -q 'Operation not permitted' "$dir/ls2" || { echo "uid 65534: $(cat "$dir/ls2")"; exit 1; }
EOF
rc=0
timeout 60 unshare -m --propagation private bash "$WORK/munge.sh" "$MNT" \
	"$PORT" "$WORK/munge" "$(net_unit_cmd "127.0.0.1:$PORT" 64 "")" \
	>"$WORK/munge.out" 2>&1 || rc=$?
[ -z "$made_run_munge" ] || rmdir /run/munge
if [ "$rc" = 77 ]; then
	echo "SKIP: $(cat "$WORK/munge.out")"
	exit 77
fi
[ "$rc" = 0 ] || fail "MUNGE export ($rc): $(cat "$WORK/munge.out")"
ok "the unit's own command line (MUNGE, no -n) served diodls through munged;" \
	"an attach claiming uid 65534 with root's credential got EPERM"
