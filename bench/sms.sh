#!/usr/bin/env bash
# Messages per second of pca-send-sms against a local Twilio-shaped server
# (nginx answering the Messages API's 201), compared with a shell loop of one
# curl per message posting the same form with the same basic auth.
# Usage: bench/sms.sh  (from any directory; see bench/README.md)
# Speed numbers are printed, never judged: the exit status is non-zero only when
# a command fails or a message does not get its 201.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# PCA_BUILD_DIR=/tmp/build-x runs another build directory than build/.
BENCH_BUILD=${PCA_BUILD_DIR:-$BENCH_BUILD}
# BENCH_RECORDS=520 BENCH_LOOP_RECORDS=50 BENCH_RUNS=1 gives a quick trial
# run; the numbers to quote use the defaults.
N=${BENCH_RECORDS:-5000}
N_LOOP=${BENCH_LOOP_RECORDS:-500}
RUNS=${BENCH_RUNS:-3}
PARALLEL=16
NOW=2026-11-28T12:00:00Z
SID=ACa1b2c3d4e5f60718293a4b5c6d7e8f90
FROM=+14155550199
TO=+14155550100
NGINX_PID=

# The texts pca-send-sms sends (pca-render prints the same bytes for the ad
# hoc action: no configuration either way), one file each, for the loop.
split_texts()
{
	env -u PCA_CONFIG HOME="$BENCH_TMP/home" XDG_CONFIG_HOME="$BENCH_TMP/home" \
	    "$BENCH_BUILD/cmd/pca-render" -f sms --now "$NOW" "$1" |
	    /usr/bin/python3 -c '
import json, os, sys
d = sys.argv[1]
for i, line in enumerate(sys.stdin):
    with open(os.path.join(d, "%06d.txt" % i), "wb") as f:
        f.write(json.loads(line)["text"].encode("utf-8"))
' "$2"
}

# nginx in the foreground (our child), shaped like Twilio's Messages API: the
# account's Messages.json answers 201 with a message resource when the basic
# credentials are right, 401 with Twilio's error 20003 when not; any other
# path is a 404. `return` answers after reading and discarding the body.
start_nginx()
{
	local auth
	auth=$(printf '%s:%s' "$SID" "$(cat "$BENCH_TMP/token")" | base64 -w0)
	bench_start_nginx "	client_body_buffer_size 64k;
	default_type application/json;" "		location = /2010-04-01/Accounts/$SID/Messages.json {
			if (\$http_authorization != \"Basic $auth\") {
				return 401 '{\"code\":20003,\"message\":\"Authenticate\",\"more_info\":\"https://www.twilio.com/docs/errors/20003\",\"status\":401}';
			}
			return 201 '{\"account_sid\":\"$SID\",\"api_version\":\"2010-04-01\",\"body\":\"...\",\"direction\":\"outbound-api\",\"error_code\":null,\"error_message\":null,\"from\":\"$FROM\",\"num_media\":\"0\",\"num_segments\":\"2\",\"price\":null,\"price_unit\":\"USD\",\"sid\":\"SM0123456789abcdef0123456789abcdef\",\"status\":\"queued\",\"to\":\"$TO\"}';
		}
		location / { return 404; }" 201 "$URL" -u "$SID:$(cat "$BENCH_TMP/token")" --data x
}

# What a cron user writes today: per message, one curl with basic auth and
# the three form fields, curl percent-encoding each (Body read from a file),
# checking each status.
write_loop()
{
	cat >"$BENCH_TMP/loop.sh" <<'EOF'
#!/usr/bin/env bash
# loop.sh URL SID TOKENFILE FROM TO DIR N
url=$1 sid=$2 token=$(cat "$3") from=$4 to=$5 dir=$6 n=$7 i=0 ok=0
while ((i < n)); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -u "$sid:$token" \
	    --data-urlencode "To=$to" --data-urlencode "From=$from" \
	    --data-urlencode "Body@$(printf '%s/%06d.txt' "$dir" "$i")" "$url")
	[[ $code == 201 ]] && ok=$((ok + 1))
	i=$((i + 1))
done
((ok == n)) || { echo "loop: $ok of $n got 201" >&2; exit 1; }
EOF
}

# A fresh spool for every timed run: an old one would skip every message as
# already sent.
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

# Once, untimed: every record comes out with its message succeeded, with the
# sid nginx gave, so a run that skips or fails messages cannot look fast.
check_pca()
{
	"${pca[@]}" >"$BENCH_TMP/out.jsonl" 2>"$BENCH_TMP/stderr" || {
		cat "$BENCH_TMP/stderr" >&2
		bench_die "pca-send-sms failed"
	}
	/usr/bin/python3 - "$BENCH_TMP/out.jsonl" "$N" <<'EOF' || bench_die "pca-send-sms's results are wrong"
import json, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    (e,) = [x for x in json.loads(line)["post_call_actions"] if x["action_id"] == "sms"]
    assert e["status"] == "succeeded" and e["provider_message_id"].startswith("SM"), e
    n += 1
if n != int(sys.argv[2]):
    sys.exit("%d records out of %s" % (n, sys.argv[2]))
EOF
}

rate_row()
{
	local label=$1 n=$2 wall=${3% *} cpu=${3#* }
	bench_row "$label" "$n" "$wall" "$(bench_calc 'sprintf("%.0f", n / t)' n="$n" t="$wall")" "$cpu"
}

bench_need curl base64 awk env ps /usr/bin/python3
[[ -x /usr/sbin/nginx ]] || bench_die "needs nginx (/usr/sbin/nginx): apt-get install nginx-light"
bench_build
[[ -x $BENCH_BUILD/cmd/pca-send-sms ]] || bench_die "no $BENCH_BUILD/cmd/pca-send-sms after the build"
bench_tmpdir
trap bench_cleanup EXIT
mkdir "$BENCH_TMP/home" "$BENCH_TMP/texts"

PORT=$(bench_free_port)
BASE=http://127.0.0.1:$PORT
URL=$BASE/2010-04-01/Accounts/$SID/Messages.json
calls=$BENCH_TMP/calls-$N.jsonl
bench_generate "$N" "$calls"
((N_LOOP <= N)) || N_LOOP=$N
head -n "$N_LOOP" "$calls" >"$BENCH_TMP/loop.jsonl"
split_texts "$BENCH_TMP/loop.jsonl" "$BENCH_TMP/texts"
# A 32-hex-digit auth token, as Twilio's are.
(umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$BENCH_TMP/token")
write_loop
write_spool_wrapper
start_nginx

pca=(env -u PCA_CONFIG HOME="$BENCH_TMP/home" XDG_CONFIG_HOME="$BENCH_TMP/home"
    "$BENCH_BUILD/cmd/pca-send-sms" --provider twilio --account-sid "$SID"
    --secret-file "$BENCH_TMP/token" --from "$FROM" --to "$TO" --base-url "$BASE"
    --allow-private --allow-http --no-pacing --parallel "$PARALLEL" --now "$NOW" "$calls")
mib=$(bench_calc 'sprintf("%.1f", b / 1048576)' b="$(wc -c <"$calls")")
bench_say "pca-send-sms benchmark: $N records ($mib MiB) from examples/calls.jsonl, one recipient each, to a Twilio-shaped nginx on 127.0.0.1, best of $RUNS runs"
bench_say "$(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //'), $(curl --version | head -n 1 | cut -d' ' -f1-2)"
bench_say "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), spool on $(df -T "$BENCH_TMP" | awk 'NR == 2 { print $2 }'), $(uname -srm)"
bench_say ""

check_pca
# pca-send-sms exits 0 only when every message got its 201, and the loop
# counts its 201s: bench_time stops the script on any failure.
t_pca=$(bench_time_best "$RUNS" "${pca[@]}")
t_spool=$(bench_time_best "$RUNS" sh "$BENCH_TMP/with-spool.sh" "$BENCH_TMP/spool.db" "${pca[@]}")
t_loop=$(bench_time bash "$BENCH_TMP/loop.sh" "$URL" "$SID" "$BENCH_TMP/token" "$FROM" "$TO" \
    "$BENCH_TMP/texts" "$N_LOOP")

bench_row "messages" "records" "wall seconds" "messages/s" "CPU seconds"
bench_rule 102
rate_row "pca-send-sms -j $PARALLEL" "$N" "$t_pca"
rate_row "pca-send-sms -j $PARALLEL --spool" "$N" "$t_spool"
rate_row "shell loop: curl per message" "$N_LOOP" "$t_loop"

r_pca=$(bench_calc 'n / t' n="$N" t="${t_pca% *}")
r_spool=$(bench_calc 'n / t' n="$N" t="${t_spool% *}")
r_loop=$(bench_calc 'n / t' n="$N_LOOP" t="${t_loop% *}")
ratio=$(bench_calc 'sprintf("%.1f", p / l)' p="$r_pca" l="$r_loop")
spool_cost=$(bench_calc 'sprintf("%.0f", 100 * (1 - s / p))' p="$r_pca" s="$r_spool")
bench_say ""
bench_say "  the shell loop would take $(bench_calc 'sprintf("%.0f", n / r)' n="$N" r="$r_loop") s for all $N records (extrapolated from $N_LOOP)"
bench_say "  pca-send-sms/shell loop: ${ratio}x"
bench_say "  the spool costs ${spool_cost}% of pca-send-sms's throughput"
bench_say ""
ok=$(bench_calc '(r >= 20) ? "met" : "NOT met"' r="$ratio")
bench_say "target: >= 20x the shell loop (messages/s, wall clock)"
bench_say "  ${ratio}x: $ok"
