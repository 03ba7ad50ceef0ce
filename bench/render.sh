#!/usr/bin/env bash
# Throughput and peak memory of pca-render against jq building the same webhook
# payload. Usage: bench/render.sh  (from any directory; see bench/README.md)
# Speed numbers are printed, never judged: the exit status is non-zero only when
# a command fails.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# BENCH_RECORDS=2600 gives a quick trial run; the numbers to quote use the default.
N_BIG=${BENCH_RECORDS:-100000}
N_SMALL=$((N_BIG / 10))
RUNS=${BENCH_RUNS:-3}
NOW=2026-11-28T12:00:00Z
JQ_PROGRAM='{type:"call.ended", timestamp:.ended_at, data:.}'

# Count output lines once, so a tool silently skipping records cannot look fast.
check_lines()
{
	local what=$1 want=$2 got
	shift 2
	got=$("$@" 2>"$BENCH_TMP/stderr" | wc -l) || {
		cat "$BENCH_TMP/stderr" >&2
		bench_die "$what failed"
	}
	((got == want)) || bench_die "$what printed $got lines for $want records"
}

# throughput_row LABEL "WALL CPU": seconds as bench_time_best prints them.
throughput_row()
{
	local wall=${2% *} cpu=${2#* }
	bench_row "$1" "$wall" "$(bench_calc 'sprintf("%.0f", n / t)' n="$N_BIG" t="$wall")" "$cpu"
}

bench_need jq awk env wc /usr/bin/python3
[[ -x /usr/bin/time ]] || bench_die "needs GNU time (/usr/bin/time): apt-get install time"
bench_build
[[ -x $BENCH_BUILD/cmd/pca-render ]] || bench_die "no $BENCH_BUILD/cmd/pca-render after the build"
bench_tmpdir
mkdir "$BENCH_TMP/home"
# The built-in configuration: no config file can be found from this environment.
# An array, not a function, so that /usr/bin/time can run it too.
pca_render=(env -u PCA_CONFIG HOME="$BENCH_TMP/home" XDG_CONFIG_HOME="$BENCH_TMP/home"
    "$BENCH_BUILD/cmd/pca-render" --now "$NOW")

big=$BENCH_TMP/calls-$N_BIG.jsonl
small=$BENCH_TMP/calls-$N_SMALL.jsonl
bench_generate "$N_BIG" "$big"
head -n "$N_SMALL" "$big" >"$small"
mib=$(bench_calc 'sprintf("%.1f", b / 1048576)' b="$(wc -c <"$big")")

bench_say "pca-render benchmark: $N_BIG records ($mib MiB) from examples/calls.jsonl, best of $RUNS runs"
bench_say "$(jq --version), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -srm)"
bench_say ""

check_lines "pca-render -f webhook" "$N_BIG" "${pca_render[@]}" -f webhook "$big"
check_lines "jq" "$N_BIG" jq -c "$JQ_PROGRAM" "$big"

t_pca=$(bench_time_best "$RUNS" "${pca_render[@]}" -f webhook "$big")
t_jq=$(bench_time_best "$RUNS" jq -c "$JQ_PROGRAM" "$big")
t_sms=$(bench_time_best "$RUNS" "${pca_render[@]}" -f sms "$big")
t_email=$(bench_time_best "$RUNS" "${pca_render[@]}" -f email "$big")

bench_row "throughput" "wall seconds" "records/s" "CPU seconds"
bench_rule 85
throughput_row "pca-render -f webhook" "$t_pca"
throughput_row "jq -c '{type,timestamp,data}'" "$t_jq"
throughput_row "pca-render -f sms (information)" "$t_sms"
throughput_row "pca-render -f email (information)" "$t_email"
# Each t_* is "WALL CPU"; the target is judged on wall-clock records/second.
ratio=$(bench_calc 'sprintf("%.2f", j / p)' j="${t_jq% *}" p="${t_pca% *}")
cpu_ratio=$(bench_calc 'sprintf("%.2f", j / p)' j="${t_jq#* }" p="${t_pca#* }")
bench_say ""
bench_say "  webhook throughput pca-render/jq: ${ratio}x (by CPU time: ${cpu_ratio}x)"
bench_say ""

rss_small=$(bench_peak_rss "${pca_render[@]}" -f webhook "$small")
rss_big=$(bench_peak_rss "${pca_render[@]}" -f webhook "$big")
bench_row "peak RSS, pca-render -f webhook" "KiB" "MiB"
bench_rule 70
bench_row "$N_SMALL records" "$rss_small" "$(bench_calc 'sprintf("%.1f", k / 1024)' k="$rss_small")"
bench_row "$N_BIG records" "$rss_big" "$(bench_calc 'sprintf("%.1f", k / 1024)' k="$rss_big")"
# Flat: grew by at most 20% or 2 MiB, whichever is more lenient.
flat=$(bench_calc '(b - s <= 2048 || b <= s * 1.2) ? "yes" : "no"' s="$rss_small" b="$rss_big")
bench_say ""
bench_say "  memory flat from $N_SMALL to $N_BIG records (within 20% or 2 MiB): $flat"
bench_say ""

speed_ok=$(bench_calc '(r >= 3) ? "met" : "NOT met"' r="$ratio")
rss_ok=$(bench_calc '(k < 16384) ? "met" : "NOT met"' k="$rss_big")
bench_say "target: >= 3x jq throughput, peak RSS < 16 MiB"
bench_say "  throughput ${ratio}x: $speed_ok; peak RSS $(bench_calc 'sprintf("%.1f", k / 1024)' k="$rss_big") MiB: $rss_ok"
