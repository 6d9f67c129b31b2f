# status tells the truth: a pty run says stdin "pty"; a
# leader stopped by a signal is "stopped" and "running" again after CONT
# (TSTP, TTIN and TTOU from outside are discarded by the kernel: a run is
# an orphaned process group; a program that handles TSTP stops itself);
# stop on a stopped run does not wait out the grace period; status.error
# is cleared by the next successful start; an unknown command names
# itself; without cwd a run starts in its user's HOME (or /), never in
# the daemon's directory; `env -` clears the env and unset lines.
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/daemon-cwd"
cd "$WORK/daemon-cwd"
mount_fs

s=$(slot pty)
ctl "$s" 'pty 80x24' 'exec sleep 100'
wait_until 10 state_is "$s" running
[ "$(json "$s/status" .stdin)" = pty ] || fail "pty stdin: $(cat "$s/status")"
ctl "$s" kill
wait_for "$s" 137 "pty"
ok "a pty run shows stdin pty"

s=$(slot stopme)
ctl "$s" 'exec sleep 100'
wait_until 10 state_is "$s" running
pid=$(json "$s/status" .pid)
for i in 1 2; do
	kill -STOP "$pid"
	wait_until 10 state_is "$s" stopped
	kill -CONT "$pid"
	wait_until 10 state_is "$s" running
done
ctl "$s" 'signal STOP'
wait_until 10 state_is "$s" stopped
grep -qx 'spawnfs_slots{state="stopped"} 1' "$MNT/metrics" ||
	fail "metrics: $(grep state= "$MNT/metrics")"
ok "SIGSTOP: stopped; SIGCONT: running"

# A job that handles TSTP as shells and editors do: it stops itself.
t=$(slot tstp)
ctl "$t" "start trap 'kill -STOP \$\$' TSTP; while :; do sleep 0.1; done"
wait_until 10 state_is "$t" running
ctl "$t" 'signal TSTP'
wait_until 10 state_is "$t" stopped
ctl "$t" 'signal CONT'
wait_until 10 state_is "$t" running
ctl "$t" kill
wait_for "$t" 137 "tstp"
ok "a job stopping itself on TSTP: stopped, then running after CONT"

# stop with a long grace: TERM then CONT, so it ends by TERM at once.
t0=$(now_ms)
ctl "$s" 'stop 30'
wait_for "$s" 143 "stop of a stopped run"
t1=$(now_ms)
[ $((t1 - t0)) -lt $(slow_ms 5000) ] || fail "stop took $((t1 - t0)) ms"
[ "$(json "$s/status" .signal)" = TERM ] || fail "signal: $(cat "$s/status")"
ok "stop on a stopped run ends it by TERM in $((t1 - t0)) ms"

s=$(slot err)
ctl_fails "$s" "No such file or directory" 'exec /nonexistent/prog'
[ "$(json "$s/status" .error)" != null ] || fail "no error after a failed start"
ctl "$s" 'exec true'
wait_for "$s" 0 "err"
[ "$(json "$s/status" .error)" = null ] || fail "error kept: $(cat "$s/status")"
timeout 5 cat "$s/events" >"$WORK/ev"
jq -s -e 'any(.[]; .type == "error")' "$WORK/ev" >/dev/null || fail "no error event: $(cat "$WORK/ev")"
ok "a successful start clears status.error (events keep it)"

s=$(slot bogus)
ctl_fails "$s" "Invalid argument" 'bogus a b'
case $(json "$s/status" .error) in
*'unknown command "bogus"'*) ;;
*) fail "error: $(json "$s/status" .error)" ;;
esac
ok "an unknown command names itself"

home=$(getent passwd "$(id -un)" | cut -d: -f6)
[ -d "$home" ] || home=/
s=$(slot cwd)
ctl "$s" 'exec pwd'
wait_for "$s" 0 "pwd"
[ "$(cat "$s/stdout")" = "$home" ] ||
	fail "cwd: '$(cat "$s/stdout")', want '$home' (daemon in $PWD)"
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
	nh=$(getent passwd nobody | cut -d: -f6)
	[ -d "$nh" ] || nh=/
	s=$(slot cwd-nobody)
	ctl "$s" 'user nobody' 'exec pwd'
	wait_for "$s" 0 "pwd as nobody"
	[ "$(cat "$s/stdout")" = "$nh" ] || fail "nobody's cwd: $(cat "$s/stdout")"
fi
ok "without cwd: the user's HOME (or /), not the daemon's directory"

s=$(slot envs)
i=0
{
	while [ $i -lt 1023 ]; do
		echo "env V$i=$i"
		i=$((i + 1))
	done
} >"$s/ctl"
ctl "$s" 'unset LOGNAME'
ctl_fails "$s" "Argument list too long" 'env ONE_MORE=1'
ctl "$s" 'env -'
ctl "$s" 'env A=1'
[ "$(timeout 5 cat "$s/ctl")" = "env A=1" ] || fail "read-back: $(head -3 "$s/ctl")"
ctl "$s" 'exec sh -c "echo $A ${V1-none} ${LOGNAME-unset}"'
wait_for "$s" 0 "envs"
case $(cat "$s/stdout") in
"1 none "*) ;;
*) fail "env after env -: $(cat "$s/stdout")" ;;
esac
ok "env - clears the env and unset lines; the limit is recovered"
