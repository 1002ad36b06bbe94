//! The same seed and end give the same history — on SQLite, and on PostgreSQL too — and a
//! different seed gives another.

mod support;

use jiff::{Timestamp, ToSpan};
use support::*;
use throughline_demo::{DemoSummary, generate};
use throughline_store::Store;

const SCALE: f64 = 0.1;

fn instants() -> Vec<Timestamp> {
    let end = at(END);
    [400, 200, 90, 30, 1]
        .iter()
        .map(|days| end.checked_sub((24 * days).hours()).unwrap())
        .chain([end])
        .collect()
}

/// Everything a run produced that does not depend on ids.
async fn fingerprint(
    store: &Store,
    seed: u64,
) -> (DemoSummary, Vec<Figures>, Vec<String>, Vec<String>) {
    let summary = generate(store, &options(seed, SCALE), &|_, _| {})
        .await
        .unwrap();
    let figures = figures(store, &instants()).await;
    let mut deals: Vec<String> = all_deals(store).await.iter().map(deal_content).collect();
    deals.sort();
    let mut leads: Vec<String> = all_leads(store)
        .await
        .iter()
        .map(|l| {
            format!(
                "{} {} {:?} {:?} {} {:?} {:?}",
                l.title, l.status, l.source, l.campaign, l.created_at, l.decided_at, l.value
            )
        })
        .collect();
    leads.sort();
    (summary, figures, deals, leads)
}

#[tokio::test]
async fn the_same_seed_gives_the_same_history_and_another_seed_another() {
    let (a, b, c) = (sqlite().await, sqlite().await, sqlite().await);
    let first = fingerprint(&a.store, 5).await;
    let second = fingerprint(&b.store, 5).await;
    let other = fingerprint(&c.store, 6).await;

    assert!(first.0.deals > 200, "{:?}", first.0);
    assert_eq!(first.0, second.0, "summaries");
    assert_eq!(first.1, second.1, "snapshot figures");
    assert_eq!(first.2, second.2, "deals");
    assert_eq!(first.3, second.3, "leads");
    // The figures are not trivially equal: the pipeline holds deals at each instant.
    assert!(
        first
            .1
            .iter()
            .all(|f| f.iter().map(|row| row.2).sum::<i64>() > 0)
    );

    assert_ne!(first.0, other.0, "another seed, other counts");
    assert_ne!(first.1, other.1, "another seed, other figures");
    assert_ne!(first.2, other.2);
}

#[tokio::test]
async fn postgresql_holds_exactly_what_sqlite_holds() {
    let Some(pg) = postgres().await else {
        eprintln!("PostgreSQL leg skipped (THROUGHLINE_SKIP_POSTGRES=1)");
        return;
    };
    let lite = sqlite().await;
    let on_pg = fingerprint(&pg.store, 9).await;
    let on_lite = fingerprint(&lite.store, 9).await;
    assert!(on_pg.0.events > 1_000);
    assert_eq!(on_pg.0, on_lite.0, "summaries");
    assert_eq!(on_pg.1, on_lite.1, "snapshot figures");
    assert_eq!(on_pg.2, on_lite.2, "deals");
    assert_eq!(on_pg.3, on_lite.3, "leads");
}
