//! `nomen bench`: speed and memory of each stage.

use anyhow::Result;
use clap::Args;

/// Arguments of `nomen bench`.
#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    model: crate::ModelArgs,
}

/// Runs the benchmark.
pub fn run(args: BenchArgs) -> Result<()> {
    let _ = args.model.config()?;
    anyhow::bail!("not yet")
}
