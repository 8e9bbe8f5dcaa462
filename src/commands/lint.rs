//! `leakscope lint`. (Being built: issue 6.)

#[derive(Debug, Clone, clap::Args)]
pub struct LintArgs {}

pub fn run(_args: LintArgs) -> anyhow::Result<i32> {
    anyhow::bail!("leakscope lint is not available yet")
}
