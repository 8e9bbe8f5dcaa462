#!/usr/bin/env bash
# Output diff: run two leakscope binaries over the same inputs in every report format and
# say, per (input, format), whether their standard output and exit code agree.
#
#   benches/output_diff.sh OLD NEW
#
# One line per (input, format): `SAME` or `DIFF`, the input, the format and the exit
# codes; the first lines of each difference go to stderr. Exit 1 on any DIFF, 0 when all
# are SAME, 2 on a usage error. A format a command refuses counts as SAME when both
# binaries refuse it alike (same exit code, same stdout, same stderr): `(refused by both)`.
# Run it with the same binary as OLD and NEW first: every line must be SAME.
#
# Inputs (paths relative to the repository this script lives in):
#   scan-fixtures-scan  scan fixtures/scan                 (working tree)
#   scan-fixtures       scan fixtures                      (working tree)
#   lint-fixtures-lint  lint fixtures/lint
#   scan-git            scan --git <clone>: a temporary `git clone -q` of this repository,
#                       checked out at OUTDIFF_COMMIT (default 01763e7) with every other ref
#                       (remote branches, tags, other branches) deleted, so that both runs,
#                       today and later, see the same history
#   scan-staged         scan --staged in a temporary repository (one commit) where a file
#                       with a fixture token (fixtures/scan/leaky/deploy.sh) is `git add`ed
#   verify              verify --input <OLD's json report of scan fixtures/scan>, under
#                       `unshare -n` (no network) with the LEAKSCOPE_*_URL endpoint overrides
#                       on loopback and no retries, so every check fails fast and alike
#
# Normalised before comparing, and nothing else: durations (`"duration_ms": N`, `N ms`),
# the start timestamp (`"started": "…"`, the HTML report's When row) and the temporary
# directory's path. Colour is off (--color never, NO_COLOR=1). Both binaries run in the
# same directory with the same environment. OUTDIFF_KEEP=DIR keeps the raw and normalised
# outputs there. Needs git and unshare (root, or user namespaces) for the verify input.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 OLD NEW   (two leakscope binaries)" >&2
  exit 2
fi
OLD=$(realpath "$1")
NEW=$(realpath "$2")
for bin in "$OLD" "$NEW"; do
  [ -x "$bin" ] || { echo "$0: not an executable: $bin" >&2; exit 2; }
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COMMIT=${OUTDIFF_COMMIT:-01763e7}
FORMATS=(human json jsonl sarif github html)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/outdiff.XXXXXX")
TMP=$(realpath "$TMP")
trap 'rm -rf "$TMP"' EXIT
OUT=${OUTDIFF_KEEP:-$TMP/out}
mkdir -p "$OUT"

# No user or system git config: the same git behaviour for both binaries and every run.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null NO_COLOR=1
export GIT_AUTHOR_NAME=outdiff GIT_AUTHOR_EMAIL=outdiff@example.invalid
export GIT_COMMITTER_NAME=outdiff GIT_COMMITTER_EMAIL=outdiff@example.invalid
export GIT_AUTHOR_DATE='2026-01-01T00:00:00+00:00' GIT_COMMITTER_DATE='2026-01-01T00:00:00+00:00'
# No endpoint override leaks in from the caller's environment except the ones set below.
unset LEAKSCOPE_GITHUB_API_URL LEAKSCOPE_ANACONDA_API_URL LEAKSCOPE_ANACONDA_CLOUD_URL \
  LEAKSCOPE_ANACONDA_COM_URL LEAKSCOPE_GITHUB_GIT_URL

# --- inputs -------------------------------------------------------------------------------
CLONE=$TMP/clone
git clone -q "$ROOT" "$CLONE"
git -C "$CLONE" checkout -q -B outdiff-fixed "$COMMIT"
git -C "$CLONE" remote remove origin
git -C "$CLONE" for-each-ref --format='%(refname)' |
  { grep -vx 'refs/heads/outdiff-fixed' || true; } |
  while read -r ref; do git -C "$CLONE" update-ref -d "$ref"; done
git -C "$CLONE" reflog expire --expire=now --all
git -C "$CLONE" gc -q --prune=now

STAGED=$TMP/staged
git init -q -b main "$STAGED"
echo "# staged-scan fixture repository" > "$STAGED/README.md"
git -C "$STAGED" add README.md
git -C "$STAGED" commit -q -m initial
cp "$ROOT/fixtures/scan/leaky/deploy.sh" "$STAGED/deploy.sh"
git -C "$STAGED" add deploy.sh

VERIFY_INPUT=$TMP/verify-input.json
(cd "$ROOT" && "$OLD" -q scan --format json --exit-zero fixtures/scan > "$VERIFY_INPUT")

# Loopback endpoints in a namespace with no network (its loopback is down, too): every
# request fails at connect, at once and the same way for both binaries.
LOOP=http://127.0.0.1:9
VERIFY_ENV=(env LEAKSCOPE_GITHUB_API_URL=$LOOP LEAKSCOPE_ANACONDA_API_URL=$LOOP
  LEAKSCOPE_ANACONDA_CLOUD_URL=$LOOP LEAKSCOPE_ANACONDA_COM_URL=$LOOP)
VERIFY_FLAGS=(--verify-retries 0 --verify-timeout 5 --verify-max-wait 1)

# --- running and comparing -------------------------------------------------------------------
# run NAME BIN FORMAT: the command of input NAME, with BIN and FORMAT.
run() {
  local name=$1 bin=$2 fmt=$3
  case $name in
    scan-fixtures-scan) (cd "$ROOT" && "$bin" scan --color never --format "$fmt" fixtures/scan) ;;
    scan-fixtures) (cd "$ROOT" && "$bin" scan --color never --format "$fmt" fixtures) ;;
    lint-fixtures-lint) (cd "$ROOT" && "$bin" lint --color never --format "$fmt" fixtures/lint) ;;
    scan-git) (cd "$TMP" && "$bin" scan --git --color never --format "$fmt" "$CLONE") ;;
    scan-staged) (cd "$STAGED" && "$bin" scan --staged --color never --format "$fmt") ;;
    verify) (cd "$ROOT" && unshare -n "${VERIFY_ENV[@]}" "$bin" verify --input "$VERIFY_INPUT" \
      "${VERIFY_FLAGS[@]}" --color never --format "$fmt") ;;
    *) echo "unknown input $name" >&2; return 2 ;;
  esac
}

normalise() {
  sed -E \
    -e "s#${TMP}#<TMP>#g" \
    -e 's#"duration_ms": ?[0-9]+#"duration_ms": <N>#g' \
    -e 's#\b[0-9]+ ms\b#<N> ms#g' \
    -e 's#"started": ?"[^"]*"#"started": "<STARTED>"#g' \
    -e 's#<th>When</th><td>[^<]*</td>#<th>When</th><td><STARTED></td>#g'
}

INPUTS=(scan-fixtures-scan scan-fixtures lint-fixtures-lint scan-git scan-staged verify)
diffs=0
for name in "${INPUTS[@]}"; do
  for fmt in "${FORMATS[@]}"; do
    base=$OUT/$name.$fmt
    for side in old new; do
      bin=$OLD; [ $side = new ] && bin=$NEW
      rc=0
      run "$name" "$bin" "$fmt" > "$base.$side.raw" 2> "$base.$side.err" || rc=$?
      echo "$rc" > "$base.$side.rc"
      normalise < "$base.$side.raw" > "$base.$side.out"
      normalise < "$base.$side.err" > "$base.$side.errn"
    done
    orc=$(cat "$base.old.rc") nrc=$(cat "$base.new.rc")
    if [ "$orc" = "$nrc" ] && cmp -s "$base.old.out" "$base.new.out"; then
      note=""
      if [ "$orc" = 2 ] && [ ! -s "$base.old.out" ]; then
        if cmp -s "$base.old.errn" "$base.new.errn"; then
          note=" (refused by both: $(head -n1 "$base.old.errn" | cut -c1-100))"
        else
          printf 'DIFF  %-20s %-7s rc %s/%s (both refused, stderr differs)\n' "$name" "$fmt" "$orc" "$nrc"
          diff "$base.old.errn" "$base.new.errn" | head -n 10 | sed 's/^/    /' >&2 || true
          diffs=$((diffs + 1))
          continue
        fi
      fi
      printf 'SAME  %-20s %-7s rc %s%s\n' "$name" "$fmt" "$orc" "$note"
    else
      printf 'DIFF  %-20s %-7s rc %s/%s\n' "$name" "$fmt" "$orc" "$nrc"
      diff "$base.old.out" "$base.new.out" | head -n 10 | cut -c1-300 | sed 's/^/    /' >&2 || true
      diffs=$((diffs + 1))
    fi
  done
done

echo "$diffs of $((${#INPUTS[@]} * ${#FORMATS[@]})) (input, format) pairs differ"
[ "$diffs" -eq 0 ] || exit 1
