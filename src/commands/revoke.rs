//! `leakscope revoke`. (Being built: issue 5.)

#[derive(Debug, Clone, clap::Args)]
pub struct RevokeArgs {}

pub fn run(_args: RevokeArgs) -> anyhow::Result<i32> {
    anyhow::bail!("leakscope revoke is not available yet")
}
