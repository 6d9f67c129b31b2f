# Shared by the t_net_*.sh tests: diod exporting $MNT on a free loopback
# port with the command line of etc/systemd/spawnfs-export@.service, the
# remote clients (diod's diodcat and diodls, and ninep.py for writes), and
# a cleanup that kills diod and every client before the tree is
# unmounted. Source it after lib.sh.

SRC=${SPAWNFS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
EXPORT_UNIT=$SRC/etc/systemd/spawnfs-export@.service
NINEP=$SRC/tests/integration/ninep.py
DIOD_PID=
DIOD_LOG=$WORK/diod.log
NET_PIDS=
PORT=

# net_require: skip (77) unless diod and its clients are installed.
net_require() {
	local t
	for t in diod diodcat diodls python3; do
		if ! command -v "$t" >/dev/null; then
			echo "SKIP: $t is not installed (bash scripts/deps.sh)"
			exit 77
		fi
	done
	[ -f "$EXPORT_UNIT" ] || fail "no $EXPORT_UNIT"
}

# net_free_port: a TCP port on 127.0.0.1 that nothing listens on now.
net_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# net_unit_cmd LISTEN THREADS OPTS: the unit's ExecStart as systemd would
# run it for the instance $MNT with that environment.
net_unit_cmd() {
	local c
	c=$(sed -n 's/^ExecStart=//p' "$EXPORT_UNIT")
	[ -n "$c" ] || fail "no ExecStart in $EXPORT_UNIT"
	c=${c//%f/$MNT}
	c=${c//\$\{LISTEN\}/$1}
	c=${c//\$\{THREADS\}/$2}
	c=${c//\$OPTS/$3}
	case $c in
	*%* | *\$*) fail "ExecStart holds what this test does not expand: $c" ;;
	esac
	echo "$c"
}

# net_listening: diod accepts connections on $PORT.
net_listening() {
	ss -Htln "sport = :$PORT" | grep -q .
}

# net_start THREADS [OPTS]: start diod with the unit's command line on a
# free loopback port (PORT), and wait until it listens. Skips (77) if diod
# cannot start here.
net_start() {
	local argv t=0
	PORT=$(net_free_port)
	read -ra argv <<<"$(net_unit_cmd "127.0.0.1:$PORT" "$1" "${2:-}")"
	echo "diod: ${argv[*]}" >>"$DIOD_LOG"
	"${argv[@]}" 2>>"$DIOD_LOG" &
	DIOD_PID=$!
	until net_listening; do
		if ! kill -0 "$DIOD_PID" 2>/dev/null; then
			DIOD_PID=
			echo "SKIP: diod did not start: $(tail -n 3 "$DIOD_LOG")"
			exit 77
		fi
		t=$((t + 1))
		[ "$t" -lt 200 ] || fail "diod does not listen on $PORT after 10 s"
		sleep 0.05
	done
	net_clients
}

# net_stop: stop diod (TERM, KILL after 5 s).
net_stop() {
	local pid=$DIOD_PID t=0
	[ -n "$pid" ] || return 0
	DIOD_PID=
	kill -TERM "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && [ $t -lt 100 ]; do
		sleep 0.05
		t=$((t + 1))
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# net_bg CMD...: run the command CMD (not a function: its pid must be
# the client's own) in the background, to be killed by the cleanup;
# BG is its pid.
net_bg() {
	"$@" &
	BG=$!
	NET_PIDS="$NET_PIDS $BG"
}

# net_cleanup RC: kill every client and diod (they hold files open on the
# mount), then let lib.sh unmount.
net_cleanup() {
	local p
	for p in $NET_PIDS; do
		kill -KILL "$p" 2>/dev/null || true
		kill -CONT "$p" 2>/dev/null || true
	done
	for p in $NET_PIDS; do
		wait "$p" 2>/dev/null || true
	done
	net_stop
	return "$1"
}

# The remote clients as commands (for timeout, which runs no function):
# "${DIODCAT[@]}" PATH, "${DIODLS[@]}" PATH, "${NINEPW[@]}" PATH <DATA.
net_clients() {
	DIODCAT=(diodcat -s "127.0.0.1:$PORT" -a "$MNT")
	DIODLS=(diodls -s "127.0.0.1:$PORT" -a "$MNT")
	NINEPW=(python3 "$NINEP" -s "127.0.0.1:$PORT" -a "$MNT" write)
}

# rcat PATH...: diodcat of files of the tree (paths relative to $MNT).
rcat() {
	diodcat -s "127.0.0.1:$PORT" -a "$MNT" "$@"
}

# rls PATH: diodls of a directory of the tree.
rls() {
	diodls -s "127.0.0.1:$PORT" -a "$MNT" "$@"
}

# rwrite PATH [MSIZE]: write standard input to a file of the tree over
# 9P, cut into Twrite messages as the kernel client cuts a write(2);
# prints how many messages it took.
rwrite() {
	python3 "$NINEP" -s "127.0.0.1:$PORT" -a "$MNT" -m "${2:-65536}" \
		write "$1"
}

# ms_since T0: milliseconds since now_ms printed T0.
ms_since() {
	echo $(($(now_ms) - $1))
}
