//! `throughline demo` and `serve --demo`: a realistic team and 18 months of history, made
//! through the same store operations as real use.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use throughline_demo::{DemoOptions, DemoSummary, generate};
use throughline_store::Store;

use crate::cli::DemoArgs;

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} steps · {per_sec} · ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("Generating the demo team");
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

async fn fill(store: &Store, seed: u64) -> Result<DemoSummary> {
    let bar = progress_bar();
    let started = Instant::now();
    let report = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let summary = generate(store, &DemoOptions::new(seed), &report)
        .await
        .context("the demo could not be generated")?;
    bar.finish_and_clear();
    eprintln!(
        "Demo ready in {:.1} s: {} pipelines, {} deals ({} won, {} lost, {} open), {} leads, {} activities, {} events",
        started.elapsed().as_secs_f64(),
        summary.pipelines,
        summary.deals,
        summary.won,
        summary.lost,
        summary.open,
        summary.leads,
        summary.activities,
        summary.events
    );
    Ok(summary)
}

/// The line the sign-in page shows for a demo database.
fn login_hint(summary: &DemoSummary) -> String {
    let first = summary.logins.first().cloned().unwrap_or_default();
    format!(
        "Demo logins: {} (password “{}”); also {}",
        first,
        summary.password,
        summary
            .logins
            .iter()
            .skip(1)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    )
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let store = Store::open(&args.db.database)
        .await
        .with_context(|| format!("cannot open the database {}", args.db.database))?;
    let summary = fill(&store, args.seed).await?;
    println!("{}", login_hint(&summary));
    store.close().await;
    Ok(())
}

/// A store on a fresh demo database. With `replace`, an existing file at `url` (the default
/// demo file) is deleted first; otherwise the database must be empty.
pub async fn fresh(url: &str, seed: u64, replace: bool) -> Result<(Store, String)> {
    if replace
        && let Ok((throughline_store::Backend::Sqlite, path)) = throughline_store::classify_url(url)
    {
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{path}{suffix}");
            if std::path::Path::new(&file).exists() {
                std::fs::remove_file(&file)
                    .with_context(|| format!("cannot replace the old demo database {file}"))?;
            }
        }
    }
    let store = Store::open(url)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    let summary = fill(&store, seed).await?;
    let hint = login_hint(&summary);
    eprintln!("{hint}");
    Ok((store, hint))
}
