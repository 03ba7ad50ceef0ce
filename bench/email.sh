#!/usr/bin/env bash
# Throughput of pca-send-email against msmtp run once per message, both
# sending the same messages to a local SMTP sink (aiosmtpd, from
# tests/cli/smtp_servers.py). Usage: bench/email.sh  (see bench/README.md)
# Speed numbers are printed, never judged: the exit status is non-zero only when
# a command fails or a sink did not get exactly the messages it should have.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# PCA_BUILD_DIR=/tmp/build-x runs another build directory than build/.
BENCH_BUILD=${PCA_BUILD_DIR:-$BENCH_BUILD}
# BENCH_MESSAGES=200 gives a quick trial run; the numbers to quote use the default.
N=${BENCH_MESSAGES:-2000}
RUNS=${BENCH_RUNS:-3}
NOW=2026-11-28T12:00:00Z
FROM='Front Desk <calls@pca.example>'
FROM_ADDR=calls@pca.example
RCPT=office@pca.example
PARALLEL=8

# split_messages RENDERED DIR: one file per message of `pca-render -f email`
# output (its "message" members), named so that the shell sorts them in order.
split_messages()
{
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for i, line in enumerate(open(src, encoding="utf-8")):
    with open(os.path.join(dst, "%07d.eml" % i), "w", encoding="ascii", newline="") as f:
        f.write(json.loads(line)["message"])
EOF
}

# sink_stats: "COUNT BYTES DIGEST" of what the sink took since the last call.
sink_stats()
{
	local line
	printf 'stats\n' >&"${SINK[1]}"
	read -r line <&"${SINK[0]}" || bench_die "the SMTP sink died"
	printf '%s\n' "$line"
}

# check_sink WHAT WANT_COUNT WANT_DIGEST: the sink got exactly these messages.
check_sink()
{
	local what=$1 want=$2 digest=$3 count bytes got
	read -r count bytes got <<<"$(sink_stats)"
	((count == want)) || bench_die "$what: the sink got $count messages, not $want"
	[[ -z $digest || $got == "$digest" ]] ||
		bench_die "$what: the sink got other messages than pca-render printed"
	printf '%s %s\n' "$bytes" "$got"
}

# throughput_row LABEL "WALL CPU"
throughput_row()
{
	local wall=${2% *} cpu=${2#* }
	bench_row "$1" "$wall" "$(bench_calc 'sprintf("%.0f", n / t)' n="$N" t="$wall")" "$cpu"
}

bench_need msmtp awk env wc /usr/bin/python3
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
	bench_die "needs python3-aiosmtpd (Debian package) for the SMTP sink"
bench_build
for p in pca-send-email pca-render; do
	[[ -x $BENCH_BUILD/cmd/$p ]] || bench_die "no $BENCH_BUILD/cmd/$p after the build"
done
bench_tmpdir
mkdir "$BENCH_TMP/home"
home=$BENCH_TMP/home

records=$BENCH_TMP/calls-$N.jsonl
bench_generate "$N" "$records"
# The configuration pca-render needs to print what the ad hoc run sends: the
# same action id ("email"), sender and recipient.
cat >"$BENCH_TMP/render.yaml" <<EOF
actions:
  - id: email
    type: email
    from: "$FROM"
    to: $RCPT
EOF
env -u PCA_CONFIG HOME="$home" XDG_CONFIG_HOME="$home" "$BENCH_BUILD/cmd/pca-render" \
    -c "$BENCH_TMP/render.yaml" -f email --now "$NOW" "$records" >"$BENCH_TMP/rendered.jsonl" ||
	bench_die "pca-render -f email failed"
split_messages "$BENCH_TMP/rendered.jsonl" "$BENCH_TMP/msg"
nmsg=$(find "$BENCH_TMP/msg" -name '*.eml' | wc -l)
((nmsg == N)) || bench_die "pca-render printed $nmsg messages for $N records"
kib=$(bench_calc 'sprintf("%.1f", b / 1024 / n)' b="$(cat "$BENCH_TMP"/msg/*.eml | wc -c)" n="$N")

coproc SINK { exec /usr/bin/python3 "$BENCH_ROOT/tests/cli/smtp_servers.py" sink; }
read -r port <&"${SINK[0]}" || bench_die "the SMTP sink did not start"
url=smtp://127.0.0.1:$port

pca_send=(env -u PCA_CONFIG HOME="$home" XDG_CONFIG_HOME="$home"
    "$BENCH_BUILD/cmd/pca-send-email" --from "$FROM" --to "$RCPT" --smtp "$url" --tls none
    --now "$NOW" --retries 0 --timeout 60)
# One msmtp process per message, as a script calling it from a loop would.
cat >"$BENCH_TMP/msmtp-loop" <<EOF
#!/bin/bash
for f in "$BENCH_TMP"/msg/*.eml; do
	msmtp -C /dev/null --host=127.0.0.1 --port=$port --tls=off --auth=off \\
	    --from=$FROM_ADDR -- $RCPT <"\$f" || exit 1
done
EOF
chmod +x "$BENCH_TMP/msmtp-loop"

bench_say "pca-send-email benchmark: $N messages (about $kib KiB each) from examples/calls.jsonl,"
bench_say "one recipient each, to an aiosmtpd sink on 127.0.0.1; pca-send-email best of $RUNS runs,"
bench_say "msmtp one run"
bench_say "$(msmtp --version | head -n 1), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -srm)"
bench_say ""

# The digest of the messages pca-render printed, as the sink computes it.
want=$(/usr/bin/python3 - "$BENCH_TMP/msg" <<'EOF'
import hashlib, os, sys
d = sys.argv[1]
s = 0
for name in os.listdir(d):
    with open(os.path.join(d, name), "rb") as f:
        s = (s + int.from_bytes(hashlib.sha256(f.read()).digest(), "big")) % (1 << 256)
print("%064x" % s)
EOF
)

sink_stats >/dev/null
t_pca=$(bench_time_best "$RUNS" "${pca_send[@]}" --parallel "$PARALLEL" "$records")
read -r count bytes got <<<"$(sink_stats)"
((count == N * RUNS)) || bench_die "pca-send-email: the sink got $count messages, not $((N * RUNS))"
t_pca1=$(bench_time "${pca_send[@]}" --parallel 1 "$records")
check_sink "pca-send-email --parallel 1" "$N" "$want" >/dev/null
t_msmtp=$(bench_time "$BENCH_TMP/msmtp-loop")
check_sink "msmtp" "$N" "$want" >/dev/null
exec {SINK[1]}>&-
wait "$SINK_PID" 2>/dev/null || true

bench_row "throughput" "wall seconds" "messages/s" "CPU seconds"
bench_rule 85
throughput_row "pca-send-email --parallel $PARALLEL" "$t_pca"
throughput_row "msmtp, once per message" "$t_msmtp"
throughput_row "pca-send-email --parallel 1 (info)" "$t_pca1"
ratio=$(bench_calc 'sprintf("%.1f", m / p)' m="${t_msmtp% *}" p="${t_pca% *}")
cpu_ratio=$(bench_calc 'sprintf("%.1f", m / p)' m="${t_msmtp#* }" p="${t_pca#* }")
bench_say ""
bench_say "  throughput pca-send-email/msmtp: ${ratio}x (by CPU time: ${cpu_ratio}x)"
bench_say "  every message reached the sink byte for byte as pca-render printed it"
bench_say ""
ok=$(bench_calc '(r >= 5) ? "met" : "NOT met"' r="$ratio")
bench_say "target: >= 5x msmtp throughput: ${ratio}x, $ok"
