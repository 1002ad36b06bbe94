//! The report tables kept in step operation by operation equal a rebuild from scratch.

mod support;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use support::*;
use throughline_core::deal::{DealPatch, DealStatus, NewDeal};
use throughline_core::lead::{NewLead, Qualify};
use throughline_core::pipeline::{NewPipeline, NewStage};
use throughline_core::{Actor, DealId, LeadId, Role};
use throughline_store::deals::{self, CloseDeal, MoveDeal};
use throughline_store::{Ctx, Store, Tx, leads, pipelines, rollups};

type Dump = Vec<String>;

async fn dump(tx: &mut Tx, store: &Store) -> Dump {
    let _ = store;
    let mut out = vec![];
    for (table, cols) in [
        (
            "report_inflow",
            "pipeline_id, day, kind, owner_id, source, campaign, entered, qualified, won, won_value, won_cycle_ms",
        ),
        (
            "report_funnel_owner",
            "pipeline_id, day, stage_id, owner_id, entries, progressed",
        ),
        (
            "report_funnel_source",
            "pipeline_id, day, stage_id, source, campaign, entries, progressed",
        ),
        (
            "report_funnel_full",
            "pipeline_id, day, stage_id, owner_id, source, campaign, entries, progressed",
        ),
        (
            "report_closed",
            "pipeline_id, day, owner_id, won, count, value, cycle_ms",
        ),
        (
            "report_stays",
            "pipeline_id, month, stage_id, days, exit, to_stage, count",
        ),
        ("report_reach", "pipeline_id, stage_id, outcome, count"),
        (
            "report_inflow_day",
            "pipeline_id, day, kind, entered, qualified, won, won_value, won_cycle_ms",
        ),
        (
            "report_closed_day",
            "pipeline_id, day, won, count, value, cycle_ms",
        ),
    ] {
        out.extend(
            rollups::debug_rows(tx, table, cols)
                .await
                .unwrap()
                .into_iter()
                .map(|r| format!("{table}: {r}")),
        );
    }
    out.sort();
    out
}

/// The day tables hold exactly the cut tables summed over owners, sources and campaigns.
async fn assert_day_tables_sum_the_cut_tables(tx: &mut Tx) {
    let rows = async |tx: &mut Tx, table: &str, columns: &str| {
        let mut rows = rollups::debug_rows(tx, table, columns).await.unwrap();
        rows.sort();
        rows
    };
    let inflow = "pipeline_id, day, kind, entered, qualified, won, won_value, won_cycle_ms";
    let summed_inflow = rows(
        tx,
        "(SELECT pipeline_id, day, kind, CAST(SUM(entered) AS BIGINT) AS entered,
                 CAST(SUM(qualified) AS BIGINT) AS qualified, CAST(SUM(won) AS BIGINT) AS won,
                 CAST(SUM(won_value) AS BIGINT) AS won_value, CAST(SUM(won_cycle_ms) AS BIGINT) AS won_cycle_ms
          FROM report_inflow GROUP BY pipeline_id, day, kind) t",
        inflow,
    )
    .await;
    assert!(!summed_inflow.is_empty());
    assert_eq!(rows(tx, "report_inflow_day", inflow).await, summed_inflow);
    let closed = "pipeline_id, day, won, count, value, cycle_ms";
    let summed_closed = rows(
        tx,
        "(SELECT pipeline_id, day, won, CAST(SUM(count) AS BIGINT) AS count,
                 CAST(SUM(value) AS BIGINT) AS value, CAST(SUM(cycle_ms) AS BIGINT) AS cycle_ms
          FROM report_closed GROUP BY pipeline_id, day, won) t",
        closed,
    )
    .await;
    assert!(!summed_closed.is_empty());
    assert_eq!(rows(tx, "report_closed_day", closed).await, summed_closed);
}

async fn scenario(db: TestDb, seed: u64) {
    let store = &db.store;
    let reps = [
        add_user(store, "a@example.com", Role::Rep).await,
        add_user(store, "b@example.com", Role::Rep).await,
    ];
    let mut tx = store.write().await.unwrap();
    let sys = system("2026-01-01T08:00:00Z");
    let p = pipelines::create(
        &mut tx,
        &sys,
        NewPipeline {
            name: "P".into(),
            currency: None,
        },
    )
    .await
    .unwrap();
    let mut stages = vec![];
    for (i, name) in ["One", "Two", "Three", "Four"].iter().enumerate() {
        let stage = NewStage {
            name: (*name).into(),
            probability: 10 + 20 * i as i64,
            ..Default::default()
        };
        stages.push(
            pipelines::create_stage(&mut tx, &sys, p.id, stage)
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = at("2026-01-01T09:00:00Z");
    let mut deal_ids: Vec<DealId> = vec![];
    let mut lead_ids: Vec<LeadId> = vec![];
    let sources = ["Web", "Referral", "Event"];
    let mut tx = store.write().await.unwrap();
    for _ in 0..160 {
        t += jiff::SignedDuration::from_mins(rng.random_range(30..3000));
        let actor = reps[rng.random_range(0..2)];
        let ctx = Ctx::new(Actor::SYSTEM, t);
        match rng.random_range(0..10) {
            0 | 1 => {
                let d = deals::create(
                    &mut tx,
                    &ctx,
                    NewDeal {
                        title: "d".into(),
                        stage_id: Some(stages[rng.random_range(0..2)].id),
                        value: rng.random_range(0..100_000),
                        owner_id: actor.user_id,
                        source: Some(sources[rng.random_range(0..3)].into()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
                deal_ids.push(d.id);
            }
            2 => {
                let l = leads::create(
                    &mut tx,
                    &ctx,
                    NewLead {
                        title: "l".into(),
                        owner_id: actor.user_id,
                        source: Some(sources[rng.random_range(0..3)].into()),
                        campaign: Some("Spring".into()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
                lead_ids.push(l.id);
            }
            3 if !lead_ids.is_empty() => {
                let l = lead_ids.swap_remove(rng.random_range(0..lead_ids.len()));
                let (_, d) = leads::qualify(
                    &mut tx,
                    &ctx,
                    l,
                    Qualify {
                        pipeline_id: Some(p.id),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
                deal_ids.push(d.id);
            }
            4..=6 if !deal_ids.is_empty() => {
                let id = deal_ids[rng.random_range(0..deal_ids.len())];
                let d = deals::require(&mut tx, &ctx, id).await.unwrap();
                if d.status == DealStatus::Open {
                    let target = stages[rng.random_range(0..4)].id;
                    deals::move_to(
                        &mut tx,
                        &ctx,
                        id,
                        MoveDeal {
                            stage_id: target,
                            version: d.version,
                            force: true,
                        },
                    )
                    .await
                    .unwrap();
                }
            }
            7 if !deal_ids.is_empty() => {
                let id = deal_ids[rng.random_range(0..deal_ids.len())];
                let d = deals::require(&mut tx, &ctx, id).await.unwrap();
                let body = CloseDeal {
                    reason: Some("price".into()),
                    version: None,
                };
                match d.status {
                    DealStatus::Open if rng.random_bool(0.5) => {
                        drop(deals::win(&mut tx, &ctx, id, body).await.unwrap())
                    }
                    DealStatus::Open => drop(deals::lose(&mut tx, &ctx, id, body).await.unwrap()),
                    _ => drop(deals::reopen(&mut tx, &ctx, id, None).await.unwrap()),
                }
            }
            8 if !deal_ids.is_empty() => {
                let id = deal_ids[rng.random_range(0..deal_ids.len())];
                let d = deals::require(&mut tx, &ctx, id).await.unwrap();
                let patch = DealPatch {
                    version: d.version,
                    value: Some(rng.random_range(0..100_000)),
                    owner_id: reps[rng.random_range(0..2)].user_id,
                    source: Some(Some(sources[rng.random_range(0..3)].into())),
                    ..Default::default()
                };
                deals::update(&mut tx, &ctx, id, patch).await.unwrap();
            }
            _ => {}
        }
    }
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    let incremental = dump(&mut tx, store).await;
    assert_day_tables_sum_the_cut_tables(&mut tx).await;
    rollups::rebuild(&mut tx).await.unwrap();
    assert_day_tables_sum_the_cut_tables(&mut tx).await;
    let rebuilt = dump(&mut tx, store).await;
    tx.commit().await.unwrap();
    assert!(
        incremental.len() > 20,
        "the scenario filled the tables ({} rows)",
        incremental.len()
    );
    assert_eq!(
        incremental, rebuilt,
        "incremental upkeep and a rebuild must agree"
    );

    // Reordering stages rebuilds, and the funnel follows the new order.
    let mut tx = store.write().await.unwrap();
    let order: Vec<_> = stages.iter().rev().map(|s| s.id).collect();
    pipelines::reorder_stages(&mut tx, &sys, p.id, &order)
        .await
        .unwrap();
    let after_reorder = dump(&mut tx, store).await;
    rollups::rebuild(&mut tx).await.unwrap();
    assert_eq!(after_reorder, dump(&mut tx, store).await);
}

#[tokio::test]
async fn report_tables_kept_in_step_equal_a_rebuild_on_every_backend() {
    for (i, db) in backends().await.into_iter().enumerate() {
        scenario(db, 11 + i as u64).await;
    }
}
