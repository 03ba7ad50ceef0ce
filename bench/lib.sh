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
