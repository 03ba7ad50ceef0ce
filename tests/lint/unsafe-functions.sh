#!/bin/sh
# Fails when the project's C code calls a function that has no bound on what
# it writes, or that turns untrusted text into numbers without saying whether
# it could: use snprintf, pca_buf, strtol with an end pointer instead.
# Prints TAP.
set -u
root=${1:?usage: unsafe-functions.sh SOURCE_DIR}
banned='strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|atof|strtok|strncpy|strncat|tmpnam|tempnam|mktemp|system|popen|alloca'
n=0
fail=0
for dir in lib cmd tests/tools tests/fuzz; do
  [ -d "$root/$dir" ] || continue
  n=$((n + 1))
  # A call is the name followed by "(", not preceded by a letter, digit or _
  # (so snprintf and pca_strdup do not count), outside comments' common forms.
  hits=$(grep -nE "(^|[^A-Za-z0-9_])($banned)[[:space:]]*\(" "$root/$dir"/*.c "$root/$dir"/*.h 2>/dev/null |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*|//)')
  if [ -n "$hits" ]; then
    echo "not ok $n - $dir uses unsafe functions"
    echo "$hits" | sed 's/^/#   /'
    fail=1
  else
    echo "ok $n - $dir has none of: $banned"
  fi
done
echo "1..$n"
exit $fail
