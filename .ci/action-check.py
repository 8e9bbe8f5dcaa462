"""Runs the `Run leakscope ci` step of action.yml as the runner would (bash, the step's
env from the inputs), offline, against a repository made here with a never-issued token:
fail-on any fails the step, never passes it, a bad value is refused, and the step's
outputs (findings, sarif) land in $GITHUB_OUTPUT. The install step is not run: it
downloads from the release page.

Usage: python action-check.py LEAKSCOPE_BIN   (with PyYAML, which pre-commit brings)
"""
import os
import subprocess
import sys
import tempfile
import zlib

import yaml

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = os.path.abspath(sys.argv[1])
with open(os.path.join(root, "action.yml")) as f:
    action = yaml.safe_load(f)
step = next(s for s in action["runs"]["steps"] if s.get("id") == "scan")
inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}

A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
body = "".join(A[(i * 11 + 5) % 62] for i in range(30))
n, check = zlib.crc32(body.encode()), ""
while n:
    n, r = divmod(n, 62)
    check = A[r] + check
token = "ghp_" + body + check.rjust(6, "0")


def run_step(work, **overrides):
    values = dict(inputs, **overrides)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI_"))}
    for name, expr in step["env"].items():
        key = expr.strip("${} ").removeprefix("inputs.")
        env[name] = values[key]
    out_file = os.path.join(work, "output.txt")
    open(out_file, "w").close()
    env.update(
        PATH=os.path.dirname(binary) + os.pathsep + env["PATH"],
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME="schedule",
        GITHUB_OUTPUT=out_file,
    )
    proc = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=os.path.join(work, "repo"), env=env,
        capture_output=True, text=True,
    )
    with open(out_file) as f:
        return proc.returncode, proc.stdout, f.read()


with tempfile.TemporaryDirectory() as work:
    repo = os.path.join(work, "repo")
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    with open(os.path.join(repo, "config.env"), "w") as f:
        f.write(f"TOKEN={token}\n")
    subprocess.run(git + ["add", "-A"], cwd=repo, check=True)
    subprocess.run(git + ["commit", "-qm", "leak"], cwd=repo, check=True)

    code, stdout, outputs = run_step(work)
    assert code == 1, (code, stdout)
    assert "::error file=config.env,line=1," in stdout, stdout
    assert token not in stdout
    assert outputs == "findings=1\nsarif=leakscope.sarif\n", outputs
    assert os.path.exists(os.path.join(repo, "leakscope.sarif"))

    code, _, outputs = run_step(work, **{"fail-on": "never", "sarif": ""})
    assert code == 0 and outputs == "findings=1\n", (code, outputs)

    code, stdout, _ = run_step(work, **{"fail-on": "sometimes"})
    assert code == 2 and "fail-on must be any, live or never" in stdout, (code, stdout)

    code, _, _ = run_step(work, args="--base HEAD")
    assert code == 0, code
print("action.yml: run step passes inputs, fails on findings, writes its outputs")
