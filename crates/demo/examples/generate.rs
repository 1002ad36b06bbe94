//! Generate the demo into a database and report how long it took:
//! `cargo run --release -p throughline-demo --example generate -- DATABASE_URL [SCALE] [SEED]`.

use std::time::Instant;

use throughline_demo::{DemoOptions, generate};
use throughline_store::Store;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: generate DATABASE_URL [SCALE] [SEED]")?;
    let scale: f64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1.0);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
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
