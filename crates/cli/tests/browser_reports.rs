//! The report pages in a real headless Chromium against the real binary, on a small history
//! made through the store whose figures can be worked out by hand.

#[path = "browser/harness.rs"]
mod harness;

use std::path::Path;

use fantoccini::Locator;
use harness::Browser;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use throughline_core::activity::{ActivityKind, NewActivity};
use throughline_core::deal::NewDeal;
use throughline_core::lead::NewLead;
use throughline_core::pipeline::{NewPipeline, NewStage};
use throughline_core::{Actor, DealId, Role, UserId};
use throughline_store::deals::{self, CloseDeal, MoveDeal};
use throughline_store::users::{self, NewUser};
use throughline_store::{Ctx, Store, activities, leads, pipelines};

const PASSWORD: &str = "correct horse battery";

struct History {
    rita: UserId,
    /// A deal with an activity three days overdue.
    overdue: DealId,
    /// A deal with nothing scheduled.
    quiet: DealId,
    /// The week whose 12 new leads make it a peak of the inflow.
    peak_monday: Date,
}

fn days_ago(now: Timestamp, days: i64) -> Timestamp {
    now - (days * 24).hours()
}

/// A pipeline "Sales" (Lead in 10 %, Qualified 30 %, Proposal 60 %, no criteria), Rita of
/// team North and Omar without a team, and this history, in days before now:
///
/// - 40: deals A, B, C, D created by Rita in Lead in; 10: deal E created by Omar.
/// - A: Qualified at 35, Proposal at 30, won at 20 (value 10,000). B: Qualified at 34, lost at 25.
/// - C has a call due 3 days ago, not done; D has nothing scheduled.
/// - Leads, 2 a week from 25 to 15 weeks ago and 12 in the week 20 weeks ago: outside the
///   last 90 days, inside the last 26 weeks.
///
/// Over the last 90 days, then: Lead in entered 5 and 2 moved on (40 %), Qualified 2 and 1
/// (50 %), Proposal 1 and 1 won (100 %); 1 won and 1 lost (win rate 50 %); 5 items entered and
/// 1 of them won (closing rate 20 %). For Rita alone: 4 entered Lead in, closing rate 25 %.
async fn prepare(db: &Path) -> History {
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let now = Timestamp::now();
    let at = |days: i64| Ctx::new(Actor::SYSTEM, days_ago(now, days));
    let mut tx = store.write().await.unwrap();
    let sys = at(400);
    let team = users::create_team(&mut tx, &sys, "North", None)
        .await
        .unwrap();
    let mut user = async |email: &str, name: &str, role: Role, team| {
        users::create(
            &mut tx,
            &sys,
            NewUser {
                email: email.into(),
                name: name.into(),
                role,
                team_id: team,
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .unwrap()
    };
    let _admin = user("admin@example.com", "Ada Admin", Role::Admin, None).await;
    let rita = user("rita@example.com", "Rita Rep", Role::Rep, Some(team.id)).await;
    let omar = user("omar@example.com", "Omar Rep", Role::Rep, None).await;
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
    let mut stages = vec![];
    for (name, probability) in [("Lead in", 10), ("Qualified", 30), ("Proposal", 60)] {
        let stage = NewStage {
            name: name.into(),
            probability,
            rot_days: Some(60),
            ..Default::default()
        };
        stages.push(
            pipelines::create_stage(&mut tx, &sys, p.id, stage)
                .await
                .unwrap(),
        );
    }
    let deal = |title: &str, owner: UserId| NewDeal {
        title: title.into(),
        pipeline_id: Some(p.id),
        value: 1_000_000,
        owner_id: Some(owner),
        ..Default::default()
    };
    let mut created = vec![];
    for title in ["Deal A", "Deal B", "Deal C", "Deal D"] {
        created.push(
            deals::create(&mut tx, &at(40), deal(title, rita.id))
                .await
                .unwrap(),
        );
    }
    deals::create(&mut tx, &at(10), deal("Deal E", omar.id))
        .await
        .unwrap();
    let mv = async |tx: &mut throughline_store::Tx, id: DealId, stage: usize, days: i64| {
        let version = deals::require(tx, &Ctx::system_now(), id)
            .await
            .unwrap()
            .version;
        deals::move_to(
            tx,
            &at(days),
            id,
            MoveDeal {
                stage_id: stages[stage].id,
                version,
                force: false,
            },
        )
        .await
        .unwrap();
    };
    let (a, b) = (created[0].id, created[1].id);
    mv(&mut tx, a, 1, 35).await;
    mv(&mut tx, a, 2, 30).await;
    deals::win(&mut tx, &at(20), a, CloseDeal::default())
        .await
        .unwrap();
    mv(&mut tx, b, 1, 34).await;
    deals::lose(
        &mut tx,
        &at(25),
        b,
        CloseDeal {
            reason: Some("No budget".into()),
            version: None,
        },
    )
    .await
    .unwrap();
    activities::create(
        &mut tx,
        &at(6),
        NewActivity {
            kind: ActivityKind::Call,
            subject: "Call about the pilot".into(),
            owner_id: Some(rita.id),
            deal_id: Some(created[2].id),
            lead_id: None,
            person_id: None,
            organization_id: None,
            due_at: Some(days_ago(now, 3)),
            duration_minutes: None,
            note: None,
            done: false,
        },
    )
    .await
    .unwrap();

    // Inflow history: a steady two leads a week, and one busy week.
    let mut peak_monday = None;
    for week in 15..=25 {
        let day = week * 7;
        let n = if week == 20 { 12 } else { 2 };
        for i in 0..n {
            let ctx = at(day);
            if week == 20 {
                let date = ctx.at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
                let back = i64::from(date.weekday().to_monday_zero_offset());
                peak_monday = Some(date - back.days());
            }
            leads::create(
                &mut tx,
                &ctx,
                NewLead {
                    title: format!("Lead {week}-{i}"),
                    source: Some("Web form".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    store.close().await;
    History {
        rita: rita.id,
        overdue: created[2].id,
        quiet: created[3].id,
        peak_monday: peak_monday.unwrap(),
    }
}

/// The text of the stage-by-stage row for `stage`.
async fn stage_row(browser: &Browser, stage: &str) -> String {
    for row in browser.texts("#stages-h ~ table tbody tr").await {
        if row.starts_with(stage) {
            return row;
        }
    }
    panic!("no row for {stage}");
}

async fn stat(browser: &Browser, label: &str) -> String {
    for s in browser.texts(".stat").await {
        if s.to_lowercase().starts_with(&label.to_lowercase()) {
            return s;
        }
    }
    panic!("no figure {label}");
}

#[tokio::test]
async fn the_funnel_shows_figures_worked_out_by_hand_and_filters_round_trip_through_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reports.db");
    let history = prepare(&db).await;
    let browser = Browser::start(&db).await;
    browser.sign_in("admin@example.com", PASSWORD).await;

    // The Reports link leads into the report pages' sub-navigation.
    browser.goto("/reports").await;
    browser.wait_for(".subnav").await;
    let tabs = browser.texts(".subnav a").await;
    assert_eq!(
        tabs,
        [
            "Snapshot",
            "Funnel",
            "Flow & projection",
            "Forecast",
            "Attention",
            "Sources",
            "Cycle time",
            "Velocity"
        ]
    );
    browser.click(".subnav a[href^='/reports/funnel']").await;
    browser.wait_for("#funnel-chart").await;

    let lead_in = stage_row(&browser, "Lead in").await;
    assert!(
        lead_in.contains(" 5 2 40%"),
        "Lead in: 5 entered, 2 moved on: {lead_in}"
    );
    let qualified = stage_row(&browser, "Qualified").await;
    assert!(qualified.contains(" 2 1 50%"), "{qualified}");
    let proposal = stage_row(&browser, "Proposal").await;
    assert!(proposal.contains(" 1 1 100%"), "{proposal}");
    let closing = stat(&browser, "Closing rate").await;
    assert!(closing.contains("20%"), "1 won of 5 entered: {closing}");
    assert!(
        closing.contains("last 90 days, all owners"),
        "every figure states its period and filter: {closing}"
    );
    assert!(stat(&browser, "Win rate").await.contains("50%"));
    assert!(stat(&browser, "Won value").await.contains("€ 10,000"));
    let chart = browser.text("#funnel-chart").await;
    assert!(
        chart.contains("40% moved on"),
        "conversion between bars: {chart}"
    );

    // The number of won deals opens the deals won in the period, and only those.
    let won_href = browser
        .client
        .find(Locator::XPath("//*[contains(@class,'stat')][starts-with(normalize-space(.),'Won')]//a | //a[contains(@class,'stat')][starts-with(normalize-space(.),'Won')]"))
        .await
        .expect("the won figure links to its deals")
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        won_href.contains("status=won") && won_href.contains("closed_from="),
        "{won_href}"
    );
    let back = browser.path().await;
    browser.goto(&won_href).await;
    browser.wait_for("table.data, .empty").await;
    let won_rows = browser.texts("table.data tbody tr").await;
    assert_eq!(
        won_rows.len(),
        1,
        "one deal won in the period: {won_rows:?}"
    );
    assert!(browser.text(".notice").await.contains("closed from"));
    browser.goto(&back).await;
    browser.wait_for("#f-owner").await;

    // Filter to Rita through the form: the URL carries it, and the figures follow.
    let owner = browser.client.find(Locator::Css("#f-owner")).await.unwrap();
    owner
        .select_by_value(&history.rita.to_string())
        .await
        .unwrap();
    browser.click("#report-filters button[type=submit]").await;
    browser
        .wait_for(&format!(
            "#f-owner option[value='{}'][selected]",
            history.rita
        ))
        .await;
    let url = browser.path().await;
    assert!(
        url.contains(&format!("owner={}", history.rita)) && url.contains("period=90d"),
        "{url}"
    );
    assert!(stage_row(&browser, "Lead in").await.contains(" 4 2 50%"));
    let closing = stat(&browser, "Closing rate").await;
    assert!(
        closing.contains("25%") && closing.contains("Rita Rep"),
        "{closing}"
    );

    // The same URL again (a bookmark) gives the same page, and the other reports keep it.
    browser.goto(&url).await;
    browser.wait_for("#funnel-chart").await;
    assert!(stat(&browser, "Closing rate").await.contains("25%"));
    let flow_tab = browser
        .client
        .find(Locator::Css(".subnav a[href^='/reports/flow']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        flow_tab.contains(&format!("owner={}", history.rita)),
        "{flow_tab}"
    );

    // Grouped by team: Rita's team North and the rest.
    browser
        .goto("/reports/funnel?pipeline=Sales&group_by=team")
        .await;
    browser.wait_for("#groups-h").await;
    let groups = browser.texts("#groups-h ~ .table-scroll tbody th").await;
    assert!(
        groups.contains(&"North".to_string()) && groups.contains(&"No team".to_string()),
        "{groups:?}"
    );
    browser.screenshot("report-funnel").await;
    browser.close().await;
}

#[tokio::test]
async fn bad_filter_input_is_named_beside_its_field_and_the_page_still_renders() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bad.db");
    prepare(&db).await;
    let browser = Browser::start(&db).await;
    browser.sign_in("admin@example.com", PASSWORD).await;

    browser
        .goto("/reports/funnel?period=custom&from=2026-13-45&to=2026-02-01")
        .await;
    browser.wait_for("#report-filters").await;
    let error = browser.text("#e-from").await;
    assert!(
        error.contains("2026-13-45") && error.contains("not a date"),
        "{error}"
    );
    let invalid = browser
        .client
        .find(Locator::Css("#f-from"))
        .await
        .unwrap()
        .attr("aria-invalid")
        .await
        .unwrap();
    assert_eq!(invalid.as_deref(), Some("true"));
    assert!(browser.text(".report-error").await.contains("defaults"));
    // The report is still there, with the default period.
    browser.wait_for("#funnel-chart").await;
    assert!(
        stat(&browser, "Closing rate")
            .await
            .contains("last 90 days")
    );
    browser.screenshot("report-bad-date").await;

    // An unknown pipeline, owner or grain: a message, and the page with defaults.
    browser
        .goto("/reports/flow?pipeline=Nope&owner=someone&grain=fortnight")
        .await;
    browser.wait_for("#won-chart").await;
    let message = browser.text(".report-error").await;
    assert!(message.contains("“Nope”"), "{message}");
    assert!(browser.text("#e-owner").await.contains("not a user"));
    assert!(browser.text("#e-grain").await.contains("fortnight"));
    browser.close().await;
}

#[tokio::test]
async fn every_report_page_shows_what_it_is_about() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pages.db");
    let history = prepare(&db).await;
    let browser = Browser::start(&db).await;
    browser.sign_in("admin@example.com", PASSWORD).await;

    // Flow: the busy week is marked as a peak, in colour and in words.
    browser.goto("/reports/flow?pipeline=Sales").await;
    browser.wait_for("#inflow-chart").await;
    let peaks = browser.texts("#inflow-marks .mark-peak").await;
    let label = history.peak_monday.strftime("%b %-d").to_string();
    assert!(
        peaks
            .iter()
            .any(|p| p.starts_with(&label) && p.contains("(12)")),
        "the week of {label} with 12 new leads is a peak: {peaks:?}"
    );
    assert!(
        !browser
            .client
            .find_all(Locator::Css("#inflow-chart .mark.peak"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        browser
            .text("details.method summary")
            .await
            .contains("How these figures")
    );
    browser.screenshot("report-flow").await;

    // Attention: the overdue call and the deal with nothing scheduled, each with its reason.
    browser.goto("/reports/attention?pipeline=Sales").await;
    browser.wait_for("#needs-effort").await;
    let overdue = browser
        .text(&format!(
            "#needs-effort tr[data-deal-id='{}'] [data-reason='activity_overdue']",
            history.overdue
        ))
        .await;
    assert!(
        overdue.contains("Activity overdue") && overdue.contains("+3"),
        "{overdue}"
    );
    let row = browser
        .text(&format!(
            "#needs-effort tr[data-deal-id='{}']",
            history.overdue
        ))
        .await;
    assert!(
        row.contains("3 day(s) overdue") && row.contains("Rita Rep"),
        "{row}"
    );
    browser
        .wait_for(&format!(
            "#needs-effort tr[data-deal-id='{}'] [data-reason='no_next_activity']",
            history.quiet
        ))
        .await;
    browser
        .click(&format!(
            "#needs-effort tr[data-deal-id='{}'] a.deal-title",
            history.overdue
        ))
        .await;
    browser.wait_for(".stagebar").await;
    assert!(
        browser
            .path()
            .await
            .starts_with(&format!("/deals/{}", history.overdue))
    );

    // Sources: the leads' source, sortable.
    browser
        .goto("/reports/sources?pipeline=Sales&period=365d")
        .await;
    browser.wait_for("#sources").await;
    let rows = browser.texts("#sources tbody tr.source").await;
    let web = rows
        .iter()
        .find(|r| r.starts_with("Web form"))
        .expect("a Web form row");
    assert!(
        web.starts_with("Web form 32 0"),
        "20 + 12 leads, no direct deals: {web}"
    );

    // Cycle time: A took 20 days from creation to won, B 15 to lost.
    browser.goto("/reports/cycle?pipeline=Sales").await;
    browser.wait_for("#stage-times").await;
    assert!(stat(&browser, "Won: median cycle").await.contains("20 d"));
    assert!(stat(&browser, "Lost: median cycle").await.contains("15 d"));

    // Velocity: two open deals by Rita (C and D), one by Omar.
    browser.goto("/reports/velocity?pipeline=Sales").await;
    browser.wait_for("#velocity-owners").await;
    let open = browser.text(".factor .stat-value").await;
    assert_eq!(open, "3");

    // Forecast: one calibration row per stage.
    browser.goto("/reports/forecast?pipeline=Sales").await;
    browser.wait_for("#calibration").await;
    assert_eq!(browser.texts("#calibration tbody tr").await.len(), 3);

    // Snapshot: still there, now among the reports.
    browser.goto("/reports/snapshot?pipeline=Sales").await;
    browser.wait_for("#snapshot-stages").await;
    let total = browser.texts("#snapshot-stages tr.total td").await;
    assert_eq!(total[2], "3", "open deals now: C, D and E: {total:?}");
    browser.close().await;
}

/// A WebDriver command for Chromium's DevTools: here, to show pages as a browser set to the
/// dark theme does (`prefers-color-scheme: dark`).
#[derive(Debug)]
struct Cdp(&'static str, serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.0, "params": self.1 });
        (http::Method::POST, Some(body.to_string()))
    }
}

async fn color_scheme(browser: &Browser, scheme: &str) {
    browser
        .client
        .issue_cmd(Cdp(
            "Emulation.setEmulatedMedia",
            serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        ))
        .await
        .expect("emulate the colour scheme");
}

/// Every report page on the demo team's 18 months of history, light and dark, saved under
/// target/screenshots for people to look at; each page must render its report. It builds the
/// demo database first (about 20 s in a debug build), so it runs on request:
/// `cargo test -p throughline-cli --test browser_reports -- --ignored`.
#[tokio::test]
#[ignore]
async fn screenshots_of_every_report_on_the_demo_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_throughline"))
        .args(["demo", "--database"])
        .arg(format!("sqlite://{}", db.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run throughline demo");
    assert!(status.success());
    let browser = Browser::start(&db).await;
    browser
        .sign_in("admin@demo.example", "throughline-demo")
        .await;
    let pages = [
        ("snapshot", "#snapshot-stages"),
        ("funnel", "#funnel-chart"),
        ("flow", "#won-chart"),
        ("forecast", "#forecast-chart"),
        ("attention", "#needs-effort"),
        ("sources", "#sources"),
        ("cycle", "#stage-chart"),
        ("velocity", "#velocity-months"),
    ];
    for scheme in ["light", "dark"] {
        color_scheme(&browser, scheme).await;
        for (page, proof) in pages {
            browser.client.set_window_size(1440, 900).await.unwrap();
            browser.goto(&format!("/reports/{page}")).await;
            browser.wait_for(proof).await;
            // The whole page, not only the window: make the window as tall as the page.
            let height = browser
                .client
                .execute("return document.documentElement.scrollHeight", vec![])
                .await
                .unwrap()
                .as_f64()
                .unwrap_or(900.0)
                .min(4000.0) as u32;
            browser
                .client
                .set_window_size(1440, height.max(900))
                .await
                .unwrap();
            browser
                .screenshot(&format!("reports-{page}-{scheme}"))
                .await;
        }
        browser.client.set_window_size(1440, 1400).await.unwrap();
        browser
            .goto("/reports/funnel?group_by=owner&period=this-year")
            .await;
        browser.wait_for("#groups-h").await;
        browser
            .screenshot(&format!("reports-funnel-by-owner-{scheme}"))
            .await;
    }
    browser.close().await;
}
