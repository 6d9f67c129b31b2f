# The system install: "cmake --install BUILD --prefix /usr" (into a
# DESTDIR) puts the binary, the configuration the daemon reads, the
# systemd unit and both manual pages where a Debian system looks for
# them, with the right modes; the installed pages render, the installed
# configuration mounts a working tree, an edited configuration survives a
# reinstall, and a /usr/local install still puts the configuration in
# /etc/spawnfs and points its unit at /usr/local/bin.
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
has_mode "$BIN" 755
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
	./usr/share/man/man5/spawnfs.ini.5 ./usr/share/man/man8/spawnfs.8 |
	sort >"$WORK/want"
cmp -s "$WORK/files" "$WORK/want" ||
	fail "installed files: $(diff "$WORK/want" "$WORK/files")"
ok "--prefix /usr: /usr/bin/spawnfs 755, /etc/spawnfs/spawnfs.ini 644" \
	"(= etc/spawnfs.ini), /usr/lib/systemd/system/spawnfs@.service and" \
	"both pages 644, nothing else"

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

# --prefix /usr/local: the configuration is still where the daemon reads
# it, and the unit runs the /usr/local binary.
install_to "$WORK/local" /usr/local
has_mode "$WORK/local/usr/local/bin/spawnfs" 755
has_mode "$WORK/local/etc/spawnfs/spawnfs.ini" 644
[ ! -e "$WORK/local/usr/local/etc" ] || fail "a config went to /usr/local/etc"
has_mode "$WORK/local/usr/local/lib/systemd/system/spawnfs@.service" 644
has_mode "$WORK/local/usr/local/share/man/man8/spawnfs.8" 644
grep -qx 'ExecStart=/usr/local/bin/spawnfs -f -c /etc/spawnfs/spawnfs.ini -o allow_other %f' \
	"$WORK/local/usr/local/lib/systemd/system/spawnfs@.service" ||
	fail "the /usr/local unit: $(grep ExecStart= \
		"$WORK/local/usr/local/lib/systemd/system/spawnfs@.service")"
ok "--prefix /usr/local: /etc/spawnfs/spawnfs.ini, and a unit running" \
	"/usr/local/bin/spawnfs from /usr/local/lib/systemd/system"
