#!/bin/sh
# Run a fuzz target once over each committed seed and regression of NAME,
# leaving out the inputs listed in known-failures (bugs not fixed yet).
#
#   replay.sh EXE NAME FUZZ_DIR
set -u
exe=${1:?usage: replay.sh EXE NAME FUZZ_DIR}
name=${2:?}
dir=${3:?}

known() {
	# "NAME/FILE reason..." lines; '#' starts a comment
	sed -e 's/#.*//' "$dir/known-failures" 2>/dev/null | awk -v n="$name" \
	    '{ split($1, a, "/"); if (a[1] == n && a[2] != "") print a[2] }'
}

skip=$(known)
set --
for f in "$dir/corpus/$name"/* "$dir/regressions/$name"/*; do
	[ -f "$f" ] || continue
	base=${f##*/}
	if [ -n "$skip" ] && printf '%s\n' "$skip" | grep -qxF "$base"; then
		echo "skipped (known failure): $f"
		continue
	fi
	set -- "$@" "$f"
done
if [ $# -eq 0 ]; then
	echo "no inputs for $name"
	exit 0
fi
echo "$name: replaying $# inputs"
exec "$exe" -rss_limit_mb=2048 -timeout=30 "$@"
