//! `leakscope schema`: the JSON Schema of the report, generated from the same types the
//! writer serializes and the readers deserialize, so it cannot drift from either.

use super::EXIT_CLEAN;
use anyhow::Context;
use std::io::Write;

pub fn run() -> anyhow::Result<i32> {
    let schema = crate::report::report_schema();
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &schema).context("cannot write the schema")?;
    writeln!(out).context("cannot write the schema")?;
    Ok(EXIT_CLEAN)
}
