#!/usr/bin/env bash
# Deliveries per second of pca-webhook against a local nginx, compared with a
# shell loop of openssl + curl and with one parallel curl posting unsigned.
# Usage: bench/webhook.sh  (from any directory; see bench/README.md)
# Speed numbers are printed, never judged: the exit status is non-zero only when
# a command fails or a delivery does not get its 204.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# BENCH_RECORDS=2600 BENCH_LOOP_RECORDS=100 BENCH_RUNS=1 gives a quick trial
# run; the numbers to quote use the defaults.
N=${BENCH_RECORDS:-20000}
N_LOOP=${BENCH_LOOP_RECORDS:-500}
RUNS=${BENCH_RUNS:-3}
PARALLEL=16
NGINX_PID=

# The bodies pca-webhook sends, one file each, and their webhook-ids, for the
# two curl variants: pca-render prints the same bytes (no contacts either way).
split_bodies()
{
	env -u PCA_CONFIG HOME="$BENCH_TMP" XDG_CONFIG_HOME="$BENCH_TMP" \
	    "$BENCH_BUILD/cmd/pca-render" -f webhook "$1" |
	    /usr/bin/python3 -c '
import json, os, sys
d = sys.argv[1]
with open(os.path.join(d, "ids"), "w") as ids:
    for i, line in enumerate(sys.stdin):
        o = json.loads(line)
        with open(os.path.join(d, "%06d.json" % i), "wb") as f:
            f.write(o["body"].encode("utf-8"))
        ids.write(o["webhook_id"] + "\n")
' "$2"
}

# nginx in the foreground (our child), answering 204 to a POST anywhere.
# `return` works before any static file handling, so POST is fine; bodies are
# read and discarded.
start_nginx()
{
	bench_start_nginx "	client_max_body_size 16m;
	client_body_buffer_size 1m;" "		location / { return 204; }" 204 "$URL" --data-binary x
}

# What a cron user writes today: per record, sign with openssl, post with curl.
# It reads the prepared body files (building them with jq would be slower
# still) and checks every status.
write_loop()
{
	cat >"$BENCH_TMP/loop.sh" <<'EOF'
#!/usr/bin/env bash
# loop.sh URL HEXKEY DIR N
url=$1 key=$2 dir=$3 n=$4 i=0 ok=0
while ((i < n)) && read -r id; do
	body=$(printf '%s/%06d.json' "$dir" "$i")
	ts=$(date +%s)
	sig=$({ printf '%s.%s.' "$id" "$ts"; cat "$body"; } |
	    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64)
	code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	    -H "webhook-id: $id" -H "webhook-timestamp: $ts" -H "webhook-signature: v1,$sig" \
	    --data-binary "@$body" "$url")
	[[ $code == 204 ]] && ok=$((ok + 1))
	i=$((i + 1))
done <"$dir/ids"
((ok == n)) || { echo "loop: $ok of $n got 204" >&2; exit 1; }
EOF
}

# One curl, many transfers: a -K file with one block per body. Blocks are
# separated by "next", or the data of every block would pile up in one
# request; none after the last, which would be a transfer without a URL.
write_curl_config()
{
	local i
	for ((i = 0; i < N; i++)); do
		((i == 0)) || printf 'next\n'
		printf 'url = "%s"\ndata-binary = "@%s/%06d.json"\nheader = "Content-Type: application/json"\noutput = "/dev/null"\nfail\n' \
		    "$URL" "$BENCH_TMP/bodies" "$i"
	done >"$BENCH_TMP/curl.conf"
}

# A fresh spool for every timed run: an old one would skip every delivery as
# already delivered.
write_spool_wrapper()
{
	cat >"$BENCH_TMP/with-spool.sh" <<'EOF'
#!/bin/sh
# with-spool.sh DB CMD...: run CMD --spool DB on an empty spool.
db=$1
shift
rm -f "$db" "$db-wal" "$db-shm"
exec "$@" --spool "$db"
EOF
}

rate_row()
{
	local label=$1 n=$2 wall=${3% *} cpu=${3#* }
	bench_row "$label" "$n" "$wall" "$(bench_calc 'sprintf("%.0f", n / t)' n="$n" t="$wall")" "$cpu"
}

bench_need curl openssl base64 od awk env date /usr/bin/python3
[[ -x /usr/sbin/nginx ]] || bench_die "needs nginx (/usr/sbin/nginx): apt-get install nginx-light"
bench_build
[[ -x $BENCH_BUILD/cmd/pca-webhook ]] || bench_die "no $BENCH_BUILD/cmd/pca-webhook after the build"
bench_tmpdir
trap bench_cleanup EXIT

PORT=$(bench_free_port)
URL=http://127.0.0.1:$PORT/hook
calls=$BENCH_TMP/calls-$N.jsonl
bench_generate "$N" "$calls"
mkdir "$BENCH_TMP/bodies"
split_bodies "$calls" "$BENCH_TMP/bodies"
((N_LOOP <= N)) || N_LOOP=$N
# 32 random bytes: the whsec_ secret for pca-webhook, the hex key for openssl.
head -c 32 /dev/urandom >"$BENCH_TMP/key"
printf 'whsec_%s\n' "$(base64 -w0 <"$BENCH_TMP/key")" >"$BENCH_TMP/secret"
hexkey=$(od -An -v -tx1 "$BENCH_TMP/key" | tr -d ' \n')
write_loop
write_curl_config
write_spool_wrapper
start_nginx

pca=("$BENCH_BUILD/cmd/pca-webhook" --url "$URL" --secret-file "$BENCH_TMP/secret"
    --allow-private --allow-http --parallel "$PARALLEL" "$calls")
mib=$(bench_calc 'sprintf("%.1f", b / 1048576)' b="$(wc -c <"$calls")")
bench_say "pca-webhook benchmark: $N records ($mib MiB) from examples/calls.jsonl to nginx on 127.0.0.1, best of $RUNS runs"
bench_say "$(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //'), $(curl --version | head -n 1 | cut -d' ' -f1-2), $(openssl version | cut -d' ' -f1-2)"
bench_say "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), spool on $(df -T "$BENCH_TMP" | awk 'NR == 2 { print $2 }'), $(uname -srm)"
bench_say ""

# pca-webhook exits 0 only when every delivery succeeded, curl --fail only when
# every transfer got a 2xx, and the loop checks each status: bench_time stops
# the script on any failure.
t_pca=$(bench_time_best "$RUNS" "${pca[@]}")
t_spool=$(bench_time_best "$RUNS" sh "$BENCH_TMP/with-spool.sh" "$BENCH_TMP/spool.db" "${pca[@]}")
t_curl=$(bench_time_best "$RUNS" curl -sS -Z --parallel-max "$PARALLEL" -K "$BENCH_TMP/curl.conf")
t_loop=$(bench_time bash "$BENCH_TMP/loop.sh" "$URL" "$hexkey" "$BENCH_TMP/bodies" "$N_LOOP")

# Signed: pca-webhook and the loop; curl -Z posts the same bodies unsigned.
bench_row "delivery" "records" "wall seconds" "deliveries/s" "CPU seconds"
bench_rule 102
rate_row "pca-webhook -j $PARALLEL" "$N" "$t_pca"
rate_row "pca-webhook -j $PARALLEL --spool" "$N" "$t_spool"
rate_row "curl -Z --parallel-max $PARALLEL" "$N" "$t_curl"
rate_row "shell loop: openssl + curl" "$N_LOOP" "$t_loop"
bench_say "  (pca-webhook and the loop sign every request; curl -Z posts the same bodies unsigned)"

r_pca=$(bench_calc 'n / t' n="$N" t="${t_pca% *}")
r_spool=$(bench_calc 'n / t' n="$N" t="${t_spool% *}")
r_curl=$(bench_calc 'n / t' n="$N" t="${t_curl% *}")
r_loop=$(bench_calc 'n / t' n="$N_LOOP" t="${t_loop% *}")
loop_ratio=$(bench_calc 'sprintf("%.1f", p / l)' p="$r_pca" l="$r_loop")
curl_ratio=$(bench_calc 'sprintf("%.2f", p / c)' p="$r_pca" c="$r_curl")
spool_cost=$(bench_calc 'sprintf("%.0f", 100 * (1 - s / p))' p="$r_pca" s="$r_spool")
bench_say ""
bench_say "  the shell loop would take $(bench_calc 'sprintf("%.0f", n / r)' n="$N" r="$r_loop") s for all $N records (extrapolated from $N_LOOP)"
bench_say "  pca-webhook/shell loop: ${loop_ratio}x; pca-webhook/curl -Z: ${curl_ratio}x"
bench_say "  the spool costs ${spool_cost}% of pca-webhook's throughput"
bench_say ""
loop_ok=$(bench_calc '(r >= 50) ? "met" : "NOT met"' r="$loop_ratio")
curl_ok=$(bench_calc '(r >= 0.5) ? "met" : "NOT met"' r="$curl_ratio")
bench_say "target: >= 50x the shell loop, >= 0.5x curl -Z (deliveries/s, wall clock)"
bench_say "  ${loop_ratio}x: $loop_ok; ${curl_ratio}x: $curl_ok"
