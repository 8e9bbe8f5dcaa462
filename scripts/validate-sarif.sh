#!/usr/bin/env bash
# Validates leakscope's SARIF with Microsoft's SARIF Multitool and GitHub's ingestion
# rules (`--rule-kind "Gh;Sarif"`): a scan of the leaky fixtures, a history scan of a
# generated repository, and a lint of the bad lint fixtures. Any error fails.
# Usage: scripts/validate-sarif.sh LEAKSCOPE_BINARY SARIF_MULTITOOL (the Sarif.Multitool
# executable of the npm package @microsoft/sarif-multitool-linux)
set -euo pipefail
bin=$1
multitool=$2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" scan --format sarif -o "$work/scan.sarif" --exit-zero "$root/fixtures/scan/leaky"
"$bin" lint --format sarif -o "$work/lint.sarif" --exit-zero "$root/fixtures/lint"

repo="$work/repo"
git init -q -b main "$repo"
cp -r "$root/fixtures/scan/leaky/." "$repo/"
git -C "$repo" add -A
git -C "$repo" -c user.name=ci -c user.email=ci@leakscope.invalid commit -q -m "leaky fixtures"
git -C "$repo" rm -q -r src
git -C "$repo" -c user.name=ci -c user.email=ci@leakscope.invalid commit -q -m "remove src"
"$bin" scan --git --quiet --format sarif -o "$work/history.sarif" --exit-zero "$repo"

status=0
for f in scan lint history; do
  # The Multitool prints one `FILE(LINE,COL): error CODE: ...` line per error and exits 0
  # either way, so its errors are counted from its output.
  "$multitool" validate --rule-kind "Gh;Sarif" --output "$work/$f.validation.sarif" \
    "$work/$f.sarif" >"$work/$f.log" 2>&1 || { cat "$work/$f.log"; status=1; }
  errors=$(grep -c ": error " "$work/$f.log" || true)
  echo "sarif-multitool validate --rule-kind Gh;Sarif $f.sarif: $errors error(s)"
  if [ "$errors" != "0" ]; then
    grep ": error " "$work/$f.log" | head -20
    status=1
  fi
done
exit $status
