# The documents agree with the code and with each other: no reference to
# a design file the repository does not hold; the man page's container
# bind example binds the parent directory with rslave as README does; one
# set of 9P loopback figures; the man page does not put runs in "the
# daemon's control group"; README's table of files that wait names the
# slot that never ran, the snapshots and restarting. Needs no mount.
. "$(dirname "$0")/lib.sh"
SRC=${SPAWNFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$SRC"
texts=$(find README.md man src include etc scripts tests -type f \
	\( -name '*.md' -o -name '*.[ch]' -o -name '*.sh' -o -name '*.ini' \
	-o -name '*.[58]' -o -name '*.service' -o -name '*.yaml' \))
for name in DESIGN FUSE-NOTES STYLE; do
	[ -e "$name.md" ] && continue
	# shellcheck disable=SC2086
	hits=$(grep -ln "$name\(\.md\)\? §\|$name\.md\|$name \"" $texts | grep -v t_docs.sh) &&
		fail "references to $name.md, which is not here: $hits"
done
ok "no reference to a design file outside the repository"

grep -q 'mount \\-\\-rbind /run /srv/ct/run; mount \\-\\-make\\-rslave' man/spawnfs.8 ||
	fail "the man page's bind example does not bind the parent"
grep -q "mount --rbind /run /host-run; mount --make-rslave /host-run" README.md ||
	fail "README's bind example changed"
grep -q 'rbind.*--make-rslave /run/spawn\|make\\-rslave /run/spawn' man/spawnfs.8 README.md &&
	fail "a bind example binds the mount point itself"
ok "README and spawnfs(8) bind the parent directory, rslave"

n=$(grep -c 'MiB/s' <(grep -i '9P\|diodcat' README.md man/spawnfs.8))
[ "$n" = 1 ] || fail "9P throughput figures given $n times: $(grep -i '9P\|diodcat' README.md man/spawnfs.8 | grep 'MiB/s')"
ok "one set of 9P loopback figures"

grep -q "daemon's control group" man/spawnfs.8 README.md &&
	fail "runs said to be in the daemon's control group"
grep -q '| `stdout`, `stderr` of a slot that never ran | until its first run ends |' README.md ||
	fail "README's table does not say stdout/stderr of a new slot wait"
grep -q '`stdout.now`, `stderr.now`, `events.now` | never' README.md ||
	fail "README's table does not name the snapshots"
grep -q '| `wait` | the slot is `new`, `running`, `stopped`, `frozen` or `restarting` |' README.md ||
	fail "README's table of wait"
ok "runs are in their own cgroup leaf; the table of waiting files is whole"
