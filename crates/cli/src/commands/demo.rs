use anyhow::{Result, bail};
use throughline_store::Store;

use crate::cli::DemoArgs;

pub async fn run(_args: DemoArgs) -> Result<()> {
    bail!("the demo generator is not built yet")
}

/// A store on a fresh demo database. `replace` deletes an existing default demo file first.
pub async fn fresh(_url: &str, _seed: u64, _replace: bool) -> Result<(Store, String)> {
    bail!("the demo generator is not built yet")
}
