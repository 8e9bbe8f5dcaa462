//! `leakscope hook install`. (Being built: issue 4.)

#[derive(Debug, Clone, clap::Args)]
pub struct HookArgs {}

pub fn run(_args: HookArgs) -> anyhow::Result<i32> {
    anyhow::bail!("leakscope hook is not available yet")
}
