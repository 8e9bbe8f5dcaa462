//! Runs the leakscope binary and reads its JSON report: shared by the CLI tests.

#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::ffi::OsStr;
use std::path::Path;

/// `leakscope ARGS` run in `cwd`: the exit code (-1 if killed), stdout parsed as JSON
/// (`Null` when it is not JSON) and stderr.
pub fn leakscope_json<I, S>(cwd: &Path, args: I) -> (i32, Value, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = Command::cargo_bin("leakscope")
        .unwrap()
        .env_remove("NO_COLOR")
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
