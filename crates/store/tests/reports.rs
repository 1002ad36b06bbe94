//! Reports over a small hand-made history whose figures are worked out by hand below.

mod support;

use support::*;
use throughline_core::deal::NewDeal;
use throughline_core::lead::{NewLead, Qualify};
use throughline_core::pipeline::{NewPipeline, NewStage};
use throughline_core::report::ListPage;
use throughline_core::{Actor, Role, StageId};
use throughline_store::deals::{self, CloseDeal, MoveDeal};
use throughline_store::reports::{self, Grouping, ReportFilter};
use throughline_store::{Ctx, leads, pipelines};

struct History {
    pipeline: throughline_core::PipelineId,
    stages: Vec<StageId>,
    ana: Actor,
    bo: Actor,
}

/// Stages A, B, C. Deals: d1 A→B→C won; d2 A→C lost (skips B); d3 A→B open; d4 created in B
/// (skips A) and won; d5 qualified from a lead, open in A. One more lead never qualified.
/// d1–d3 belong to Ana, d4–d5 to Bo.
async fn history(db: &TestDb) -> History {
    let store = &db.store;
    let ana = add_user(store, "ana@example.com", Role::Rep).await;
    let bo = add_user(store, "bo@example.com", Role::Rep).await;
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
    for (name, prob) in [("A", 10), ("B", 40), ("C", 70)] {
        let s = pipelines::create_stage(
            &mut tx,
            &sys,
            p.id,
            NewStage {
                name: name.into(),
                probability: prob,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        stages.push(s.id);
    }
    let as_ = |who: Actor, t: &str| Ctx::new(who, at(t));
    let new = |stage: StageId, value: i64, source: &str| NewDeal {
        title: "d".into(),
        stage_id: Some(stage),
        value,
        source: Some(source.into()),
        ..Default::default()
    };
    let mv = async |tx: &mut throughline_store::Tx, who: Actor, t: &str, id, stage| {
        let d = deals::require(tx, &as_(who, t), id).await.unwrap();
        deals::move_to(
            tx,
            &as_(who, t),
            id,
            MoveDeal {
                stage_id: stage,
                version: d.version,
                force: false,
            },
        )
        .await
        .unwrap();
    };
    let d1 = deals::create(
        &mut tx,
        &as_(ana, "2026-01-05T10:00:00Z"),
        new(stages[0], 1_000, "Web"),
    )
    .await
    .unwrap()
    .id;
    let d2 = deals::create(
        &mut tx,
        &as_(ana, "2026-01-06T10:00:00Z"),
        new(stages[0], 2_000, "Web"),
    )
    .await
    .unwrap()
    .id;
    let d3 = deals::create(
        &mut tx,
        &as_(ana, "2026-01-07T10:00:00Z"),
        new(stages[0], 3_000, "Event"),
    )
    .await
    .unwrap()
    .id;
    let d4 = deals::create(
        &mut tx,
        &as_(bo, "2026-01-08T10:00:00Z"),
        new(stages[1], 4_000, "Event"),
    )
    .await
    .unwrap()
    .id;
    mv(&mut tx, ana, "2026-01-10T10:00:00Z", d1, stages[1]).await;
    mv(&mut tx, ana, "2026-01-12T10:00:00Z", d1, stages[2]).await;
    mv(&mut tx, ana, "2026-01-11T10:00:00Z", d2, stages[2]).await;
    mv(&mut tx, ana, "2026-01-13T10:00:00Z", d3, stages[1]).await;
    deals::win(
        &mut tx,
        &as_(ana, "2026-01-20T10:00:00Z"),
        d1,
        CloseDeal::default(),
    )
    .await
    .unwrap();
    deals::lose(
        &mut tx,
        &as_(ana, "2026-01-21T10:00:00Z"),
        d2,
        CloseDeal {
            reason: Some("price".into()),
            version: None,
        },
    )
    .await
    .unwrap();
    deals::win(
        &mut tx,
        &as_(bo, "2026-01-22T10:00:00Z"),
        d4,
        CloseDeal::default(),
    )
    .await
    .unwrap();
    let lead = leads::create(
        &mut tx,
        &as_(bo, "2026-01-09T10:00:00Z"),
        NewLead {
            title: "l".into(),
            source: Some("Web".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    leads::qualify(
        &mut tx,
        &as_(bo, "2026-01-14T10:00:00Z"),
        lead.id,
        Qualify {
            pipeline_id: Some(p.id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    leads::create(
        &mut tx,
        &as_(bo, "2026-01-15T10:00:00Z"),
        NewLead {
            title: "m".into(),
            source: Some("Ads".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    History {
        pipeline: p.id,
        stages,
        ana,
        bo,
    }
}

fn stage_figures(report: &throughline_core::report::FunnelGroup) -> Vec<(i64, i64)> {
    report
        .stages
        .iter()
        .map(|s| (s.entered, s.progressed))
        .collect()
}

async fn funnel_story(db: TestDb) {
    let h = history(&db).await;
    let january = (
        at("2026-01-01T00:00:00Z")
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date(),
        jiff::civil::date(2026, 1, 31),
    );
    let mut tx = db.store.read().await.unwrap();
    let admin = Ctx::new(Actor::SYSTEM, at("2026-02-01T00:00:00Z"));
    let r = reports::funnel(
        &mut tx,
        &admin,
        h.pipeline,
        january.0,
        january.1,
        &ReportFilter::default(),
        Some(Grouping::Owner),
    )
    .await
    .unwrap();
    // Entered A: d1 d2 d3 d4(skipped) d5 = 5, progressed all but d5 = 4.
    // Entered B: d1 d2(skipped) d3 d4 = 4, progressed d1 d2 d4 = 3. C: d1 d2, progressed d1 (won).
    assert_eq!(stage_figures(&r.total), [(5, 4), (4, 3), (2, 1)]);
    assert_eq!(r.total.stages[0].conversion, Some(0.8));
    let o = &r.total.outcomes;
    assert_eq!((o.won, o.lost, o.won_value), (2, 1, 5_000));
    assert_eq!(o.win_rate, Some(2.0 / 3.0));
    // Entered the funnel: four deals without a lead and two leads; two ended won.
    assert_eq!((o.entered, o.entered_won), (6, 2));
    assert_eq!(o.closing_rate, Some(2.0 / 6.0));

    let ana = r
        .groups
        .iter()
        .find(|g| g.label == "ana")
        .expect("Ana's group");
    assert_eq!(
        stage_figures(ana),
        [(3, 3), (3, 2), (2, 1)],
        "d2 skipped B but still counts in it"
    );
    assert_eq!((ana.outcomes.won, ana.outcomes.lost), (1, 1));
    let bo = r
        .groups
        .iter()
        .find(|g| g.label == "bo")
        .expect("Bo's group");
    assert_eq!(stage_figures(bo), [(2, 1), (1, 1), (0, 0)]);

    // A rep sees only their own slice, whatever they ask for.
    let as_ana = Ctx::new(h.ana, at("2026-02-01T00:00:00Z"));
    let r = reports::funnel(
        &mut tx,
        &as_ana,
        h.pipeline,
        january.0,
        january.1,
        &ReportFilter::default(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(stage_figures(&r.total), [(3, 3), (3, 2), (2, 1)]);

    // By source: Web = d1 d2 (and the lead that became d5), Event = d3 d4.
    let web = ReportFilter {
        source: Some("Web".into()),
        ..Default::default()
    };
    let r = reports::funnel(
        &mut tx, &admin, h.pipeline, january.0, january.1, &web, None,
    )
    .await
    .unwrap();
    assert_eq!(stage_figures(&r.total), [(3, 2), (2, 2), (2, 1)]);
    assert_eq!((r.total.outcomes.won, r.total.outcomes.lost), (1, 1));
    let by_month = reports::funnel(
        &mut tx,
        &admin,
        h.pipeline,
        january.0,
        january.1,
        &ReportFilter::default(),
        Some(Grouping::Month),
    )
    .await
    .unwrap();
    assert_eq!(by_month.groups.len(), 1);
    assert_eq!(by_month.groups[0].key, "2026-01");
    assert_eq!(
        stage_figures(&by_month.groups[0]),
        stage_figures(&by_month.total)
    );

    // A period that ends before the moves only sees the entries until then.
    let early = reports::funnel(
        &mut tx,
        &admin,
        h.pipeline,
        january.0,
        jiff::civil::date(2026, 1, 9),
        &ReportFilter::default(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        stage_figures(&early.total),
        [(4, 4), (1, 1), (0, 0)],
        "d1–d4 entered A by the 9th (d4 by skipping), only d4 entered B"
    );
    let _ = (h.bo, &h.stages);
}

async fn attention_story(db: TestDb) {
    let h = history(&db).await;
    let admin = Ctx::new(Actor::SYSTEM, at("2026-02-01T00:00:00Z"));
    let mut tx = db.store.write().await.unwrap();
    let open = deals::list(
        &mut tx,
        &admin,
        &deals::DealFilter {
            status: Some(throughline_core::deal::DealStatus::Open),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .items;
    assert_eq!(open.len(), 2);
    let d3 = open
        .iter()
        .find(|d| d.owner_id == h.ana.user_id.unwrap())
        .unwrap()
        .id;
    throughline_store::activities::create(
        &mut tx,
        &Ctx::new(h.ana, at("2026-01-20T09:00:00Z")),
        throughline_core::activity::NewActivity {
            kind: throughline_core::activity::ActivityKind::Call,
            subject: "Follow up".into(),
            owner_id: None,
            deal_id: Some(d3),
            lead_id: None,
            person_id: None,
            organization_id: None,
            due_at: Some(at("2026-01-21T09:00:00Z")),
            duration_minutes: None,
            note: None,
            done: false,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = db.store.read().await.unwrap();
    let r = reports::attention(
        &mut tx,
        &admin,
        h.pipeline,
        &ReportFilter::default(),
        at("2026-02-01T00:00:00Z"),
        ListPage::ALL,
    )
    .await
    .unwrap();
    assert_eq!(r.needs_effort.len(), 2);
    assert_eq!(r.summary.needs_effort, 2);
    assert_eq!(r.summary.deals_for("activity_overdue"), 1);
    assert_eq!(r.summary.deals_for("no_next_activity"), 1);
    let reasons = |id| -> Vec<&str> {
        r.needs_effort
            .iter()
            .find(|i| i.deal_id == id)
            .unwrap()
            .reasons
            .iter()
            .map(|x| x.code)
            .collect()
    };
    assert_eq!(
        reasons(d3),
        ["activity_overdue", "high_value"],
        "d3 has a step, but it is 10 days late; its 1,200 expected beats d5 with no value"
    );
    let d5 = open.iter().find(|d| d.id != d3).unwrap().id;
    assert_eq!(reasons(d5), ["no_next_activity"]);
    assert_eq!(r.needs_effort[0].deal_id, d3, "4 + 2 outranks 3");
    // The second page of one: d5 alone, with the summary of the whole list.
    let second = reports::attention(
        &mut tx,
        &admin,
        h.pipeline,
        &ReportFilter::default(),
        at("2026-02-01T00:00:00Z"),
        ListPage {
            offset: 1,
            limit: 1,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        second
            .needs_effort
            .iter()
            .map(|i| i.deal_id)
            .collect::<Vec<_>>(),
        [d5]
    );
    assert_eq!((second.offset, second.summary.needs_effort), (1, 2));
    // Bo does not see Ana's deal on his list.
    let as_bo = Ctx::new(h.bo, at("2026-02-01T00:00:00Z"));
    let mine = reports::attention(
        &mut tx,
        &as_bo,
        h.pipeline,
        &ReportFilter::default(),
        at("2026-02-01T00:00:00Z"),
        ListPage::first(100),
    )
    .await
    .unwrap();
    assert_eq!(
        mine.needs_effort
            .iter()
            .map(|i| i.deal_id)
            .collect::<Vec<_>>(),
        [d5]
    );
}

async fn sources_and_velocity_story(db: TestDb) {
    let h = history(&db).await;
    let admin = Ctx::new(Actor::SYSTEM, at("2026-02-01T00:00:00Z"));
    let (from, to) = (
        jiff::civil::date(2026, 1, 1),
        jiff::civil::date(2026, 1, 31),
    );
    let mut tx = db.store.read().await.unwrap();
    let r = reports::sources(
        &mut tx,
        &admin,
        Some(h.pipeline),
        from,
        to,
        &ReportFilter::default(),
    )
    .await
    .unwrap();
    let row = |name: &str| {
        r.sources
            .iter()
            .find(|s| s.source == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!(
        r.sources
            .iter()
            .map(|s| s.source.as_str())
            .collect::<Vec<_>>(),
        ["Event", "Web", "Ads"],
        "by won value"
    );
    let web = row("Web");
    assert_eq!(
        (web.leads, web.deals, web.qualified, web.won, web.won_value),
        (1, 2, 1, 1, 1_000)
    );
    assert_eq!(web.closing_rate, Some(1.0 / 3.0));
    assert_eq!(web.qualification_rate, Some(1.0));
    assert_eq!(web.average_won_cycle_days, Some(15.0));
    let ads = row("Ads");
    assert_eq!((ads.leads, ads.qualified, ads.won), (1, 0, 0));
    assert_eq!(ads.qualification_rate, Some(0.0));

    let v = reports::velocity(
        &mut tx,
        &admin,
        h.pipeline,
        from,
        to,
        &ReportFilter::default(),
    )
    .await
    .unwrap();
    // 2 open × 2/3 won × 2,500 average ÷ 14.5 days.
    assert_eq!(v.total.open_deals, 2);
    assert_eq!(v.total.win_rate, Some(2.0 / 3.0));
    assert_eq!(v.total.average_won_value, Some(2_500.0));
    assert_eq!(v.total.average_won_cycle_days, Some(14.5));
    let expected = 2.0 * (2.0 / 3.0) * 2_500.0 / 14.5;
    assert!((v.total.value_per_day.unwrap() - expected).abs() < 1e-9);
    assert_eq!(v.by_month.len(), 1);
    assert_eq!(
        (v.by_month[0].key.as_str(), v.by_month[0].open_deals),
        ("2026-01", 2)
    );
    let bo = v.by_owner.iter().find(|o| o.label == "bo").unwrap();
    assert_eq!((bo.open_deals, bo.win_rate), (1, Some(1.0)));
    let only_bo = ReportFilter {
        owner_id: h.bo.user_id,
        ..Default::default()
    };
    let v = reports::velocity(&mut tx, &admin, h.pipeline, from, to, &only_bo)
        .await
        .unwrap();
    assert_eq!((v.total.open_deals, v.by_month[0].open_deals), (1, 1));
}

#[tokio::test]
async fn sources_and_velocity_follow_their_definitions() {
    for db in backends().await {
        sources_and_velocity_story(db).await;
    }
}

async fn cycle_flow_forecast_story(db: TestDb) {
    let h = history(&db).await;
    let admin = Ctx::new(Actor::SYSTEM, at("2026-02-01T00:00:00Z"));
    let (from, to) = (
        jiff::civil::date(2026, 1, 1),
        jiff::civil::date(2026, 1, 31),
    );
    let mut tx = db.store.read().await.unwrap();
    let c = reports::cycle(
        &mut tx,
        &admin,
        h.pipeline,
        from,
        to,
        &ReportFilter::default(),
    )
    .await
    .unwrap();
    // Won: d1 in 15 days, d4 in 14. Lost: d2 in 15.
    assert_eq!(
        (c.won.n, c.won.median, c.won.mean),
        (2, Some(14.5), Some(14.5))
    );
    assert_eq!((c.lost.n, c.lost.median), (1, Some(15.0)));
    let a = &c.stages[0];
    // Completed stays in A: d1 5 days, d2 5 days, d3 6 days (d5 is still there).
    assert_eq!((a.completed.n, a.completed.median), (3, Some(5.0)));
    assert_eq!(a.open_now, 1);

    let period = throughline_core::analytics::period::Period::new(from, to).unwrap();
    let grain = throughline_core::analytics::period::Grain::Week;
    let sim = throughline_core::analytics::engine::Simulation {
        runs: 500,
        ..Default::default()
    };
    let request = reports::FlowRequest {
        pipeline_id: h.pipeline,
        period,
        grain,
        weeks: 12,
        simulation: sim,
    };
    let f = reports::flow_report(&mut tx, &admin, &request, &ReportFilter::default())
        .await
        .unwrap();
    let inflow: f64 = f.inflow.points.iter().map(|p| p.value).sum();
    assert_eq!(
        inflow, 6.0,
        "four deals without a lead and two leads entered in January"
    );
    let won: f64 = f.won.points.iter().map(|p| p.value).sum();
    assert_eq!(won, 2.0);
    assert_eq!(f.projection.weeks.len(), 12);
    assert_eq!(f.projection.deals, 2, "d3 and d5 are open");

    let fc = reports::forecast(
        &mut tx,
        &admin,
        h.pipeline,
        throughline_core::analytics::period::Grain::Month,
        3,
        &ReportFilter::default(),
        sim,
    )
    .await
    .unwrap();
    assert_eq!(fc.forecast.buckets.len(), 3);
    assert_eq!(fc.forecast.buckets[0].bucket.key(), "2026-02");
    let observed: Vec<_> = fc
        .calibration
        .iter()
        .map(|r| (r.name.as_str(), r.row.configured, r.row.won, r.row.closed))
        .collect();
    // Reached A or later and closed: d1, d2, d4 (2 won); reached C: d1, d2 (1 won).
    assert_eq!(
        observed,
        [("A", 10.0, 2, 3), ("B", 40.0, 2, 3), ("C", 70.0, 1, 2)]
    );
}

#[tokio::test]
async fn cycle_flow_and_forecast_rest_on_the_same_history() {
    for db in backends().await {
        cycle_flow_forecast_story(db).await;
    }
}

#[tokio::test]
async fn the_attention_list_ranks_by_explained_reasons() {
    for db in backends().await {
        attention_story(db).await;
    }
}

#[tokio::test]
async fn the_funnel_counts_first_entries_skips_conversion_and_closing_rate() {
    for db in backends().await {
        funnel_story(db).await;
    }
}

/// As of Monday 19 January (two weeks before the week of 2 February), d1–d5 were open; since
/// then d1 (1,000) and d4 (4,000) were won, both in the week of the 19th.
async fn backtest_story(db: TestDb) {
    let h = history(&db).await;
    let now = at("2026-02-03T12:00:00Z");
    let sim = throughline_core::analytics::engine::Simulation {
        runs: 200,
        ..Default::default()
    };
    let mut tx = db.store.read().await.unwrap();
    let admin = Ctx::new(Actor::SYSTEM, now);
    let b = reports::backtest(&mut tx, &admin, h.pipeline, 2, sim)
        .await
        .unwrap()
        .expect("a history to look back on");
    assert_eq!(b.as_of, jiff::civil::date(2026, 1, 19));
    assert_eq!(b.deals, 5, "d1–d5 were open on the 19th");
    let actual: Vec<(&str, i64)> = b
        .weeks
        .iter()
        .map(|w| (w.week.as_str(), w.actual))
        .collect();
    assert_eq!(actual, [("2026-W04", 5_000), ("2026-W05", 0)]);

    // Bo sees his own deals only: d4 and d5, and d4's win.
    let bo = Ctx::new(h.bo, now);
    let mine = reports::backtest(&mut tx, &bo, h.pipeline, 2, sim)
        .await
        .unwrap()
        .expect("Bo's deals were open then");
    assert_eq!(mine.deals, 2);
    assert_eq!(mine.weeks[0].actual, 4_000);

    // A week before any deal existed, nothing was open: no backtest.
    let early = Ctx::new(Actor::SYSTEM, at("2026-01-06T12:00:00Z"));
    assert!(
        reports::backtest(&mut tx, &early, h.pipeline, 1, sim)
            .await
            .unwrap()
            .is_none()
    );
    let _ = (&h.stages, h.ana);
}

#[tokio::test]
async fn the_backtest_starts_from_the_deals_open_then_and_counts_what_they_won() {
    for db in backends().await {
        backtest_story(db).await;
    }
}
