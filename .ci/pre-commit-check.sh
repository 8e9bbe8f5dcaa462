#!/usr/bin/env bash
# The pre-commit framework against leakscope's hooks, offline: the manifest validates,
# and a `repo: local` hook with language system (what `leakscope-system` is) blocks a
# commit that adds a token and lets a clean one through.
# Usage: .ci/pre-commit-check.sh PRE_COMMIT_BIN LEAKSCOPE_BIN
set -euo pipefail
pre_commit="$1"
leakscope="$(realpath "$2")"
root="$(cd "$(dirname "$0")/.." && pwd)"
"$pre_commit" validate-manifest "$root/.pre-commit-hooks.yaml"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export PRE_COMMIT_HOME="$work/cache" GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.invalid GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.invalid
cd "$work"
git init -q -b main repo
cd repo
cat > .pre-commit-config.yaml <<YAML
repos:
  - repo: local
    hooks:
      - id: leakscope-system
        name: leakscope
        entry: $leakscope scan --staged --quiet
        language: system
        pass_filenames: true
        require_serial: true
YAML
"$pre_commit" validate-config .pre-commit-config.yaml
git add .pre-commit-config.yaml && git commit -qm config
"$pre_commit" install >/dev/null
echo "clean = 1" > clean.txt
git add clean.txt
git commit -qm clean || { echo "pre-commit: a clean commit was refused"; exit 1; }
# A never-issued token made here: 30 base62 characters and their CRC32, base62-encoded.
token="$(python3 - <<'PY'
import zlib
A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
body = "".join(A[(i * 7 + 3) % 62] for i in range(30))
n, s = zlib.crc32(body.encode()), ""
while n:
    n, r = divmod(n, 62)
    s = A[r] + s
print("ghp_" + body + s.rjust(6, "0"))
PY
)"
echo "token = $token" > leak.txt
git add leak.txt
if git commit -qm leak 2> commit.log; then
  echo "pre-commit: a commit adding a token went through"; exit 1
fi
grep -q "leak.txt" commit.log || { echo "pre-commit: the refusal does not name the file"; cat commit.log; exit 1; }
if grep -q "$token" commit.log; then echo "pre-commit: the token was printed whole"; exit 1; fi
echo "pre-commit framework: manifest valid, local system hook blocks a token and passes a clean commit"
