# The system install: "cmake --install BUILD --prefix /usr" (into a
# DESTDIR) puts the binary, the configuration, both systemd units, both
# manual pages and the Kubernetes examples where a Debian system looks for
# them, with the right modes; the installed pages render, the installed
# configuration mounts a working tree, an edited configuration survives a
# reinstall. The configuration follows the prefix (<sysconfdir>/spawnfs:
# /etc for /usr, /usr/local/etc for /usr/local): the daemon's default -c
# is compiled from the configured prefix, the units name the installed
# file, and installing under another prefix than the configured one warns.
. "$(dirname "$0")/lib.sh"

SRC=${SPAWNFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=$(dirname "$SPAWNFS")
[ -f "$BUILD/cmake_install.cmake" ] ||
	fail "$BUILD (from \$SPAWNFS) is not a CMake build directory"
ROOT=$WORK/root

# install DESTDIR PREFIX: cmake --install of the build, bounded.
install_to() {
	DESTDIR=$1 timeout 60 cmake --install "$BUILD" --prefix "$2" \
		>"$WORK/install.log" 2>&1 ||
		fail "cmake --install --prefix $2: $(cat "$WORK/install.log")"
}

# has_mode FILE MODE: FILE is a regular file with exactly MODE.
has_mode() {
	[ -f "$1" ] && [ ! -L "$1" ] || fail "not installed: ${1#"$WORK"}"
	[ "$(stat -c %a "$1")" = "$2" ] ||
		fail "${1#"$WORK"}: mode $(stat -c %a "$1"), wanted $2"
}

# same FILE SOURCE: FILE is byte for byte the source file.
same() {
	cmp -s "$1" "$2" || fail "${1#"$WORK"} differs from ${2#"$SRC"/}"
}

install_to "$ROOT" /usr
BIN=$ROOT/usr/bin/spawnfs
INI=$ROOT/etc/spawnfs/spawnfs.ini
UNIT=$ROOT/usr/lib/systemd/system/spawnfs@.service
MAN8=$ROOT/usr/share/man/man8/spawnfs.8
MAN5=$ROOT/usr/share/man/man5/spawnfs.ini.5
EXPORT=$ROOT/usr/lib/systemd/system/spawnfs-export@.service
K8S=$ROOT/usr/share/doc/spawnfs/examples/k8s
has_mode "$BIN" 755
has_mode "$EXPORT" 644
has_mode "$K8S/spawnfs-daemonset.yaml" 644
has_mode "$K8S/spawnfs-client.yaml" 644
same "$EXPORT" "$SRC/etc/systemd/spawnfs-export@.service"
same "$K8S/spawnfs-client.yaml" "$SRC/etc/k8s/spawnfs-client.yaml"
has_mode "$INI" 644
has_mode "$UNIT" 644
has_mode "$MAN8" 644
has_mode "$MAN5" 644
same "$INI" "$SRC/etc/spawnfs.ini"
same "$UNIT" "$SRC/etc/systemd/spawnfs@.service"
same "$MAN8" "$SRC/man/spawnfs.8"
same "$MAN5" "$SRC/man/spawnfs.ini.5"
[ "$("$BIN" -V)" = "$("$SPAWNFS" -V)" ] || fail "installed -V: $("$BIN" -V)"
# Nothing else: no stray file, nothing outside /usr and /etc/spawnfs.
( cd "$ROOT" && find . -type f | sort ) >"$WORK/files"
printf '%s\n' ./etc/spawnfs/spawnfs.ini ./usr/bin/spawnfs \
	./usr/lib/systemd/system/spawnfs@.service \
	./usr/lib/systemd/system/spawnfs-export@.service \
	./usr/share/doc/spawnfs/examples/k8s/spawnfs-client.yaml \
	./usr/share/doc/spawnfs/examples/k8s/spawnfs-daemonset.yaml \
	./usr/share/man/man5/spawnfs.ini.5 ./usr/share/man/man8/spawnfs.8 |
	sort >"$WORK/want"
cmp -s "$WORK/files" "$WORK/want" ||
	fail "installed files: $(diff "$WORK/want" "$WORK/files")"
ok "--prefix /usr: /usr/bin/spawnfs 755, /etc/spawnfs/spawnfs.ini 644" \
	"(= etc/spawnfs.ini), both units in /usr/lib/systemd/system, both" \
	"pages and the k8s examples 644, nothing else"

# The installed pages render, and man finds them by name and section.
for p in "$MAN8" "$MAN5"; do
	MANWIDTH=80 timeout 30 man --warnings -l "$p" >"$WORK/page" \
		2>"$WORK/page.err" || fail "man -l ${p#"$ROOT"}: $(cat "$WORK/page.err")"
	[ ! -s "$WORK/page.err" ] ||
		fail "man -l ${p#"$ROOT"} warns: $(cat "$WORK/page.err")"
	grep -q SYNOPSIS "$WORK/page" || fail "${p#"$ROOT"} renders no SYNOPSIS"
done
[ "$(man -M "$ROOT/usr/share/man" -w 8 spawnfs)" = "$MAN8" ] ||
	fail "man -w 8 spawnfs: $(man -M "$ROOT/usr/share/man" -w 8 spawnfs 2>&1)"
[ "$(man -M "$ROOT/usr/share/man" -w 5 spawnfs.ini)" = "$MAN5" ] ||
	fail "man -w 5 spawnfs.ini: $(man -M "$ROOT/usr/share/man" -w 5 spawnfs.ini 2>&1)"
ok "man -l renders both installed pages; man finds spawnfs(8), spawnfs.ini(5)"

# The installed binary with the installed configuration, as shipped,
# mounts a tree that runs a job.
cp "$INI" "$CONF"
built=$SPAWNFS
SPAWNFS=$BIN
mount_fs
SPAWNFS=$built
s=$(slot job)
ctl "$s" 'start echo installed; exit 4'
[ "$(timeout 10 cat "$s/wait")" = 4 ] || fail "job: wait"
[ "$(timeout 10 cat "$s/stdout")" = installed ] || fail "job: stdout"
unmount_fs || fail "daemon exit status $?"
ok "the installed binary and spawnfs.ini mount a tree that runs a job"

# A reinstall keeps an edited configuration and refreshes the rest.
printf '\n[stream]\nbuffer_size = 1M\n' >>"$INI"
cp "$INI" "$WORK/edited.ini"
rm "$MAN8"
install_to "$ROOT" /usr
same "$INI" "$WORK/edited.ini"
has_mode "$MAN8" 644
grep -q "Keeping: $INI" "$WORK/install.log" ||
	fail "the reinstall did not say it kept the configuration: $(cat "$WORK/install.log")"
ok "a reinstall keeps an edited /etc/spawnfs/spawnfs.ini"

# --prefix /usr/local: the configuration goes to /usr/local/etc/spawnfs,
# both units name it and the /usr/local binary.
install_to "$WORK/local" /usr/local
L=$WORK/local/usr/local
has_mode "$L/bin/spawnfs" 755
has_mode "$L/etc/spawnfs/spawnfs.ini" 644
[ ! -e "$WORK/local/etc" ] || fail "a /usr/local install wrote to /etc"
has_mode "$L/lib/systemd/system/spawnfs@.service" 644
has_mode "$L/lib/systemd/system/spawnfs-export@.service" 644
has_mode "$L/share/man/man8/spawnfs.8" 644
grep -qx 'ExecStart=/usr/local/bin/spawnfs -f -c /usr/local/etc/spawnfs/spawnfs.ini -o allow_other %f' \
	"$L/lib/systemd/system/spawnfs@.service" ||
	fail "the /usr/local unit: $(grep ExecStart= "$L/lib/systemd/system/spawnfs@.service")"
grep -qx 'EnvironmentFile=-/usr/local/etc/spawnfs/export-%i.env' \
	"$L/lib/systemd/system/spawnfs-export@.service" ||
	fail "the /usr/local export unit: $(grep EnvironmentFile= "$L/lib/systemd/system/spawnfs-export@.service")"
grep -q 'Delegate=yes' "$L/lib/systemd/system/spawnfs@.service" ||
	fail "the unit does not delegate the cgroup subtree"
ok "--prefix /usr/local: /usr/local/etc/spawnfs/spawnfs.ini; units name it" \
	"and /usr/local/bin/spawnfs; Delegate=yes"

# The daemon's default -c follows the configured prefix: this build's,
# and a build configured for /usr (configured only: the flags say it).
cached=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
want=$cached/etc/spawnfs/spawnfs.ini
[ "$cached" = /usr ] && want=/etc/spawnfs/spawnfs.ini
"$SPAWNFS" --help | grep -qF "(default $want)" ||
	fail "--help of a build for $cached: $("$SPAWNFS" --help | grep default)"
mkdir "$WORK/b-usr"
timeout 120 cmake -S "$SRC" -B "$WORK/b-usr" -DCMAKE_INSTALL_PREFIX=/usr \
	-DSPAWNFS_TESTS=OFF >"$WORK/cfg.log" 2>&1 || fail "configure: $(tail -n 5 "$WORK/cfg.log")"
def=$(grep -o 'CFG_DEFAULT_PATH=[^ ]*' "$WORK/b-usr/compile_commands.json" |
	head -n 1)
case $def in
*/usr/*) fail "a build for /usr reads $def" ;;
*'/etc/spawnfs/spawnfs.ini'*) ;;
*) fail "a build for /usr reads $def" ;;
esac
# Installing under another prefix than the configured one says so.
if [ "$cached" != /usr ]; then
	install_to "$WORK/other" /usr
	grep -q "spawnfs reads $want by default" "$WORK/install.log" ||
		fail "no warning for --prefix /usr: $(cat "$WORK/install.log")"
fi
ok "default configuration: $want for this build (prefix $cached), /etc/spawnfs for /usr"
