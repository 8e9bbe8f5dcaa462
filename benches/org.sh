#!/usr/bin/env bash
# Organisation-audit benchmark (issue 14): N generated repositories served over git's
# dumb HTTP protocol on 127.0.0.1, scanned by `leakscope org scan` with 1 and 4 clone
# jobs, full then incremental (one new commit in every tenth repository), beside the shell
# loop a user would write (`git clone --mirror` + `leakscope scan --git` per repository).
# Usage: benches/org.sh [LEAKSCOPE_BIN] [N]   (default target/release/leakscope, 200)
# Needs python3 (the static server) and GNU time (/usr/bin/time) for peak RSS.
set -euo pipefail
bin="$(realpath "${1:-target/release/leakscope}")"
n="${2:-200}"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.test
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.test
mkdir -p "$work/srv" "$work/src"
for i in $(seq 1 "$n"); do
  src="$work/src/r$i"
  git init -q -b main "$src"
  for c in 1 2 3 4 5; do
    seq 1 200 | sed "s/^/line $c of repository $i: /" > "$src/file$c.txt"
    git -C "$src" add -A && git -C "$src" commit -qm "commit $c"
  done
  git clone -q --bare "$src" "$work/srv/r$i.git"
  git -C "$work/srv/r$i.git" update-server-info
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/srv" >/dev/null 2>&1 &
server=$!
sleep 1
for i in $(seq 1 "$n"); do echo "http://127.0.0.1:$port/r$i.git"; done > "$work/list"
"$bin" -q org plan --repos "$work/list" -o "$work/manifest.jsonl"

measure() { # label, command...
  local label="$1"; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" "$@" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  python3 - "$label" "$start" "$end" "$(cat "$work/rss")" "$n" <<'PY'
import sys
label, start, end, rss, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
wall = end - start
print(f"{label:38s} wall {wall:7.2f} s  {n / wall * 60:8.0f} repos/min  peak RSS {rss / 1024:6.1f} MB")
PY
}
for jobs in 1 4; do
  rm -rf "$work/cache$jobs"
  measure "org scan, $jobs clone jobs, full" "$bin" -q org scan --manifest "$work/manifest.jsonl" \
    --cache "$work/cache$jobs" -j "$jobs" -o "$work/full$jobs.jsonl"
done
for i in $(seq 1 10 "$n"); do
  echo "new line" >> "$work/src/r$i/file1.txt"
  git -C "$work/src/r$i" commit -qam "later"
  git -C "$work/src/r$i" push -q "$work/srv/r$i.git" main
  git -C "$work/srv/r$i.git" update-server-info
done
for jobs in 1 4; do
  measure "org scan, $jobs clone jobs, incremental" "$bin" -q org scan --manifest "$work/manifest.jsonl" \
    --cache "$work/cache$jobs" -j "$jobs" -o "$work/incr$jobs.jsonl"
done
loop() {
  rm -rf "$work/loop"; mkdir -p "$work/loop"
  while read -r url; do
    dir="$work/loop/$(basename "$url")"
    git clone -q --mirror "$url" "$dir"
    "$bin" -q scan --git "$dir" --format json --exit-zero -o "$dir.json"
  done < "$work/list"
}
export -f loop; export work bin
measure "shell loop: clone --mirror + scan --git" bash -c loop
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
for name in ["full1", "incr1"]:
    cov = [json.loads(l) for l in open(f"{w}/{name}.jsonl") if '"coverage"' in l]
    ok = sum(c["status"] == "ok" for c in cov)
    print(f"{name}: {len(cov)} coverage lines, {ok} ok, blobs_read {sum(c['blobs_read'] for c in cov)}, incremental {sum(bool(c['incremental']) for c in cov)}")
PY
