//! A deal's life through the store, on SQLite and PostgreSQL.

mod support;

use support::*;
use throughline_core::criteria::{CriterionInput, DealField};
use throughline_core::deal::{DealPatch, DealStatus, NewDeal};
use throughline_core::pipeline::{NewPipeline, NewStage};
use throughline_core::{Actor, Role};
use throughline_store::deals::{self, CloseDeal, MoveDeal};
use throughline_store::{Ctx, StoreError, pipelines, snapshot};

async fn story(db: TestDb) {
    let store = &db.store;
    let rep = add_user(store, "rita@example.com", Role::Rep).await;
    let other = add_user(store, "omar@example.com", Role::Rep).await;

    let mut tx = store.write().await.unwrap();
    let sys = system("2026-01-05T09:00:00Z");
    let p = pipelines::create(
        &mut tx,
        &sys,
        NewPipeline {
            name: "Sales".into(),
            currency: None,
        },
    )
    .await
    .unwrap();
    let lead_in = pipelines::create_stage(
        &mut tx,
        &sys,
        p.id,
        NewStage {
            name: "Lead in".into(),
            probability: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let proposal = pipelines::create_stage(
        &mut tx,
        &sys,
        p.id,
        NewStage {
            name: "Proposal".into(),
            probability: 50,
            criteria: vec![
                CriterionInput::checklist("Budget confirmed"),
                CriterionInput::field(DealField::ExpectedCloseDate),
            ],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let ctx = |t: &str| Ctx::new(rep, at(t));
    let mut tx = store.write().await.unwrap();
    let deal = deals::create(
        &mut tx,
        &ctx("2026-01-06T10:00:00Z"),
        NewDeal {
            title: "Acme".into(),
            pipeline_id: Some(p.id),
            value: 500_000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(deal.stage_id, lead_in.id);
    assert_eq!(deal.owner_id, rep.user_id.unwrap());

    // Criteria unmet: refused, listing both, nothing changed.
    let mut tx = store.write().await.unwrap();
    let err = deals::move_to(
        &mut tx,
        &ctx("2026-01-07T10:00:00Z"),
        deal.id,
        MoveDeal {
            stage_id: proposal.id,
            version: 1,
            force: false,
        },
    )
    .await
    .unwrap_err();
    drop(tx);
    match err {
        StoreError::CriteriaUnmet { unmet, .. } => {
            let labels: Vec<_> = unmet.iter().map(|u| u.label.as_str()).collect();
            assert_eq!(labels, ["Budget confirmed", "Expected close date is set"]);
        }
        other => panic!("expected unmet criteria, got {other:?}"),
    }

    let mut tx = store.write().await.unwrap();
    let d = deals::set_check(
        &mut tx,
        &ctx("2026-01-07T11:00:00Z"),
        deal.id,
        proposal.criteria[0].id,
        true,
    )
    .await
    .unwrap();
    let d = deals::update(
        &mut tx,
        &ctx("2026-01-07T11:01:00Z"),
        deal.id,
        DealPatch {
            version: d.version,
            expected_close_date: Some(Some("2026-03-01".parse().unwrap())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // A stale version is refused.
    let stale = deals::move_to(
        &mut tx,
        &ctx("2026-01-08T10:00:00Z"),
        deal.id,
        MoveDeal {
            stage_id: proposal.id,
            version: 1,
            force: false,
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(stale, StoreError::StaleVersion { current, given: 1, .. } if current == d.version)
    );
    let moved = deals::move_to(
        &mut tx,
        &ctx("2026-01-08T10:00:00Z"),
        deal.id,
        MoveDeal {
            stage_id: proposal.id,
            version: d.version,
            force: false,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(moved.stage_id, proposal.id);

    // Another rep cannot see it.
    let mut tx = store.read().await.unwrap();
    assert!(
        deals::get(
            &mut tx,
            &Ctx::new(other, at("2026-01-09T00:00:00Z")),
            deal.id
        )
        .await
        .unwrap()
        .is_none()
    );
    let snap_other = snapshot::snapshot(
        &mut tx,
        &Ctx::new(other, at("2026-01-09T00:00:00Z")),
        p.id,
        at("2026-01-09T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(snap_other.total.count, 0);
    // The snapshot in the past and now.
    let s1 = snapshot::snapshot(
        &mut tx,
        &ctx("2026-02-01T00:00:00Z"),
        p.id,
        at("2026-01-07T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(
        (s1.stages[0].count, s1.stages[0].value, s1.stages[1].count),
        (1, 500_000, 0)
    );
    let s2 = snapshot::snapshot(
        &mut tx,
        &ctx("2026-02-01T00:00:00Z"),
        p.id,
        at("2026-01-08T10:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            s2.stages[0].count,
            s2.stages[1].count,
            s2.stages[1].weighted_value
        ),
        (0, 1, 250_000)
    );
    let before_creation = snapshot::snapshot(
        &mut tx,
        &ctx("2026-02-01T00:00:00Z"),
        p.id,
        at("2026-01-06T09:59:59.999Z"),
    )
    .await
    .unwrap();
    assert_eq!(before_creation.total.count, 0);
    drop(tx);

    let mut tx = store.write().await.unwrap();
    let won = deals::win(
        &mut tx,
        &ctx("2026-02-10T10:00:00Z"),
        deal.id,
        CloseDeal::default(),
    )
    .await
    .unwrap();
    assert_eq!(won.status, DealStatus::Won);
    let again = deals::lose(
        &mut tx,
        &ctx("2026-02-10T10:00:00Z"),
        deal.id,
        CloseDeal {
            reason: Some("x".into()),
            version: None,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(again, StoreError::Conflict { .. }));
    let history = deals::history(&mut tx, &ctx("2026-02-10T10:00:00Z"), deal.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let kinds: Vec<_> = history.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        kinds,
        [
            "deal.created",
            "deal.criterion_checked",
            "deal.updated",
            "deal.stage_changed",
            "deal.won"
        ]
    );

    let mut tx = store.read().await.unwrap();
    let after_win = snapshot::snapshot(
        &mut tx,
        &Ctx::new(Actor::SYSTEM, at("2026-03-01T00:00:00Z")),
        p.id,
        at("2026-02-10T10:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(after_win.total.count, 0);
    let just_before = snapshot::snapshot(
        &mut tx,
        &Ctx::new(Actor::SYSTEM, at("2026-03-01T00:00:00Z")),
        p.id,
        at("2026-02-10T09:59:59.999Z"),
    )
    .await
    .unwrap();
    assert_eq!(just_before.total.count, 1);
}

#[tokio::test]
async fn a_deal_moves_through_criteria_to_won_on_every_backend() {
    for db in backends().await {
        story(db).await;
    }
}
