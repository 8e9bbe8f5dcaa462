#!/usr/bin/env bash
# Pre-commit latency: `leakscope scan --staged` on a 1 000-line staged change in a large
# repository. Target (issue 16): under 25 ms wall (issue 4 asked for 50).
#
#   cargo build --release && benches/hook_latency.sh [files] [commits] [runs]
#
# Builds (once, reused) target/bench-hook/repo with `git fast-import`: FILES text files
# (default 5000) in nested directories and COMMITS commits (default 3000) that each edit a
# few files. Then stages a change of 1 000 added lines spread over 20 files (edits, not
# new files, so the added-line diff runs) and times RUNS (default 21) runs of the release
# binary, reporting min / median / max wall and peak RSS. No tokens are planted: the
# timing is the no-finding path a clean commit takes. Nothing here touches the network.
set -euo pipefail

FILES=${1:-5000}
COMMITS=${2:-3000}
RUNS=${3:-21}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${LEAKSCOPE_BENCH_BIN:-$ROOT/target/release/leakscope}
WORK=$ROOT/target/bench-hook
REPO=$WORK/repo

[ -x "$BIN" ] || { echo "build first: cargo build --release (no $BIN)" >&2; exit 2; }
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

if [ "$(cat "$WORK/params" 2>/dev/null)" != "$FILES $COMMITS" ]; then
  rm -rf "$WORK"
  mkdir -p "$REPO"
  git -C "$REPO" init -q -b main
  echo "generating $FILES files, $COMMITS commits ..." >&2
  python3 - "$FILES" "$COMMITS" <<'PY' | git -C "$REPO" fast-import --quiet --done
import random, sys
files, commits = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(4)
words = "alpha beta gamma delta config value return import def class self data token_count user path".split()
paths = [f"src/m{i % 40}/d{i % 7}/file{i}.py" for i in range(files)]
def body(n):
    return "".join(f"{rng.choice(words)} = {rng.randint(0, 10**6)}  # {rng.choice(words)} {rng.choice(words)}\n" for _ in range(n))
out = sys.stdout.buffer
def data(b):
    b = b.encode()
    out.write(b"data %d\n" % len(b)); out.write(b); out.write(b"\n")
contents = {p: body(rng.randint(20, 80)) for p in paths}
t = 1_600_000_000
for c in range(commits):
    out.write(b"commit refs/heads/main\n")
    out.write(b"committer Bench <bench@example.test> %d +0000\n" % (t + c * 600))
    data(f"change {c}")
    touched = paths if c == 0 else rng.sample(paths, 3)
    for p in touched:
        if c > 0:
            contents[p] += body(2)
        out.write(b"M 100644 inline " + p.encode() + b"\n")
        data(contents[p])
out.write(b"done\n")
PY
  git -C "$REPO" checkout -q -f main
  git -C "$REPO" repack -adq
  echo "$FILES $COMMITS" > "$WORK/params"
fi

# Reset to HEAD, then stage 1 000 added lines over 20 existing files.
git -C "$REPO" reset -q --hard
python3 - "$REPO" <<'PY'
import os, subprocess, sys
repo = sys.argv[1]
files = subprocess.run(["git", "-C", repo, "ls-files"], capture_output=True, text=True).stdout.split()[:20]
for i, f in enumerate(files):
    with open(os.path.join(repo, f), "a") as h:
        for j in range(50):
            h.write(f"added_{i}_{j} = compute({i}, {j})  # a new line of code\n")
PY
git -C "$REPO" add -A
echo "staged: $(git -C "$REPO" diff --cached --numstat | awk '{a+=$1} END {print a}') added lines in $(git -C "$REPO" diff --cached --name-only | wc -l) files; repo: $(git -C "$REPO" ls-files | wc -l) files, $(git -C "$REPO" rev-list --count HEAD) commits" >&2

cd "$REPO"
"$BIN" scan --staged --quiet --format json > "$WORK/out.json" || { echo "leakscope failed (exit $?)" >&2; cat "$WORK/out.json" >&2; exit 2; }
walls=()
for _ in $(seq "$RUNS"); do
  s=$(date +%s%N)
  "$BIN" scan --staged --quiet > /dev/null
  e=$(date +%s%N)
  walls+=($(( (e - s) / 1000 )))
done
rss=$(/usr/bin/time -f %M "$BIN" scan --staged --quiet 2>&1 >/dev/null | tail -1)
sorted=($(printf '%s\n' "${walls[@]}" | sort -n))
n=${#sorted[@]}
printf 'scan --staged, %d runs: min %.1f ms, median %.1f ms, max %.1f ms; peak RSS %d KB (target: median < 25 ms, issue 16)\n' \
  "$n" "$(echo "${sorted[0]}/1000" | bc -l)" "$(echo "${sorted[$((n / 2))]}/1000" | bc -l)" \
  "$(echo "${sorted[$((n - 1))]}/1000" | bc -l)" "$rss"
