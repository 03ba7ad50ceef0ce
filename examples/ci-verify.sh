#!/bin/sh
# ci-verify.sh: a CI step that checks every webhook delivery a test run
# saved, and fails the build unless each one carries a valid signature.
#
#   ci-verify.sh SECRET_FILE LOG [LOG...]
#
# SECRET_FILE holds the whsec_ secret(s) the receiver is given (several,
# separated by white space, during a rotation). Each LOG is a file written by
#
#   pca-webhook ... --log LOG --log-bodies
#
# one JSON line per attempt, with the exact body sent. pca-verify --log
# checks each attempt: the signature over the id, the timestamp and the body,
# and the timestamp against the time the attempt was made, so a log can be
# checked any time later. Failed attempts (a 503, a timeout) were signed too,
# and are checked too.
#
# Exit status: 0 when every attempt in every log is valid; 1 when some is
# not, or when a log holds no attempt at all (a test that sent nothing must
# not pass); 2 on a usage error; otherwise pca-verify's own status: 65 a line
# that is not a log entry, 66 a log that cannot be read, 78 a secret that
# cannot be read or is not valid.
#
# Needs only a POSIX shell and pca-verify (from PATH, or $PCA_VERIFY).
# The verdicts of each LOG are kept in LOG.verdicts for the build's
# artifacts.
#
# Try it on the demo's deliveries (scripts/demo saves them this way):
#
#   examples/ci-verify.sh out/demo/demo-webhook.whsec out/demo/deliveries.jsonl

set -u
verify=${PCA_VERIFY:-pca-verify}

if [ $# -lt 2 ]; then
	echo "usage: ci-verify.sh SECRET_FILE LOG [LOG...]" >&2
	exit 2
fi
secret=$1
shift

status=0
for log in "$@"; do
	if [ ! -r "$log" ]; then
		echo "ci-verify: $log: cannot be read" >&2
		status=66
		continue
	fi
	# Lines holding something: the attempts pca-verify will judge.
	total=$(grep -c '[^[:space:]]' "$log")
	if [ "$total" -eq 0 ]; then
		echo "ci-verify: $log: no delivery was logged (was --log given to pca-webhook?)" >&2
		[ $status -eq 0 ] && status=1
		continue
	fi
	"$verify" --secret-file "$secret" --log "$log" >"$log.verdicts"
	rc=$?
	case $rc in
	0)
		echo "ci-verify: $log: all $total deliveries valid"
		;;
	1)
		bad=$(grep -c '"valid":false' "$log.verdicts")
		echo "ci-verify: $log: $bad of $total deliveries NOT valid:" >&2
		# {"line":N,"webhook_id":"...","valid":false,"verdict":V,"reason":"..."}
		grep '"valid":false' "$log.verdicts" |
		    sed 's/^{"line":\([0-9]*\),"webhook_id":\([^,]*\),.*"reason":\(.*\)}$/  line \1: \2: \3/' >&2
		[ $status -eq 0 ] && status=1
		;;
	*)
		# pca-verify has said why on stderr.
		echo "ci-verify: $log: pca-verify failed (exit status $rc)" >&2
		[ $status -eq 0 ] || [ $status -eq 1 ] && status=$rc
		;;
	esac
done
exit $status
