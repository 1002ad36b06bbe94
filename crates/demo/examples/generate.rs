//! Generate the demo into a database and report how long it took:
//! `cargo run --release -p throughline-demo --example generate -- DATABASE_URL [SCALE] [SEED]`.
//! Set `DEMO_RUNTIME=multi` to run on a multi-thread runtime instead of a current-thread one.

use std::time::Instant;

use throughline_demo::{DemoOptions, generate};
use throughline_store::Store;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let multi = std::env::var("DEMO_RUNTIME").is_ok_and(|v| v == "multi");
    let runtime = if multi {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()?;
    runtime.block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: generate DATABASE_URL [SCALE] [SEED]")?;
    let scale: f64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1.0);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(7);
    let store = Store::open(&url).await?;
    let opts = DemoOptions {
        scale,
        ..DemoOptions::new(seed)
    };
    let started = Instant::now();
    let summary = generate(&store, &opts, &|done, total| {
        if done == total {
            eprintln!("{done}/{total} steps");
        }
    })
    .await?;
    println!("{summary:#?}");
    println!("generated in {:.2?}", started.elapsed());
    Ok(())
}
