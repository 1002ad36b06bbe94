//! The bulk writer records the same past as the single-deal operations: random histories
//! written once through `DealWriter` (into one pipeline) and once through create, move, win
//! and lose at the same instants (into a twin pipeline) give the same snapshots at every
//! instant, the same report-table rows, the same deal rows and the same event history.

mod support;

use std::collections::BTreeMap;

use jiff::Timestamp;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use support::*;
use throughline_core::deal::{Deal, DealStatus, NewDeal};
use throughline_core::pipeline::{NewPipeline, NewStage};
use throughline_core::{Actor, DealId, PipelineId, Role, StageId, UserId};
use throughline_store::bulk::{DealWriter, ImportedDeal};
use throughline_store::deals::{self, CloseDeal, DealFilter, MoveDeal};
use throughline_store::{Ctx, Store, pipelines, rollups, snapshot};

const STAGES: [&str; 4] = ["Lead", "Qualified", "Proposal", "Negotiation"];

struct History {
    title: String,
    owner: usize,
    value: i64,
    source: Option<String>,
    /// Stage indexes entered and when; the first is the creation.
    entries: Vec<(usize, Timestamp)>,
    close: Option<(bool, Timestamp)>,
}

fn histories(seed: u64, n: usize) -> Vec<History> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let start = at("2024-01-01T08:00:00Z").as_millisecond();
    (0..n)
        .map(|i| {
            let mut t =
                start + rng.random_range(0..200i64) * 86_400_000 + rng.random_range(0..86_400_000);
            let mut stage = 0usize;
            let mut entries = vec![(0, Timestamp::from_millisecond(t).unwrap())];
            for _ in 0..rng.random_range(0..5) {
                t += rng.random_range(0..20i64 * 86_400_000);
                // Mostly forward, sometimes back, never the same stage twice in a row.
                let next = if stage > 0 && rng.random_bool(0.25) {
                    stage - 1
                } else {
                    (stage + rng.random_range(1..3)).min(STAGES.len() - 1)
                };
                if next != stage {
                    stage = next;
                    entries.push((stage, Timestamp::from_millisecond(t).unwrap()));
                }
            }
            let close = match rng.random_range(0..3) {
                0 => None,
                won => Some((
                    won == 1,
                    Timestamp::from_millisecond(t + rng.random_range(0..30i64 * 86_400_000))
                        .unwrap(),
                )),
            };
            History {
                title: format!("Deal {i}"),
                owner: rng.random_range(0..3),
                value: rng.random_range(0..500i64) * 1_000,
                source: ["Web", "Referral", "Events"]
                    .get(rng.random_range(0..4))
                    .map(|s| s.to_string()),
                entries,
                close,
            }
        })
        .collect()
}

async fn pipeline(store: &Store, name: &str) -> (PipelineId, Vec<StageId>) {
    let mut tx = store.write().await.unwrap();
    let ctx = system("2023-12-01T00:00:00Z");
    let p = pipelines::create(
        &mut tx,
        &ctx,
        NewPipeline {
            name: name.into(),
            currency: None,
        },
    )
    .await
    .unwrap();
    let mut ids = vec![];
    for (i, s) in STAGES.iter().enumerate() {
        let stage = pipelines::create_stage(
            &mut tx,
            &ctx,
            p.id,
            NewStage {
                name: s.to_string(),
                probability: 20 * (i as i64 + 1),
                ..NewStage::default()
            },
        )
        .await
        .unwrap();
        ids.push(stage.id);
    }
    tx.commit().await.unwrap();
    (p.id, ids)
}

fn new_deal(h: &History, stage: StageId, owner: UserId) -> NewDeal {
    NewDeal {
        title: h.title.clone(),
        stage_id: Some(stage),
        value: h.value,
        owner_id: Some(owner),
        source: h.source.clone(),
        ..NewDeal::default()
    }
}

async fn deals_of(store: &Store, pipeline: PipelineId) -> BTreeMap<String, Deal> {
    let mut tx = store.read().await.unwrap();
    let page = deals::list(
        &mut tx,
        &Ctx::system_now(),
        &DealFilter {
            pipeline_id: Some(pipeline),
            limit: Some(500),
            ..DealFilter::default()
        },
    )
    .await
    .unwrap();
    page.items
        .into_iter()
        .map(|d| (d.title.clone(), d))
        .collect()
}

async fn report_rows(
    store: &Store,
    pipeline: PipelineId,
    twin: PipelineId,
    stages: &[StageId],
    twin_stages: &[StageId],
) -> Vec<String> {
    let mut tx = store.read().await.unwrap();
    let mut out = vec![];
    for (table, cols) in [
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
            "report_inflow",
            "pipeline_id, day, kind, owner_id, source, campaign, entered, qualified, won, won_value, won_cycle_ms",
        ),
    ] {
        for row in rollups::debug_rows(&mut tx, table, cols).await.unwrap() {
            if !row.contains(&pipeline.to_string()) {
                continue;
            }
            // Name the twin's ids as this pipeline's, so the two sets compare.
            let mut row = row.replace(&pipeline.to_string(), &twin.to_string());
            for (s, t) in stages.iter().zip(twin_stages) {
                row = row.replace(&s.to_string(), &t.to_string());
            }
            out.push(format!("{table}: {row}"));
        }
    }
    out.sort();
    out
}

async fn both_paths_agree(db: TestDb, seed: u64) {
    let store = &db.store;
    let mut owners = vec![];
    for i in 0..3 {
        owners.push(
            add_user(store, &format!("rep{i}@example.com"), Role::Rep)
                .await
                .user_id
                .unwrap(),
        );
    }
    let (bulk_p, bulk_s) = pipeline(store, "Imported").await;
    let (ops_p, ops_s) = pipeline(store, "Operated").await;
    let hs = histories(seed, 60);

    // The bulk writer, first, into an empty deal table (the path that sets indexes aside).
    let mut tx = store.write().await.unwrap();
    let ctx = system("2024-12-01T00:00:00Z");
    let mut writer = DealWriter::begin(&mut tx, ctx).await.unwrap();
    let mut batch = vec![];
    for h in &hs {
        let created = h.entries[0].1;
        let last = h.entries[h.entries.len() - 1];
        let deal = Deal {
            id: DealId::at(created),
            title: h.title.clone(),
            pipeline_id: bulk_p,
            stage_id: bulk_s[last.0],
            status: match h.close {
                None => DealStatus::Open,
                Some((true, _)) => DealStatus::Won,
                Some((false, _)) => DealStatus::Lost,
            },
            value: h.value,
            currency: "EUR".parse().unwrap(),
            owner_id: owners[h.owner],
            person_id: None,
            organization_id: None,
            expected_close_date: None,
            source: h.source.clone(),
            campaign: None,
            lead_id: None,
            lost_reason: match h.close {
                Some((false, _)) => Some("No budget".into()),
                _ => None,
            },
            custom: Default::default(),
            created_at: created,
            cycle_started_at: created,
            stage_entered_at: last.1,
            closed_at: h.close.map(|c| c.1),
            updated_at: created,
            version: 1,
        };
        batch.push(ImportedDeal {
            deal,
            entries: h.entries.iter().map(|(s, t)| (bulk_s[*s], *t)).collect(),
            external_id: Some(format!("test:{}", h.title)),
        });
        if batch.len() == 25 {
            writer
                .write(&mut tx, std::mem::take(&mut batch))
                .await
                .unwrap();
        }
    }
    writer.write(&mut tx, batch).await.unwrap();
    assert_eq!(writer.finish(&mut tx).await.unwrap(), hs.len() as u64);
    tx.commit().await.unwrap();

    // The same histories, operation by operation at their instants.
    for h in &hs {
        let mut tx = store.write().await.unwrap();
        let (s0, t0) = h.entries[0];
        let mut d = deals::create(
            &mut tx,
            &Ctx::new(Actor::SYSTEM, t0),
            new_deal(h, ops_s[s0], owners[h.owner]),
        )
        .await
        .unwrap();
        for &(s, t) in &h.entries[1..] {
            d = deals::move_to(
                &mut tx,
                &Ctx::new(Actor::SYSTEM, t),
                d.id,
                MoveDeal {
                    stage_id: ops_s[s],
                    version: d.version,
                    force: true,
                },
            )
            .await
            .unwrap();
        }
        match h.close {
            Some((true, t)) => {
                deals::win(
                    &mut tx,
                    &Ctx::new(Actor::SYSTEM, t),
                    d.id,
                    CloseDeal::default(),
                )
                .await
                .unwrap();
            }
            Some((false, t)) => {
                let body = CloseDeal {
                    reason: Some("No budget".into()),
                    version: None,
                };
                deals::lose(&mut tx, &Ctx::new(Actor::SYSTEM, t), d.id, body)
                    .await
                    .unwrap();
            }
            None => {}
        }
        tx.commit().await.unwrap();
    }

    // Deal rows.
    let bulk = deals_of(store, bulk_p).await;
    let ops = deals_of(store, ops_p).await;
    assert_eq!(bulk.len(), hs.len());
    let stage_index = |stages: &[StageId], id: StageId| stages.iter().position(|s| *s == id);
    for (title, b) in &bulk {
        let o = &ops[title];
        assert_eq!(
            (
                stage_index(&bulk_s, b.stage_id),
                b.status,
                b.value,
                b.owner_id,
                b.version
            ),
            (
                stage_index(&ops_s, o.stage_id),
                o.status,
                o.value,
                o.owner_id,
                o.version
            ),
            "{title}"
        );
        assert_eq!(
            (
                b.created_at,
                b.stage_entered_at,
                b.closed_at,
                b.updated_at,
                &b.lost_reason
            ),
            (
                o.created_at,
                o.stage_entered_at,
                o.closed_at,
                o.updated_at,
                &o.lost_reason
            ),
            "{title}"
        );
        // The same events at the same instants.
        let mut tx = store.read().await.unwrap();
        let eb: Vec<_> = deals::history(&mut tx, &Ctx::system_now(), b.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.at))
            .collect();
        let eo: Vec<_> = deals::history(&mut tx, &Ctx::system_now(), o.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.at))
            .collect();
        assert_eq!(eb, eo, "{title}");
    }

    // Snapshots at every day boundary and at each history's instants.
    let mut instants: Vec<Timestamp> = hs
        .iter()
        .flat_map(|h| h.entries.iter().map(|e| e.1).chain(h.close.map(|c| c.1)))
        .collect();
    instants.extend((0..260).map(|d| {
        Timestamp::from_millisecond(at("2024-01-01T00:00:00Z").as_millisecond() + d * 86_400_000)
            .unwrap()
    }));
    let mut tx = store.read().await.unwrap();
    let ctx = Ctx::system_now();
    for t in instants {
        for dt in [-1i64, 0, 1] {
            let when = Timestamp::from_millisecond(t.as_millisecond() + dt).unwrap();
            let sb = snapshot::snapshot(&mut tx, &ctx, bulk_p, when)
                .await
                .unwrap();
            let so = snapshot::snapshot(&mut tx, &ctx, ops_p, when)
                .await
                .unwrap();
            let counts = |s: &throughline_core::snapshot::Snapshot| -> Vec<(String, i64, i64)> {
                s.stages
                    .iter()
                    .map(|x| (x.name.clone(), x.count, x.value))
                    .collect()
            };
            assert_eq!(counts(&sb), counts(&so), "snapshot at {when}");
        }
    }
    drop(tx);

    // The report tables, row for row.
    assert_eq!(
        report_rows(store, bulk_p, ops_p, &bulk_s, &ops_s).await,
        report_rows(store, ops_p, ops_p, &ops_s, &ops_s).await
    );
}

#[tokio::test]
async fn bulk_and_single_operations_record_the_same_past() {
    for (i, db) in backends().await.into_iter().enumerate() {
        both_paths_agree(db, 40 + i as u64).await;
    }
}
