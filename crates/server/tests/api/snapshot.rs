//! The funnel snapshot: the pipeline as it stood now, at an instant, or at the end of a day.

use jiff::Timestamp;
use serde_json::{Value, json};
use throughline_core::Role;
use throughline_core::deal::NewDeal;
use throughline_store::deals::{self, CloseDeal, MoveDeal};
use throughline_store::{Ctx, settings};

use crate::support::*;

on_both_backends!(the_pipeline_at_any_instant);

/// Per stage `(count, value, weighted_value)`, in stage order.
fn rows(snap: &Value) -> Vec<(i64, i64, i64)> {
    snap["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            (
                st["count"].as_i64().unwrap(),
                st["value"].as_i64().unwrap(),
                st["weighted_value"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn snapshot(app: &App, who: &TestUser, path: String) -> Value {
    app.get(who, &path).await.ok(200).clone()
}

async fn the_pipeline_at_any_instant(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rep = app.user("Rita", Role::Rep, None).await;
    let other = app.user("Omar", Role::Rep, None).await;
    let p = pipeline(
        app,
        &admin,
        "Flow",
        &[
            json!({ "name": "Lead in", "probability": 10 }),
            json!({ "name": "Proposal", "probability": 50 }),
            json!({ "name": "Closing", "probability": 90 }),
        ],
    )
    .await;
    let pid = p.id.parse().unwrap();

    // History made through the store at past instants.
    let ctx = |t: &str| Ctx::new(rep.actor(), at(t));
    let mut tx = app.store.write().await.unwrap();
    let first = deals::create(
        &mut tx,
        &ctx("2025-03-01T10:00:00Z"),
        NewDeal {
            title: "First".into(),
            pipeline_id: Some(pid),
            value: 100_000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let second = deals::create(
        &mut tx,
        &ctx("2025-03-05T10:00:00Z"),
        NewDeal {
            title: "Second".into(),
            pipeline_id: Some(pid),
            value: 40_000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    deals::move_to(
        &mut tx,
        &ctx("2025-03-10T15:00:00Z"),
        first.id,
        MoveDeal {
            stage_id: p.stage(1).parse().unwrap(),
            version: 1,
            force: false,
        },
    )
    .await
    .unwrap();
    deals::lose(
        &mut tx,
        &ctx("2025-03-20T09:00:00Z"),
        second.id,
        CloseDeal {
            reason: Some("Went quiet".into()),
            version: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // And one made now, through the API, by another rep.
    deal(
        app,
        &other,
        json!({ "title": "Third", "pipeline_id": p.id, "value": 10_000 }),
    )
    .await;

    let base = format!("/pipelines/{}/snapshot", p.id);
    let snap = |who, query: &str| snapshot(app, who, format!("{base}{query}"));

    // Before anything: every active stage, all zero.
    let s0 = snap(&admin, "?at=2025-02-01T00:00:00Z").await;
    assert_eq!(s0["pipeline_id"], p.id);
    assert_eq!(s0["currency"], "EUR");
    assert_eq!(ts(&s0["at"]), at("2025-02-01T00:00:00Z"));
    let names: Vec<_> = s0["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| s(&st["name"]))
        .collect();
    assert_eq!(names, ["Lead in", "Proposal", "Closing"]);
    assert_eq!(s0["stages"][1]["probability"], 50);
    assert_eq!(s0["stages"][1]["stage_id"], p.stage(1));
    assert_eq!(rows(&s0), [(0, 0, 0); 3]);
    assert_eq!(
        s0["total"],
        json!({ "count": 0, "value": 0, "weighted_value": 0 })
    );

    // Both deals in the first stage.
    let s1 = snap(&admin, "?at=2025-03-05T12:00:00Z").await;
    assert_eq!(rows(&s1), [(2, 140_000, 14_000), (0, 0, 0), (0, 0, 0)]);
    assert_eq!(
        s1["total"],
        json!({ "count": 2, "value": 140_000, "weighted_value": 14_000 })
    );

    // The instant of the move, a millisecond before it, and an offset instant before it.
    let s2 = snap(&admin, "?at=2025-03-10T15:00:00Z").await;
    assert_eq!(
        rows(&s2),
        [(1, 40_000, 4_000), (1, 100_000, 50_000), (0, 0, 0)]
    );
    let s3 = snap(&admin, "?at=2025-03-10T14:59:59.999Z").await;
    assert_eq!(rows(&s3), [(2, 140_000, 14_000), (0, 0, 0), (0, 0, 0)]);
    let s4 = snap(&admin, "?at=2025-03-10T16:30:00%2B02:00").await;
    assert_eq!(ts(&s4["at"]), at("2025-03-10T14:30:00Z"));
    assert_eq!(rows(&s4), rows(&s3));

    // A date means the end of that day (UTC unless the team's time zone says otherwise).
    let s5 = snap(&admin, "?at=2025-03-10").await;
    assert_eq!(s5["at"], "2025-03-10T23:59:59.999Z");
    assert_eq!(rows(&s5), rows(&s2));
    assert_eq!(
        s5["total"],
        json!({ "count": 2, "value": 140_000, "weighted_value": 54_000 })
    );
    let s6 = snap(&admin, "?at=2025-03-20").await;
    assert_eq!(
        rows(&s6),
        [(0, 0, 0), (1, 100_000, 50_000), (0, 0, 0)],
        "lost is out"
    );

    // Now, by default or with an empty `at`.
    let before = Timestamp::now();
    let now = snap(&admin, "").await;
    let after = Timestamp::now();
    // Stored instants are whole milliseconds.
    assert!(ts(&now["at"]) >= before - jiff::SignedDuration::from_millis(1));
    assert!(ts(&now["at"]) <= after);
    assert_eq!(
        rows(&now),
        [(1, 10_000, 1_000), (1, 100_000, 50_000), (0, 0, 0)]
    );
    assert_eq!(rows(&snap(&admin, "?at=").await), rows(&now));

    // Each rep counts only their own deals.
    assert_eq!(
        rows(&snap(&rep, "").await),
        [(0, 0, 0), (1, 100_000, 50_000), (0, 0, 0)]
    );
    assert_eq!(
        rows(&snap(&other, "").await),
        [(1, 10_000, 1_000), (0, 0, 0), (0, 0, 0)]
    );
    assert_eq!(
        snap(&other, "?at=2025-03-05T12:00:00Z").await["total"]["count"],
        0
    );
    assert_eq!(
        snap(&rep, "?at=2025-03-05T12:00:00Z").await["total"]["count"],
        2
    );

    // Bad instants name `at`.
    let path = format!("/pipelines/{}/snapshot", p.id);
    for bad in [
        "yesterday",
        "2025-02-30",
        "2025-03-10T25:00:00Z",
        "2025-03-10T10:00:00",
        "10/03/2025",
    ] {
        let res = app.get(&admin, &format!("{path}?at={bad}")).await;
        let b = res.invalid("at", "neither an RFC 3339 instant");
        assert_eq!(b["detail"], format!("at: {}", error_message(b, "at")));
    }
    app.get(&admin, &format!("{path}?when=2025-03-01"))
        .await
        .invalid("when", "unknown field");
    let unknown = uuid::Uuid::now_v7();
    app.get(&admin, &format!("/pipelines/{unknown}/snapshot"))
        .await
        .not_found();

    // In the team's time zone, a date ends at that zone's midnight.
    let mut tx = app.store.write().await.unwrap();
    settings::set(&mut tx, settings::TIME_ZONE, "Europe/Berlin")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let s7 = snap(&admin, "?at=2025-03-10").await;
    assert_eq!(s7["at"], "2025-03-10T22:59:59.999Z");
}
