# The manual pages: spawnfs(8) and spawnfs.ini(5) render without a single
# warning at 80 columns, and they cannot fall behind the code: every key
# of etc/spawnfs.ini and of config.c's key table is in spawnfs.ini(5);
# every ctl command of ctl.c, every file of the tree, every metrics family
# and every command-line flag is in spawnfs(8); both name the version.
. "$(dirname "$0")/lib.sh"

SRC=${SPAWNFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MAN8=$SRC/man/spawnfs.8
MAN5=$SRC/man/spawnfs.ini.5
[ -f "$MAN8" ] && [ -f "$MAN5" ] || fail "no manual pages in $SRC/man"
command -v man >/dev/null || fail "man is not installed (man-db)"

# render PAGE OUT: the page as text at 80 columns into OUT; any message
# from man or groff on stderr is a failure.
render() {
	local rc=0
	MANWIDTH=80 LC_ALL=C.UTF-8 timeout 30 man --warnings -l "$1" \
		>"$2.raw" 2>"$WORK/render.err" || rc=$?
	[ "$rc" = 0 ] || fail "man -l $1: exit $rc: $(cat "$WORK/render.err")"
	[ ! -s "$WORK/render.err" ] ||
		fail "man --warnings -l $1 warns: $(cat "$WORK/render.err")"
	col -bx <"$2.raw" >"$2"
	[ "$(wc -l <"$2")" -gt 50 ] || fail "$1 renders only $(wc -l <"$2") lines"
}
render "$MAN8" "$WORK/spawnfs.8.txt"
render "$MAN5" "$WORK/spawnfs.ini.5.txt"
ok "spawnfs.8 and spawnfs.ini.5 render with no warning at MANWIDTH=80"

# A page that warns must be caught: an unknown macro and a bad escape.
printf '.TH X 1\n.SH NAME\nx \\- y\n.NOSUCHMACRO\n\\[nosuchglyph]\n' \
	>"$WORK/bad.1"
MANWIDTH=80 timeout 30 man --warnings -l "$WORK/bad.1" >/dev/null \
	2>"$WORK/bad.err" || true
[ -s "$WORK/bad.err" ] || fail "man --warnings reports nothing for a bad page"
ok "man --warnings does report a broken page"

# section TEXT HEADING: the lines of one section (HEADING up to the next
# heading at column 0) of a rendered page.
section() {
	awk -v h="$2" '/^[A-Z]/ { on = ($0 == h) } on' "$1"
}

# The configuration keys: those the shipped file lists, and those the
# daemon knows (config.c's table), must agree and all be documented.
conf_keys=$(sed -n 's/^[[:space:]]*\([a-z_]*\)[[:space:]]*=.*/\1/p' \
	"$SRC/etc/spawnfs.ini" | sort -u)
table_keys=$(grep -oE '\{"[a-z]+", "[a-z_]+", CFG_T_' "$SRC/src/config.c" |
	cut -d'"' -f4 | sort -u)
[ "$(echo "$table_keys" | wc -l)" -ge 10 ] ||
	fail "found only these keys in config.c: $table_keys"
[ "$conf_keys" = "$table_keys" ] ||
	fail "etc/spawnfs.ini and config.c list different keys:
$(diff <(echo "$conf_keys") <(echo "$table_keys"))"
section "$WORK/spawnfs.ini.5.txt" KEYS >"$WORK/keys.txt"
for k in $table_keys; do
	grep -Eq "^ {7}$k \(default " "$WORK/keys.txt" ||
		fail "spawnfs.ini.5 does not describe the key $k under KEYS"
done
sections=$(grep -oE '\{"[a-z]+", "[a-z_]+", CFG_T_' "$SRC/src/config.c" |
	cut -d'"' -f2 | sort -u)
for s in $sections env; do
	grep -Eq "^   \[$s\]$" "$WORK/keys.txt" ||
		fail "spawnfs.ini.5 has no [$s] subsection"
	grep -q "^\[$s\]" "$SRC/etc/spawnfs.ini" ||
		fail "etc/spawnfs.ini has no [$s] section"
done
ok "every key ($(echo $table_keys | wc -w)) and section is in spawnfs.ini.5"

# Every ctl command: the verb table of ctl.c, and "start", parsed apart.
verbs=$(grep -oE '^[[:space:]]*\{"[a-z]+", CTL_[A-Z]+,' "$SRC/src/ctl.c" |
	cut -d'"' -f2)
grep -q '"start"' "$SRC/src/ctl.c" || fail "ctl.c no longer names start"
[ "$(echo "$verbs" | wc -l)" -ge 12 ] || fail "found only: $verbs"
section "$WORK/spawnfs.8.txt" "CTL COMMANDS" >"$WORK/ctl.txt"
for v in start $verbs; do
	grep -Eq "^ {7}$v( |$)" "$WORK/ctl.txt" ||
		fail "spawnfs.8 does not describe the ctl command '$v'"
done
ok "every ctl command (start $(echo $verbs)) is in spawnfs.8"

# Every file of a slot and of the root, and the metrics families.
files=$(grep -oE '\[KIND_[A-Z]+\] = \{"[a-z]+"' "$SRC/src/kind.c" | cut -d'"' -f2)
[ "$(echo "$files" | wc -l)" -ge 7 ] || fail "found only these files: $files"
section "$WORK/spawnfs.8.txt" "THE TREE" >"$WORK/tree.txt"
for f in $files; do
	grep -Eq "^ {7}(NAME/[a-z]+ and )?NAME/$f( |$)" "$WORK/tree.txt" ||
		fail "spawnfs.8 does not describe the slot file $f"
done
for f in clone metrics by-pid/PID; do
	grep -Eq "^ {7}$f( |$)" "$WORK/tree.txt" ||
		fail "spawnfs.8 does not describe $f"
done
fams=$(grep -oE 'family\(b, "[a-z_]+"' "$SRC/src/metrics.c" | cut -d'"' -f2)
[ -n "$fams" ] || fail "no metrics family found in metrics.c"
for m in $fams; do
	grep -q "$m" "$WORK/tree.txt" ||
		fail "spawnfs.8 does not describe the metric $m"
done
ok "every file ($(echo $files) clone metrics by-pid) and" \
	"$(echo $fams | wc -w) metrics families are in spawnfs.8"

# Every flag of the daemon's usage text, and every section a reader needs.
flags=$("$SPAWNFS" -h | grep -oE '^  -[a-zA-Z]' | tr -d ' ')
[ "$(echo "$flags" | wc -l)" -ge 6 ] || fail "spawnfs -h shows only: $flags"
section "$WORK/spawnfs.8.txt" OPTIONS >"$WORK/opts.txt"
for f in $flags; do
	grep -Eq "^ {7}$f( |,|$)" "$WORK/opts.txt" ||
		fail "spawnfs.8 does not describe the option $f"
done
for o in allow_other default_permissions ro; do
	grep -Eq "^ {14}$o( |$)" "$WORK/opts.txt" ||
		fail "spawnfs.8 does not describe the mount option $o"
done
for h in NAME SYNOPSIS DESCRIPTION OPTIONS "THE TREE" "CTL COMMANDS" \
	LIMITS FILES SIGNALS "EXIT STATUS" EXAMPLES SECURITY "SEE ALSO"; do
	grep -qx "$h" "$WORK/spawnfs.8.txt" || fail "spawnfs.8 has no $h section"
done
for h in NAME SYNOPSIS DESCRIPTION FORMAT KEYS OVERRIDES FILES "SEE ALSO"; do
	grep -qx "$h" "$WORK/spawnfs.ini.5.txt" ||
		fail "spawnfs.ini.5 has no $h section"
done
ok "every flag of spawnfs -h ($(echo $flags)) and mount option is in spawnfs.8"

# The errno of each documented limit is named where the limit is.
section "$WORK/spawnfs.8.txt" LIMITS >"$WORK/limits.txt"
for e in ENOSPC EMFILE E2BIG ENAMETOOLONG EINVAL EEXIST EROFS EPERM; do
	grep -q "$e" "$WORK/limits.txt" || fail "LIMITS does not name $e"
done
ok "LIMITS names ENOSPC EMFILE E2BIG ENAMETOOLONG EINVAL EEXIST EROFS EPERM"

# The version in the pages is the project's.
version=$("$SPAWNFS" -V | awk '{ print $2 }')
for p in "$MAN8" "$MAN5"; do
	grep -q "^\.TH .* \"spawnfs $version\" " "$p" ||
		fail "$(basename "$p") does not say spawnfs $version in .TH"
done
ok "both pages name spawnfs $version"
