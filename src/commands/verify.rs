//! `leakscope verify`. (Being built: issue 5.)

#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {}

pub fn run(_args: VerifyArgs) -> anyhow::Result<i32> {
    anyhow::bail!("leakscope verify is not available yet")
}
