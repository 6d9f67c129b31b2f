# An interrupted ctl write (README "Choices"): a write
# holding a start waits for the start's result; a signal the writer
# handles meanwhile (a shell's SIGCHLD, a trap) must not turn that result
# into EINTR, nor drop the lines after the start in the same write. A start that hangs still
# frees an interrupted writer, one grace second later, and goes on.
. "$(dirname "$0")/lib.sh"
mount_fs

# A second tree whose daemon is stopped: a start whose cwd is in it hangs
# in the child's chdir, before exec, until that daemon goes on.
stall_up

# writer SLOT CWD OUT: in the background, a perl that handles USR1 writes
# "cwd CWD", "exec sleep 30" and "kill" in one write(2) (a shell's printf
# would write line by line); OUT gets "trapped" for each USR1, then the
# write's status and error. Its pid in WRITER.
writer() {
	perl -e '$SIG{USR1} = sub { print STDERR "trapped\n" };
		open(my $f, ">>", "$ARGV[1]/ctl") or die "open: $!";
		my $n = syswrite($f, "cwd $ARGV[0]\nexec sleep 30\nkill\n");
		print STDERR defined $n ? "status 0\n" : "status 1: $!\n";' \
		"$2" "$1" 2>"$3" &
	WRITER=$!
}

# interrupted_write SLOT CWD OUT: writer's write parks on its start, gets
# USR1, and the stopped daemon goes on 0.2 s later (well within the grace
# second), so the start answers; then it stops again.
interrupted_write() {
	writer "$1" "$2" "$3"
	wait_until 10 metric_is spawnfs_parked_requests 1 ||
		fail "the write did not wait on its start"
	kill -USR1 "$WRITER"
	sleep 0.2
	kill -CONT "$STALL"
	wait_until 10 pid_dead "$WRITER" || fail "writer still waits"
	kill -STOP "$STALL"
	grep -q trapped "$3" || fail "the writer never got USR1: $(cat "$3")"
}

# 1. The start answers within the grace second: its own result.
s=$(slot graced)
interrupted_write "$s" "$M2/nowhere1" "$WORK/w1"
grep -q 'No such file or directory' "$WORK/w1" ||
	fail "write: want the start's ENOENT: $(cat "$WORK/w1")"
grep -q 'Interrupted' "$WORK/w1" && fail "write got EINTR: $(cat "$WORK/w1")"
json "$s/status" .error | grep -q 'nowhere1' ||
	fail "status.error: $(json "$s/status" .error)"
[ "$(metric spawnfs_interrupts_total)" = 0 ] ||
	fail "interrupts counted: $(metric spawnfs_interrupts_total)"
ok "interrupted, the write still fails with its start's own ENOENT"

# 2. A start that succeeds (by-pid answers once the daemon goes on): the
# write succeeds and the line after the start runs.
g=$(slot good)
interrupted_write "$g" "$M2/by-pid" "$WORK/w2"
grep -q 'status 0' "$WORK/w2" || fail "write: $(cat "$WORK/w2")"
[ "$(timeout 10 cat "$g/wait")" = 137 ] ||
	fail "the kill line after the start did not run: $(cat "$g/status")"
ok "interrupted, a good start's write succeeds and its later lines run"

# 3. A start that hangs: ^C frees the writer after the grace second.
h=$(slot hung)
writer "$h" "$M2/nowhere2" "$WORK/w3"
wait_until 10 metric_is spawnfs_parked_requests 1 ||
	fail "the write did not wait on its start"
t0=$(now_ms)
kill -USR1 "$WRITER"
wait_until 10 pid_dead "$WRITER" || fail "writer still waits"
dt=$(($(now_ms) - t0))
grep -q 'Interrupted system call' "$WORK/w3" ||
	fail "write: want EINTR: $(cat "$WORK/w3")"
[ "$dt" -ge 900 ] || fail "EINTR after $dt ms, before the grace second"
[ "$dt" -lt $((5000 * $(slow_factor))) ] || fail "EINTR after $dt ms"
[ "$(metric spawnfs_interrupts_total)" = 1 ] ||
	fail "interrupts: $(metric spawnfs_interrupts_total)"
ok "a hung start: EINTR $dt ms after the signal"
kill -CONT "$STALL"
wait_until 10 state_is "$h" failed || fail "hung start: $(json "$h/status" .state)"
json "$h/status" .error | grep -q 'nowhere2' ||
	fail "status.error: $(json "$h/status" .error)"
ok "the start went on and failed on its own once the cwd answered"
