# Shared helpers for the benchmark scripts in bench/. Source it, do not run it:
#	. "$(dirname "$0")/lib.sh"
# It sets BENCH_ROOT (the source tree) and BENCH_BUILD (its build/ directory).
# Timing uses bash's own `time`; peak RSS needs GNU time (/usr/bin/time,
# Debian package "time").

set -euo pipefail
# Without this, a failure inside $(...) would not stop the script.
shopt -s inherit_errexit
# Decimal points in `time` and awk output, whatever the user's locale.
export LC_ALL=C

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_BUILD=$BENCH_ROOT/build
BENCH_TMP=

bench_die()
{
	printf '%s: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

bench_say()
{
	printf '%s\n' "$*"
}

# bench_need CMD...: fail early with the missing command's name, not halfway through.
bench_need()
{
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || bench_die "needs $c, which is not installed"
	done
}

# bench_build: bring build/ up to date, so a benchmark never measures stale binaries.
bench_build()
{
	[[ -d $BENCH_BUILD ]] || bench_die "no build directory $BENCH_BUILD: run scripts/setup first"
	bench_need ninja
	ninja -C "$BENCH_BUILD" >/dev/null || bench_die "ninja -C $BENCH_BUILD failed"
}

# bench_tmpdir: create BENCH_TMP, removed when the script exits, whatever the cause.
bench_tmpdir()
{
	BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pca-bench.XXXXXX")
	trap 'rm -rf "$BENCH_TMP"' EXIT
	trap 'exit 130' INT TERM
}

# bench_run CMD...: run once, stdout to /dev/null; on failure show its stderr and stop.
bench_run()
{
	local errf=$BENCH_TMP/stderr rc=0
	"$@" >/dev/null 2>"$errf" || rc=$?
	if ((rc != 0)); then
		cat "$errf" >&2
		bench_die "command failed (exit $rc): $*"
	fi
}

# bench_time CMD...: run once (stdout discarded); print "WALL CPU", the elapsed
# and the user+system seconds. CPU time is the steadier number on a busy machine.
bench_time()
{
	local errf=$BENCH_TMP/stderr tf=$BENCH_TMP/times rc=0 TIMEFORMAT='%3R %3U %3S'
	{ time "$@" >/dev/null 2>"$errf"; } 2>"$tf" || rc=$?
	if ((rc != 0)); then
		cat "$errf" >&2
		bench_die "command failed (exit $rc): $*"
	fi
	awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$tf"
}

# bench_time_best N CMD...: run CMD N times; print "WALL CPU", each the minimum
# over the runs: the least disturbed by other load.
bench_time_best()
{
	local n=$1 i t best=
	shift
	for ((i = 0; i < n; i++)); do
		t=$(bench_time "$@") || exit
		best=$(awk -v t="$t" -v m="$best" 'BEGIN {
			split(t, a, " ")
			if (m != "") {
				split(m, b, " ")
				if (b[1] < a[1]) a[1] = b[1]
				if (b[2] < a[2]) a[2] = b[2]
			}
			printf "%.3f %.3f\n", a[1], a[2]
		}')
	done
	printf '%s\n' "$best"
}

# bench_peak_rss CMD...: run once (stdout discarded); print its peak RSS in KiB.
bench_peak_rss()
{
	local out=$BENCH_TMP/rss
	[[ -x /usr/bin/time ]] || bench_die "needs GNU time (/usr/bin/time): apt-get install time"
	bench_run /usr/bin/time -f %M -o "$out" "$@"
	tail -n 1 "$out"
}

# bench_calc EXPR [VAR=VALUE...]: floating-point arithmetic through awk.
bench_calc()
{
	local expr=$1 args=() v
	shift
	for v in "$@"; do
		args+=(-v "$v")
	done
	awk "${args[@]}" "BEGIN { print $expr }"
}

# bench_row COLUMNS...: one line of a result table; the first column is the label.
bench_row()
{
	local label=$1
	shift
	printf '  %-34s' "$label"
	printf ' %16s' "$@"
	printf '\n'
}

# bench_rule: a separator under a bench_row header.
bench_rule()
{
	printf '  %s\n' "$(printf '%*s' "$1" '' | tr ' ' -)"
}

# bench_generate N FILE: N call records made by repeating the examples
# round-robin, each with a unique call_id ("<id>-<n>"; nothing else changes).
bench_generate()
{
	/usr/bin/python3 - "$BENCH_ROOT/examples/calls.jsonl" "$1" "$2" <<'EOF'
import json, sys
src, n, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = [l.rstrip("\n") for l in open(src, encoding="utf-8") if l.strip()]
ids = [json.loads(l)["call_id"] for l in lines]
with open(dst, "w", encoding="utf-8") as out:
    for i in range(n):
        k = i % len(lines)
        old = '"call_id":' + json.dumps(ids[k])
        new = '"call_id":' + json.dumps("%s-%07d" % (ids[k], i))
        if old not in lines[k]:
            sys.exit("call_id of example %d is not written compactly" % (k + 1))
        out.write(lines[k].replace(old, new, 1) + "\n")
EOF
}

# bench_free_port: a free TCP port of 127.0.0.1.
bench_free_port()
{
	/usr/bin/python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# bench_descendants PID: the processes PID started that still run, by pid
# (a timed command is a grandchild, inside $(...)), deepest first.
bench_descendants()
{
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		bench_descendants "$c"
		printf '%s\n' "$c"
	done
}

# bench_stop_nginx: stop the nginx whose pid is in NGINX_PID, if any.
bench_stop_nginx()
{
	[[ -n $NGINX_PID ]] || return 0
	kill -TERM "$NGINX_PID" 2>/dev/null || true
	wait "$NGINX_PID" 2>/dev/null || true
	NGINX_PID=
}

# bench_cleanup: on exit, also after a signal: no timed command or nginx may
# outlive the script, and its temporary directory goes.
bench_cleanup()
{
	local p
	for p in $(bench_descendants $$); do
		[[ $p == "$NGINX_PID" ]] || kill -TERM "$p" 2>/dev/null || true
	done
	bench_stop_nginx
	rm -rf "$BENCH_TMP"
}


# bench_start_nginx HTTP LOCATIONS WANT URL CURL_ARG...: nginx in the
# foreground (our child, its pid in NGINX_PID) on 127.0.0.1:$PORT, with the
# directives HTTP in its http block and LOCATIONS in its server block; then
# wait until `curl CURL_ARG... URL` gets the status WANT.
bench_start_nginx()
{
	local http=$1 locations=$2 want=$3 url=$4 dir=$BENCH_TMP/nginx i
	shift 4
	mkdir -p "$dir/tmp"
	cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $dir/tmp;
	keepalive_requests 1000000;
$http
	server {
		listen 127.0.0.1:$PORT;
$locations
	}
}
EOF
	/usr/sbin/nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" &
	NGINX_PID=$!
	for ((i = 0; i < 50; i++)); do
		if [[ $(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true) == "$want" ]]; then
			return 0
		fi
		kill -0 "$NGINX_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/error.log" >&2 || true
	bench_die "nginx did not answer on $url"
}
