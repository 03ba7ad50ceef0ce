#!/bin/sh
# TLS verification cannot be turned off by accident: no program has an option
# like curl's -k, and none without the word "insecure" in its name. Prints TAP.
set -u
build=${1:?usage: no-insecure-options.sh BUILD_DIR}
n=0
fail=0
for prog in pca-render pca-send-email pca-send-sms pca-verify pca-webhook; do
  [ -x "$build/cmd/$prog" ] || continue
  n=$((n + 1))
  help=$("$build/cmd/$prog" --help)
  bad=$(printf '%s\n' "$help" | grep -iE '(^|[[:space:]])(-k|--no-verify|--no-check|--skip-verify|--insecure|--no-tls-verify|--ssl-no-revoke)([[:space:],=]|$)|verify[^ ]*[[:space:]]+(off|false)')
  if [ -n "$bad" ]; then
    echo "not ok $n - $prog has an option that turns verification off"
    printf '%s\n' "$bad" | sed 's/^/#   /'
    fail=1
  else
    echo "ok $n - $prog: no option turns TLS verification off"
  fi
done
[ "$n" -gt 0 ] || { echo "not ok 1 - no programs found in $build/cmd"; n=1; fail=1; }
echo "1..$n"
exit $fail
