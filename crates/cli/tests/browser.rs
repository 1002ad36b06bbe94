//! The web UI in a real headless Chromium against the real binary.

#[path = "browser/harness.rs"]
mod harness;

use std::path::Path;

use fantoccini::Locator;
use harness::Browser;
use jiff::{Timestamp, ToSpan};
use throughline_core::criteria::{CriterionInput, DealField};
use throughline_core::deal::{DealStatus, NewDeal};
use throughline_core::pipeline::{NewPipeline, NewStage, Stage};
use throughline_core::{Actor, DealId, Role};
use throughline_store::users::{self, NewUser};
use throughline_store::{Ctx, Store, deals, pipelines};

const PASSWORD: &str = "correct horse battery";

struct Team {
    stages: Vec<Stage>,
    rep_deal: DealId,
    other_deal: DealId,
}

/// A pipeline with three stages (the second gated by a checklist item), an admin, two reps,
/// and one deal per rep created ten days ago.
async fn prepare(db: &Path) -> Team {
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let ten_days_ago = Timestamp::now() - 240.hours();
    let sys = Ctx::new(Actor::SYSTEM, ten_days_ago);
    let mut tx = store.write().await.unwrap();
    let mut user = async |email: &str, name: &str, role: Role| {
        users::create(
            &mut tx,
            &sys,
            NewUser {
                email: email.into(),
                name: name.into(),
                role,
                team_id: None,
                password: Some(PASSWORD.into()),
            },
        )
        .await
        .unwrap()
    };
    let _admin = user("admin@example.com", "Ada Admin", Role::Admin).await;
    let rita = user("rita@example.com", "Rita Rep", Role::Rep).await;
    let omar = user("omar@example.com", "Omar Rep", Role::Rep).await;
    let p = pipelines::create(
        &mut tx,
        &sys,
        NewPipeline {
            name: "New business".into(),
            currency: None,
        },
    )
    .await
    .unwrap();
    let mut stages = vec![];
    for (name, prob, criteria) in [
        ("Lead in", 10, vec![]),
        (
            "Qualified",
            30,
            vec![CriterionInput::checklist("Budget confirmed")],
        ),
        (
            "Proposal",
            60,
            vec![CriterionInput::field(DealField::Value)],
        ),
    ] {
        let stage = NewStage {
            name: name.into(),
            probability: prob,
            rot_days: Some(7),
            description: Some(format!("{name}: what must be true to be here")),
            criteria,
            ..Default::default()
        };
        stages.push(
            pipelines::create_stage(&mut tx, &sys, p.id, stage)
                .await
                .unwrap(),
        );
    }
    let new_deal = |title: &str, owner| NewDeal {
        title: title.into(),
        pipeline_id: Some(p.id),
        value: 1_240_000,
        owner_id: Some(owner),
        ..Default::default()
    };
    let rep_deal = deals::create(&mut tx, &sys, new_deal("Acme expansion", rita.id))
        .await
        .unwrap();
    let other_deal = deals::create(&mut tx, &sys, new_deal("Globex pilot", omar.id))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store.close().await;
    Team {
        stages,
        rep_deal: rep_deal.id,
        other_deal: other_deal.id,
    }
}

async fn deal_now(db: &Path, id: DealId) -> throughline_core::deal::Deal {
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let mut tx = store.read().await.unwrap();
    let deal = deals::require(&mut tx, &Ctx::system_now(), id)
        .await
        .unwrap();
    drop(tx);
    store.close().await;
    deal
}

/// HTML5 drag and drop cannot be driven by WebDriver pointer actions in Chrome; dispatch the
/// same DragEvents the browser would, so the page's own handlers run.
async fn drag(browser: &Browser, card: &str, column: &str) {
    let script = r#"
        const card = document.querySelector(arguments[0]);
        const column = document.querySelector(arguments[1]);
        const data = new DataTransfer();
        const fire = (el, type) => el.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
        fire(card, 'dragstart');
        fire(column, 'dragover');
        fire(column, 'drop');
        fire(card, 'dragend');
    "#;
    browser
        .client
        .execute(script, vec![card.into(), column.into()])
        .await
        .expect("drag script");
}

#[tokio::test]
async fn first_run_creates_the_admin_then_shows_an_empty_state_that_teaches() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("empty.db");
    let browser = Browser::start(&db).await;
    browser.goto("/board").await;
    assert!(
        browser.path().await.starts_with("/setup"),
        "an installation without users asks for its first admin"
    );
    browser.fill("#name", "Ada Admin").await;
    browser.fill("#email", "not-an-email").await;
    browser.fill("#password", "short").await;
    // The browser's own checks stop the submit; strip them to test the server's answer.
    browser.client.execute("document.querySelectorAll('input').forEach(i => { i.removeAttribute('minlength'); i.type = 'text'; })", vec![]).await.unwrap();
    browser.click("button[type=submit]").await;
    browser.wait_for(".field .error").await;
    let errors = browser.texts(".field .error").await;
    assert!(
        errors.iter().any(|e| e.contains("e-mail address")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("at least 10")),
        "{errors:?}"
    );

    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_for(".empty").await;
    let empty = browser.text(".empty").await;
    assert!(
        empty.contains("No pipeline yet") && empty.contains("--demo"),
        "{empty}"
    );
    browser.screenshot("empty-board").await;
    browser.close().await;
}

#[tokio::test]
async fn a_rep_drags_a_deal_through_its_criteria_and_time_travel_shows_the_past() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("team.db");
    let team = prepare(&db).await;
    let browser = Browser::start(&db).await;

    browser.sign_in("rita@example.com", "wrong password").await;
    assert!(browser.text(".form-error").await.contains("do not match"));
    browser.sign_in("rita@example.com", PASSWORD).await;
    browser.wait_for("#board").await;

    // A rep sees only their own deal.
    let titles = browser.texts(".card .title").await;
    assert_eq!(
        titles,
        ["Acme expansion"],
        "the rep's board holds only her deal"
    );
    let header = browser
        .text(&format!(
            ".column[data-stage-id='{}'] .totals",
            team.stages[0].id
        ))
        .await;
    assert!(
        header.starts_with("1 deals"),
        "column totals count only visible deals: {header}"
    );
    browser.screenshot("board-rep").await;

    // Drag into "Qualified": the checklist item is unmet, so the dialog asks for it.
    let card = format!(".card[data-deal-id='{}']", team.rep_deal);
    let qualified = format!(".column[data-stage-id='{}']", team.stages[1].id);
    drag(&browser, &card, &qualified).await;
    browser
        .wait_for("#criteria-dialog[open] .checklist input[type=checkbox]")
        .await;
    let listed = browser.text("#criteria-dialog .checklist").await;
    assert!(listed.contains("Budget confirmed"), "{listed}");
    let move_button = browser
        .client
        .find(Locator::Css("#criteria-dialog [data-action=move]"))
        .await
        .unwrap();
    assert!(
        !move_button.is_enabled().await.unwrap(),
        "Move stays disabled until the criteria are met"
    );
    browser.screenshot("criteria-dialog").await;
    browser
        .click("#criteria-dialog .checklist input[type=checkbox]")
        .await;
    browser
        .client
        .wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Locator::Css(
            "#criteria-dialog [data-action=move]:not([disabled])",
        ))
        .await
        .expect("Move enabled after ticking");
    browser.click("#criteria-dialog [data-action=move]").await;
    browser.wait_for(&format!("{qualified} {card}")).await;
    let moved = deal_now(&db, team.rep_deal).await;
    assert_eq!(
        moved.stage_id, team.stages[1].id,
        "the move reached the database"
    );

    // Keyboard path: Shift+→ moves the focused card to "Proposal" (its field criterion, value, is met).
    let focused = browser.client.find(Locator::Css(&card)).await.unwrap();
    focused
        .send_keys(&format!(
            "{}{}",
            fantoccini::key::Key::Shift,
            fantoccini::key::Key::Right
        ))
        .await
        .unwrap();
    let proposal = format!(".column[data-stage-id='{}']", team.stages[2].id);
    browser.wait_for(&format!("{proposal} {card}")).await;
    assert_eq!(
        deal_now(&db, team.rep_deal).await.stage_id,
        team.stages[2].id
    );
    browser.screenshot("board-after-moves").await;

    // Time travel: five days ago the deal was still in "Lead in", and nothing can be dragged.
    let past = (Timestamp::now() - 120.hours())
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    browser.goto(&format!("/board?as_of={past}")).await;
    browser.wait_for(".notice.past").await;
    let lead_in = format!(".column[data-stage-id='{}']", team.stages[0].id);
    browser.wait_for(&format!("{lead_in} {card}")).await;
    let draggable = browser
        .client
        .find(Locator::Css(&card))
        .await
        .unwrap()
        .attr("draggable")
        .await
        .unwrap();
    assert_eq!(draggable, None, "the past is read-only");
    browser.screenshot("board-time-travel").await;

    // Another rep's deal is not found for her, in the page or the API.
    browser.goto(&format!("/deals/{}", team.other_deal)).await;
    assert!(browser.text("h1").await.contains("Not found"));
    browser.close().await;
}

#[tokio::test]
async fn the_deal_page_shows_bad_input_inline_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("deal.db");
    let team = prepare(&db).await;
    let browser = Browser::start(&db).await;
    browser.sign_in("admin@example.com", PASSWORD).await;
    browser.goto(&format!("/deals/{}", team.other_deal)).await;
    browser.wait_for("#f-value").await;
    let before = deal_now(&db, team.other_deal).await;

    browser.fill("#f-value", "lots").await;
    browser.click("#edit button[type=submit]").await;
    browser.wait_for("#edit .form-error").await;
    let message = browser.text("#edit .form-error").await;
    assert!(
        message.contains("value") && message.contains("not an amount"),
        "{message}"
    );
    let after = deal_now(&db, team.other_deal).await;
    assert_eq!(
        after.version, before.version,
        "refused input changes nothing"
    );
    browser.screenshot("deal-inline-error").await;

    // Win it from the page; the status and history follow.
    browser.goto(&format!("/deals/{}", team.other_deal)).await;
    browser
        .click(".page-head form[action$='/won'] button")
        .await;
    browser.wait_for(".pill.won").await;
    assert_eq!(deal_now(&db, team.other_deal).await.status, DealStatus::Won);
    let history = browser.texts(".timeline li").await;
    assert!(
        history.first().is_some_and(|h| h.contains("marked it won")),
        "{history:?}"
    );
    browser.screenshot("deal-won").await;
    browser.close().await;
}
