#!/usr/bin/env bash
# Batch verification speed of pca-verify --log against the standardwebhooks npm
# package verifying the same deliveries in one Node process, and the latency of
# one pca-verify run. Usage: bench/verify.sh  (from any directory; see
# bench/README.md). Needs node and `npm install --prefix tests`.
# Speed numbers are printed, never judged: the exit status is non-zero only when
# a command fails or a delivery does not verify.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# PCA_BUILD_DIR=/tmp/build-x runs another build directory than build/.
BENCH_BUILD=${PCA_BUILD_DIR:-$BENCH_BUILD}
# BENCH_DELIVERIES=5000 gives a quick trial run; the numbers to quote use the default.
N=${BENCH_DELIVERIES:-100000}
RUNS=${BENCH_RUNS:-3}
SINGLE_RUNS=100
SECRET=whsec_cGNhLXZlcmlmeSBiZW5jaG1hcmsgc2VjcmV0IGtleSEh
NODE_MODULES=$BENCH_ROOT/tests/node_modules

# A pca-webhook --log --log-bodies file: bodies are the webhook envelopes of the
# example records, each with its own webhook-id, signed up to 30 seconds
# before the generation time, which goes to $3.
generate()
{
	/usr/bin/python3 - "$BENCH_ROOT/examples/calls.jsonl" "$1" "$2" "$SECRET" "$3" <<'EOF'
import base64, hashlib, hmac, json, sys, time
src, n, dst, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
key = base64.b64decode(secret[len("whsec_"):])
records = [l.rstrip("\n") for l in open(src, encoding="utf-8") if l.strip()]
ended = [json.loads(l)["ended_at"] for l in records]
now = int(time.time())
open(sys.argv[5], "w").write("%d\n" % now)
with open(dst, "w", encoding="utf-8") as out:
    for i in range(n):
        k = i % len(records)
        body = '{"type":"call.ended","timestamp":%s,"data":%s}' % (json.dumps(ended[k]), records[k])
        raw = body.encode("utf-8")
        msg_id = "pca:crm-webhook:call_%07d" % i
        ts = now - 30 + i % 20
        mac = hmac.new(key, b"%s.%d.%s" % (msg_id.encode(), ts, raw), hashlib.sha256).digest()
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".250Z"
        entry = {"at": at, "webhook_id": msg_id, "timestamp": ts,
                 "signature": "v1," + base64.b64encode(mac).decode(),
                 "url": "https://127.0.0.1:8443/hooks/pca", "status": 200, "latency_ms": 41,
                 "body_sha256": hashlib.sha256(raw).hexdigest(), "call_id": "call_%07d" % i,
                 "action_id": "crm-webhook", "attempt": 1, "body": body}
        out.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
EOF
}

# One Node process: read the log, then `new Webhook(secret).verify(body, headers)`
# for each entry, the way a receiver would. Arguments: node_modules, the log,
# options ("{}", the package's default, which also JSON-parses each body, or
# '{"jsonParse":false}'), the secret file, and the time to check timestamps
# against: the package reads only Date.now(), so that is pinned to the time
# the log was made, as pca-verify takes each entry's "at".
write_node_verifier()
{
	cat >"$1" <<'EOF'
const fs = require("fs");
const { Webhook } = require(process.argv[2] + "/standardwebhooks");
const opts = JSON.parse(process.argv[4]);
const made = 1000 * Number(fs.readFileSync(process.argv[6], "utf8"));
Date.now = () => made;
const wh = new Webhook(fs.readFileSync(process.argv[5], "utf8").trim());
let ok = 0, bad = 0;
for (const line of fs.readFileSync(process.argv[3], "utf8").split("\n")) {
	if (!line) continue;
	const e = JSON.parse(line);
	const headers = { "webhook-id": e.webhook_id, "webhook-timestamp": String(e.timestamp),
	    "webhook-signature": e.signature };
	try { wh.verify(e.body, headers, opts); ok++; } catch (err) { bad++; }
}
console.log(ok);
if (bad) { console.error(bad + " deliveries did not verify"); process.exit(1); }
EOF
}

# Count the valid verdicts once, so that a verifier failing quickly cannot look fast.
check_valid()
{
	local what=$1 got
	shift
	got=$("$@" 2>"$BENCH_TMP/stderr" | grep -c '"valid":true') || {
		cat "$BENCH_TMP/stderr" >&2
		bench_die "$what failed"
	}
	((got == N)) || bench_die "$what found $got valid deliveries of $N"
}

throughput_row()
{
	local wall=${2% *} cpu=${2#* }
	bench_row "$1" "$wall" "$(bench_calc 'sprintf("%.0f", n / t)' n="$N" t="$wall")" "$cpu"
}

# Milliseconds per run of one command: hyperfine's mean when it is installed,
# else the median of SINGLE_RUNS runs timed from Python (after 10 warm-up runs),
# which a busy machine's occasional stalls do not move.
single_latency()
{
	if command -v hyperfine >/dev/null 2>&1; then
		hyperfine -N -w 10 -r "$SINGLE_RUNS" --export-json "$BENCH_TMP/hf.json" \
		    "$(printf '%q ' "$@")" >/dev/null
		/usr/bin/python3 -c 'import json,sys; print("%.2f" % (1000 * json.load(open(sys.argv[1]))["results"][0]["mean"]))' \
		    "$BENCH_TMP/hf.json"
		return
	fi
	/usr/bin/python3 - "$SINGLE_RUNS" "$@" <<'EOF'
import statistics, subprocess, sys, time
runs, argv = int(sys.argv[1]), sys.argv[2:]
times = []
for i in range(10 + runs):
    t = time.perf_counter()
    if subprocess.run(argv, stdout=subprocess.DEVNULL).returncode != 0:
        sys.exit("%s failed" % argv[0])
    if i >= 10:
        times.append(time.perf_counter() - t)
print("%.2f" % (1000 * statistics.median(times)))
EOF
}

bench_need node awk grep /usr/bin/python3
[[ -f $NODE_MODULES/standardwebhooks/package.json ]] ||
	bench_die "no standardwebhooks in tests/node_modules: run npm install --prefix tests"
bench_build
verify=$BENCH_BUILD/cmd/pca-verify
[[ -x $verify ]] || bench_die "no $verify after the build"
bench_tmpdir

log=$BENCH_TMP/deliveries.jsonl
printf '%s\n' "$SECRET" >"$BENCH_TMP/secret"
generate "$N" "$log" "$BENCH_TMP/made"
write_node_verifier "$BENCH_TMP/verify.js"
mib=$(bench_calc 'sprintf("%.1f", b / 1048576)' b="$(wc -c <"$log")")
swh_version=$(node -p "require('$NODE_MODULES/standardwebhooks/package.json').version")

bench_say "pca-verify benchmark: $N signed deliveries with bodies ($mib MiB of log), best of $RUNS runs"
bench_say "node $(node --version), standardwebhooks $swh_version, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
bench_say ""

pca=("$verify" --secret-file "$BENCH_TMP/secret" --log "$log")
swh=(node "$BENCH_TMP/verify.js" "$NODE_MODULES" "$log" '{}' "$BENCH_TMP/secret" "$BENCH_TMP/made")
swh_raw=(node "$BENCH_TMP/verify.js" "$NODE_MODULES" "$log" '{"jsonParse":false}' "$BENCH_TMP/secret"
    "$BENCH_TMP/made")
check_valid "pca-verify --log" "${pca[@]}"
[[ $("${swh[@]}") == "$N" ]] || bench_die "standardwebhooks did not verify all $N deliveries"

t_pca=$(bench_time_best "$RUNS" "${pca[@]}")
t_swh=$(bench_time_best "$RUNS" "${swh[@]}")
t_raw=$(bench_time_best 1 "${swh_raw[@]}")

bench_row "batch verification" "wall seconds" "deliveries/s" "CPU seconds"
bench_rule 85
throughput_row "pca-verify --log" "$t_pca"
throughput_row "standardwebhooks verify()" "$t_swh"
throughput_row "  {jsonParse:false} (info, 1 run)" "$t_raw"
ratio=$(bench_calc 'sprintf("%.2f", s / p)' s="${t_swh% *}" p="${t_pca% *}")
cpu_ratio=$(bench_calc 'sprintf("%.2f", s / p)' s="${t_swh#* }" p="${t_pca#* }")
raw_ratio=$(bench_calc 'sprintf("%.2f", s / p)' s="${t_raw% *}" p="${t_pca% *}")
bench_say ""
bench_say "  pca-verify/standardwebhooks: ${ratio}x (by CPU time: ${cpu_ratio}x; against jsonParse:false: ${raw_ratio}x)"
bench_say ""

# One delivery, as a CI step checks a saved request.
head -n 1 "$log" | /usr/bin/python3 -c '
import json, sys
e = json.loads(sys.stdin.read())
body = e["body"].encode("utf-8")
sys.stdout.buffer.write(("POST /hooks/pca HTTP/1.1\r\nContent-Type: application/json\r\n"
    "Content-Length: %d\r\nwebhook-id: %s\r\nwebhook-timestamp: %d\r\nwebhook-signature: %s\r\n\r\n"
    % (len(body), e["webhook_id"], e["timestamp"], e["signature"])).encode() + body)' >"$BENCH_TMP/request.txt"
one=("$verify" --secret-file "$BENCH_TMP/secret" --headers "$BENCH_TMP/request.txt" --no-timestamp)
bench_run "${one[@]}"
ms=$(single_latency "${one[@]}")
how=$(command -v hyperfine >/dev/null 2>&1 && echo "hyperfine, mean of $SINGLE_RUNS runs" ||
    echo "median of $SINGLE_RUNS runs")
base=$(single_latency /bin/true)
bench_row "one delivery (--headers request.txt)" "ms per run"
bench_rule 55
bench_row "pca-verify" "$ms"
bench_row "/bin/true (starting a process)" "$base"
bench_say "  ($how)"
bench_say ""

speed_ok=$(bench_calc '(r >= 3) ? "met" : "NOT met"' r="$ratio")
single_ok=$(bench_calc '(m < 10) ? "met" : "NOT met"' m="$ms")
bench_say "target: >= 3x standardwebhooks throughput, one run < 10 ms"
bench_say "  throughput ${ratio}x: $speed_ok; one run $ms ms: $single_ok"
