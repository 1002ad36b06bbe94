//! Deals: create, list (each filter, pages), show, change, move through criteria, check
//! items, win, lose, reopen and history; stale versions never overwrite.

use axum::http::{Method, header};
use serde_json::{Value, json};
use throughline_core::Role;

use crate::support::*;

on_both_backends!(
    create_show_and_change,
    move_through_criteria,
    close_reopen_and_history,
    list_filters_and_pages,
    concurrent_edits,
);

/// A deal and its history, to compare before and after a refused request.
async fn state(app: &App, who: &TestUser, id: &str) -> (Value, Value) {
    (
        app.get(who, &format!("/deals/{id}")).await.ok(200).clone(),
        app.get(who, &format!("/deals/{id}/history"))
            .await
            .ok(200)
            .clone(),
    )
}

async fn list(app: &App, who: &TestUser, path: impl AsRef<str>) -> Value {
    app.get(who, path.as_ref()).await.ok(200).clone()
}

fn kinds(history: &Value) -> Vec<String> {
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| s(&e["kind"]))
        .collect()
}

async fn create_show_and_change(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rep = app.user("Rita", Role::Rep, None).await;
    let other = app.user("Omar", Role::Rep, None).await;
    let p = sales_pipeline(app, &admin).await;
    let person = app
        .post(&rep, "/people", json!({ "name": "Ana" }))
        .await
        .ok(201)
        .clone();

    // Create: the first stage, the creator as owner, the pipeline's currency.
    let res = app
        .post(
            &rep,
            "/deals",
            json!({
                "title": "  Acme renewal ",
                "pipeline_id": p.id,
                "value": 500_000,
                "source": "Web",
                "campaign": " ",
                "custom": { "seats": 40 },
            }),
        )
        .await;
    let d = res.ok(201).clone();
    let id = s(&d["id"]);
    assert_eq!(d["title"], "Acme renewal");
    assert_eq!(d["stage_id"], p.stage(0));
    assert_eq!(d["pipeline_id"], p.id);
    assert_eq!(d["owner_id"], rep.id.to_string());
    assert_eq!(d["status"], "open");
    assert_eq!(d["value"], 500_000);
    assert_eq!(d["currency"], "EUR");
    assert_eq!(d["source"], "Web");
    assert_eq!(d["campaign"], Value::Null, "blank text is no text");
    assert_eq!(d["custom"], json!({ "seats": 40 }));
    assert_eq!(d["version"], 1);
    assert_eq!(d["checks"], json!([]));
    assert_eq!(d["created_at"], d["stage_entered_at"]);
    assert_eq!(d["created_at"], d["cycle_started_at"]);
    assert_eq!(d["closed_at"], Value::Null);
    // Straight into a named stage (the pipeline follows from it).
    let d2 = deal(
        app,
        &rep,
        json!({ "title": "Beta", "stage_id": p.stage(1), "person_id": person["id"], "expected_close_date": "2030-01-31" }),
    )
    .await;
    assert_eq!(d2["pipeline_id"], p.id);
    assert_eq!(d2["stage_id"], p.stage(1));
    assert_eq!(d2["person_id"], person["id"]);
    assert_eq!(d2["expected_close_date"], "2030-01-31");

    // Refused creations name the field and create nothing.
    let before = app.get(&admin, "/deals").await.ok(200).clone();
    let unknown = uuid::Uuid::now_v7().to_string();
    let mut us = app
        .post(
            &admin,
            "/pipelines",
            json!({ "name": "US", "currency": "USD" }),
        )
        .await
        .ok(201)
        .clone();
    us = app
        .post(
            &admin,
            &format!("/pipelines/{}/stages", s(&us["id"])),
            json!({ "name": "New", "probability": 5 }),
        )
        .await
        .ok(201)
        .clone();
    let cases = [
        (
            json!({ "title": "", "pipeline_id": p.id }),
            "title",
            "must not be empty",
        ),
        (
            json!({ "title": "x".repeat(201), "pipeline_id": p.id }),
            "title",
            "at most 200",
        ),
        (
            json!({ "title": "X", "pipeline_id": p.id, "value": -1 }),
            "value",
            "must not be negative",
        ),
        (
            json!({ "title": "X", "pipeline_id": p.id, "value": 100_000_000_000_001i64 }),
            "value",
            "too large",
        ),
        (
            json!({ "title": "X" }),
            "pipeline_id",
            "give a pipeline_id or a stage_id",
        ),
        (
            json!({ "title": "X", "pipeline_id": unknown }),
            "pipeline_id",
            "no such pipeline",
        ),
        (
            json!({ "title": "X", "stage_id": unknown }),
            "stage_id",
            "no such stage",
        ),
        (
            json!({ "title": "X", "pipeline_id": p.id, "stage_id": us["id"] }),
            "stage_id",
            "another pipeline",
        ),
        (
            json!({ "title": "X", "pipeline_id": p.id, "currency": "USD" }),
            "currency",
            "must be EUR",
        ),
        (
            json!({ "title": "X", "pipeline_id": p.id, "person_id": unknown }),
            "person_id",
            "no such person",
        ),
        (
            json!({ "title": "X", "pipeline_id": p.id, "organization_id": unknown }),
            "organization_id",
            "no such organization",
        ),
        (
            json!({ "title": "X", "pipeline_id": p.id, "owner_id": unknown }),
            "owner_id",
            "no such user",
        ),
        (
            json!({ "title": "X", "pipeline_id": p.id, "source": "s".repeat(201) }),
            "source",
            "at most 200",
        ),
        (
            json!({ "title": "X", "pipeline_id": p.id, "custom": { " ": 1 } }),
            "custom",
            "1 to 100 characters",
        ),
        (
            json!({ "title": "X", "pipeline_id": p.id, "status": "won" }),
            "status",
            "unknown field",
        ),
        (
            json!({ "title": "X", "pipeline_id": p.id, "expected_close_date": "2030-02-30" }),
            "expected_close_date",
            "",
        ),
    ];
    for (body, field, words) in cases {
        app.post(&rep, "/deals", body).await.invalid(field, words);
    }
    // Several bad fields are all named.
    let res = app
        .post(&rep, "/deals", json!({ "title": " ", "value": -5 }))
        .await;
    assert_eq!(
        error_fields(res.invalid("title", "must not be empty")),
        ["title", "value", "pipeline_id"]
    );
    let res = app
        .post(
            &rep,
            "/deals",
            json!({ "title": "X", "pipeline_id": p.id, "owner_id": other.id }),
        )
        .await;
    let b = res.problem_field(403, "/problems/forbidden", "owner_id");
    assert!(
        s(&b["detail"]).contains("only assign records to themself"),
        "{b}"
    );
    assert_eq!(app.get(&admin, "/deals").await.ok(200), &before);

    // Show.
    let shown = app.get(&rep, &format!("/deals/{id}")).await.ok(200).clone();
    assert_eq!(shown, d);

    // Change: absent fields stay, null clears, every change is versioned and recorded.
    let path = format!("/deals/{id}");
    let res = app
        .patch(
            &rep,
            &path,
            json!({ "version": 1, "value": 650_000, "source": null, "expected_close_date": "2030-03-31" }),
        )
        .await;
    let changed = res.ok(200).clone();
    assert_eq!(changed["value"], 650_000);
    assert_eq!(changed["source"], Value::Null);
    assert_eq!(changed["expected_close_date"], "2030-03-31");
    assert_eq!(changed["title"], "Acme renewal");
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["stage_entered_at"], d["stage_entered_at"]);
    let history = app
        .get(&rep, &format!("{path}/history"))
        .await
        .ok(200)
        .clone();
    assert_eq!(kinds(&history), ["deal.created", "deal.updated"]);
    assert_eq!(
        history[1]["data"]["changes"],
        json!({
            "value": { "from": 500_000, "to": 650_000 },
            "source": { "from": "Web", "to": null },
            "expected_close_date": { "from": null, "to": "2030-03-31" },
        })
    );
    assert_eq!(history[1]["actor_id"], rep.id.to_string());

    // Refused changes leave the deal and its history as they were.
    let before = state(app, &rep, &id).await;
    let cases = [
        (
            json!({ "version": 2, "value": -1 }),
            "value",
            "must not be negative",
        ),
        (
            json!({ "version": 2, "value": "lots" }),
            "value",
            "wrong type",
        ),
        (
            json!({ "version": 2, "title": "  " }),
            "title",
            "must not be empty",
        ),
        (
            json!({ "version": 2, "currency": "USD" }),
            "currency",
            "must be EUR",
        ),
        (
            json!({ "version": 2, "person_id": unknown }),
            "person_id",
            "no such person",
        ),
        (
            json!({ "version": 2, "stage_id": p.stage(1) }),
            "stage_id",
            "unknown field",
        ),
        (
            json!({ "version": 2, "status": "won" }),
            "status",
            "unknown field",
        ),
        (json!({ "value": 1 }), "version", "missing field"),
        (
            json!({ "version": "2", "value": 1 }),
            "version",
            "wrong type",
        ),
    ];
    for (body, field, words) in cases {
        app.patch(&rep, &path, body).await.invalid(field, words);
    }
    let res = app
        .patch(&rep, &path, json!({ "version": 2, "owner_id": other.id }))
        .await;
    res.problem_field(403, "/problems/forbidden", "owner_id");
    let res = app
        .patch(
            &rep,
            &path,
            json!({ "version": 1, "title": "Acme (old tab)" }),
        )
        .await;
    let b = res.problem_field(409, "/problems/stale-version", "version");
    assert_eq!(b["current_version"], 2);
    assert!(s(&b["detail"]).contains("you sent version 1"), "{b}");
    assert_eq!(state(app, &rep, &id).await, before);
    // A change to nothing is no change.
    let res = app
        .patch(&rep, &path, json!({ "version": 2, "value": 650_000 }))
        .await;
    assert_eq!(res.ok(200)["version"], 2);
    assert_eq!(state(app, &rep, &id).await, before);
    // An admin can hand the deal to another rep.
    let res = app
        .patch(&admin, &path, json!({ "version": 2, "owner_id": other.id }))
        .await;
    assert_eq!(res.ok(200)["owner_id"], other.id.to_string());
    app.get(&rep, &path).await.not_found();
}

async fn move_through_criteria(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rep = app.user("Rita", Role::Rep, None).await;
    let p = sales_pipeline(app, &admin).await;
    let budget = p.criterion(1, 0);
    let close_date = p.criterion(1, 1);
    let d = deal(
        app,
        &rep,
        json!({ "title": "Acme", "pipeline_id": p.id, "value": 1000 }),
    )
    .await;
    let id = s(&d["id"]);
    let move_path = format!("/deals/{id}/move");

    // Forward into a stage whose criteria are unmet: refused, listing each one.
    let before = state(app, &rep, &id).await;
    let res = app
        .post(
            &rep,
            &move_path,
            json!({ "stage_id": p.stage(1), "version": 1 }),
        )
        .await;
    let b = res.problem(422, "/problems/criteria-unmet").clone();
    assert_eq!(b["field"], "stage_id");
    assert_eq!(b["stage_id"], p.stage(1));
    assert_eq!(
        b["detail"],
        "the deal cannot enter `Proposal` until these are met: Budget confirmed; Expected close date is set"
    );
    assert_eq!(
        b["unmet"],
        json!([
            { "criterion_id": budget, "kind": "checklist", "label": "Budget confirmed" },
            { "criterion_id": close_date, "kind": "field", "label": "Expected close date is set", "field": "expected_close_date" },
        ])
    );
    assert_eq!(
        b["errors"],
        json!([
            { "field": format!("criteria.{budget}"), "message": "unmet: Budget confirmed" },
            { "field": "expected_close_date", "message": "unmet: Expected close date is set" },
        ])
    );
    // Skipping a stage checks the target's criteria only.
    let res = app
        .post(
            &rep,
            &move_path,
            json!({ "stage_id": p.stage(2), "version": 1 }),
        )
        .await;
    let b = res.problem(422, "/problems/criteria-unmet");
    assert_eq!(error_fields(b), ["person_id"]);
    assert_eq!(b["unmet"][0]["label"], "Contact person is linked");
    // Only an admin may override, and a rep asking to is told so.
    let res = app
        .post(
            &rep,
            &move_path,
            json!({ "stage_id": p.stage(1), "version": 1, "override": true }),
        )
        .await;
    let b = res.problem_field(403, "/problems/forbidden", "override");
    assert!(s(&b["detail"]).contains("only an admin"), "{b}");
    // Other bad moves.
    let unknown = uuid::Uuid::now_v7().to_string();
    app.post(
        &rep,
        &move_path,
        json!({ "stage_id": unknown, "version": 1 }),
    )
    .await
    .invalid("stage_id", "no such stage");
    app.post(&rep, &move_path, json!({ "stage_id": p.stage(1) }))
        .await
        .invalid("version", "missing field");
    app.post(
        &rep,
        &move_path,
        json!({ "stage_id": p.stage(1), "version": 1, "force": true }),
    )
    .await
    .invalid("force", "unknown field");
    app.post(
        &rep,
        &move_path,
        json!({ "stage_id": "proposal", "version": 1 }),
    )
    .await
    .invalid("stage_id", "UUID");
    assert_eq!(state(app, &rep, &id).await, before);

    // Tick and untick a checklist item: who and when are recorded, the version moves.
    let check_path = format!("/deals/{id}/criteria/{budget}");
    let res = app
        .post(&rep, &check_path, json!({ "checked": true }))
        .await;
    let ticked = res.ok(200).clone();
    assert_eq!(ticked["version"], 2);
    let check = &ticked["checks"][0];
    assert_eq!(check["criterion_id"], budget);
    assert_eq!(check["checked"], true);
    assert_eq!(check["changed_by"], rep.id.to_string());
    assert!(ts(&check["changed_at"]) >= ts(&d["created_at"]));
    let res = app
        .post(&admin, &check_path, json!({ "checked": false }))
        .await;
    let unticked = res.ok(200).clone();
    assert_eq!(unticked["version"], 3);
    assert_eq!(unticked["checks"].as_array().unwrap().len(), 1);
    assert_eq!(unticked["checks"][0]["checked"], false);
    assert_eq!(unticked["checks"][0]["changed_by"], admin.id.to_string());
    assert!(ts(&unticked["checks"][0]["changed_at"]) >= ts(&check["changed_at"]));
    let res = app
        .post(&rep, &check_path, json!({ "checked": true }))
        .await;
    assert_eq!(res.ok(200)["checks"][0]["changed_by"], rep.id.to_string());
    // Bad ticks.
    let before = state(app, &rep, &id).await;
    app.post(&rep, &check_path, json!({ "checked": "yes" }))
        .await
        .invalid("checked", "wrong type");
    app.post(&rep, &check_path, json!({}))
        .await
        .invalid("checked", "missing field");
    app.post(
        &rep,
        &format!("/deals/{id}/criteria/{close_date}"),
        json!({ "checked": true }),
    )
    .await
    .invalid("criterion_id", "cannot be ticked");
    let res = app
        .post(
            &rep,
            &format!("/deals/{id}/criteria/{unknown}"),
            json!({ "checked": true }),
        )
        .await;
    assert_eq!(
        res.not_found()["detail"],
        format!("no criterion with id {unknown}")
    );
    let elsewhere = pipeline(
        app,
        &admin,
        "Partners",
        &[json!({ "name": "Intro", "probability": 5, "criteria": [{ "kind": "checklist", "label": "Met" }] })],
    )
    .await;
    app.post(
        &rep,
        &format!("/deals/{id}/criteria/{}", elsewhere.criterion(0, 0)),
        json!({ "checked": true }),
    )
    .await
    .invalid("criterion_id", "not a criterion of this deal's pipeline");
    assert_eq!(state(app, &rep, &id).await, before);

    // Still one criterion short: the message lists only that one.
    let version = before.0["version"].clone();
    let res = app
        .post(
            &rep,
            &move_path,
            json!({ "stage_id": p.stage(1), "version": version }),
        )
        .await;
    assert_eq!(
        error_fields(res.problem(422, "/problems/criteria-unmet")),
        ["expected_close_date"]
    );
    let res = app
        .patch(
            &rep,
            &format!("/deals/{id}"),
            json!({ "version": version, "expected_close_date": "2030-06-30" }),
        )
        .await;
    let version = res.ok(200)["version"].clone();
    // A stale move is refused with the current version.
    let res = app
        .post(
            &rep,
            &move_path,
            json!({ "stage_id": p.stage(1), "version": 1 }),
        )
        .await;
    let b = res.problem_field(409, "/problems/stale-version", "version");
    assert_eq!(b["current_version"], version);
    let res = app
        .post(
            &rep,
            &move_path,
            json!({ "stage_id": p.stage(1), "version": version }),
        )
        .await;
    let moved = res.ok(200).clone();
    assert_eq!(moved["stage_id"], p.stage(1));
    assert_eq!(moved["version"], version.as_i64().unwrap() + 1);
    assert!(ts(&moved["stage_entered_at"]) > ts(&d["stage_entered_at"]));
    // Moving to where it is changes nothing.
    let res = app
        .post(
            &rep,
            &move_path,
            json!({ "stage_id": p.stage(1), "version": moved["version"] }),
        )
        .await;
    assert_eq!(res.ok(200), &moved);

    // An admin's override is allowed and recorded with what was unmet.
    let res = app
        .post(
            &admin,
            &move_path,
            json!({ "stage_id": p.stage(2), "version": moved["version"], "override": true }),
        )
        .await;
    let forced = res.ok(200).clone();
    assert_eq!(forced["stage_id"], p.stage(2));
    // Backward needs no criteria and is recorded too.
    let res = app
        .post(
            &rep,
            &move_path,
            json!({ "stage_id": p.stage(0), "version": forced["version"] }),
        )
        .await;
    let back = res.ok(200).clone();
    assert_eq!(back["stage_id"], p.stage(0));

    let history = app
        .get(&rep, &format!("/deals/{id}/history"))
        .await
        .ok(200)
        .clone();
    let moves: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "deal.stage_changed")
        .collect();
    assert_eq!(moves.len(), 3);
    assert_eq!(moves[0]["data"]["direction"], "forward");
    assert_eq!(moves[0]["data"]["override"], false);
    assert_eq!(moves[0]["data"]["from"]["stage"], "Lead in");
    assert_eq!(moves[0]["data"]["to"]["stage"], "Proposal");
    assert_eq!(moves[0]["actor_id"], rep.id.to_string());
    assert_eq!(moves[1]["data"]["override"], true);
    assert_eq!(moves[1]["actor_id"], admin.id.to_string());
    assert_eq!(moves[1]["data"]["unmet"][0]["field"], "person_id");
    assert_eq!(moves[1]["data"]["to"]["stage_id"], p.stage(2));
    assert_eq!(moves[2]["data"]["direction"], "backward");
    assert_eq!(moves[2]["data"]["override"], false);
    assert_eq!(moves[2]["data"]["to"]["stage"], "Lead in");
    // Ticks are in the history with their label.
    let ticks: Vec<(String, Value)> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| s(&e["kind"]).starts_with("deal.criterion_"))
        .map(|e| (s(&e["kind"]), e["data"]["label"].clone()))
        .collect();
    assert_eq!(
        ticks,
        [
            (
                "deal.criterion_checked".to_string(),
                json!("Budget confirmed")
            ),
            (
                "deal.criterion_unchecked".to_string(),
                json!("Budget confirmed")
            ),
            (
                "deal.criterion_checked".to_string(),
                json!("Budget confirmed")
            ),
        ]
    );
}

async fn close_reopen_and_history(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rep = app.user("Rita", Role::Rep, None).await;
    let p = sales_pipeline(app, &admin).await;
    let d = deal(
        app,
        &rep,
        json!({ "title": "Acme", "pipeline_id": p.id, "value": 700 }),
    )
    .await;
    let id = s(&d["id"]);

    // Lost needs a reason.
    let before = state(app, &rep, &id).await;
    let lost = format!("/deals/{id}/lost");
    app.post(&rep, &lost, json!({}))
        .await
        .invalid("reason", "must not be empty");
    app.post(&rep, &lost, json!({ "reason": "   " }))
        .await
        .invalid("reason", "must not be empty");
    app.post(&rep, &lost, json!({ "reason": "r".repeat(1001) }))
        .await
        .invalid("reason", "at most 1000");
    app.post(&rep, &lost, json!({ "reason": 5 }))
        .await
        .invalid("reason", "wrong type");
    app.post(&rep, &lost, json!({ "reason": "Price", "version": 7 }))
        .await
        .problem_field(409, "/problems/stale-version", "version");
    app.post_empty(&rep, &lost)
        .await
        .problem(415, "/problems/unsupported-media-type");
    assert_eq!(state(app, &rep, &id).await, before);

    let res = app
        .post(
            &rep,
            &lost,
            json!({ "reason": " Price too high ", "version": 1 }),
        )
        .await;
    let closed = res.ok(200).clone();
    assert_eq!(closed["status"], "lost");
    assert_eq!(closed["lost_reason"], "Price too high");
    assert!(closed["closed_at"].is_string());
    assert_eq!(closed["version"], 2);
    // A closed deal is neither closed again nor moved.
    let res = app.post_empty(&rep, &format!("/deals/{id}/won")).await;
    let b = res.problem(409, "/problems/conflict");
    assert_eq!(b["detail"], "the deal is already lost");
    let res = app
        .post(
            &rep,
            &format!("/deals/{id}/move"),
            json!({ "stage_id": p.stage(1), "version": 2 }),
        )
        .await;
    let b = res.problem_field(409, "/problems/conflict", "stage_id");
    assert!(s(&b["detail"]).contains("reopen it"), "{b}");

    // Reopen: the version body is optional, a stale one is refused.
    let reopen = format!("/deals/{id}/reopen");
    app.post(&rep, &reopen, json!({ "version": 1 }))
        .await
        .problem_field(409, "/problems/stale-version", "version");
    app.post(&rep, &reopen, json!({ "version": 2, "why": "x" }))
        .await
        .invalid("why", "unknown field");
    app.raw(Method::POST, &rep, &reopen, "{")
        .await
        .problem(400, "/problems/malformed-json");
    let res = app.post_empty(&rep, &reopen).await;
    let reopened = res.ok(200).clone();
    assert_eq!(reopened["status"], "open");
    assert_eq!(reopened["lost_reason"], Value::Null);
    assert_eq!(reopened["closed_at"], Value::Null);
    assert_eq!(reopened["stage_id"], p.stage(0));
    let res = app.post_empty(&rep, &reopen).await;
    assert_eq!(
        res.problem(409, "/problems/conflict")["detail"],
        "the deal is already open"
    );

    // Won: with no body, an empty JSON body, or a version.
    let won_path = format!("/deals/{id}/won");
    app.post(&rep, &won_path, json!({ "version": 1 }))
        .await
        .problem_field(409, "/problems/stale-version", "version");
    app.post(&rep, &won_path, json!({ "reason": "great" }))
        .await
        .invalid("reason", "unknown field");
    app.send(
        Method::POST,
        &api(&won_path),
        Some(&rep.token),
        Some(("text/plain", b"won".to_vec())),
    )
    .await
    .problem(415, "/problems/unsupported-media-type");
    assert_eq!(
        app.get(&rep, &format!("/deals/{id}")).await.ok(200)["status"],
        "open"
    );
    // A JSON content type with an empty body (curl -X POST -H 'Content-Type: application/json').
    let req = axum::http::Request::post(api(&won_path))
        .header(header::AUTHORIZATION, format!("Bearer {}", rep.token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::empty())
        .unwrap();
    let won = app.call(req).await.ok(200).clone();
    assert_eq!(won["status"], "won");
    assert_eq!(won["lost_reason"], Value::Null);
    assert!(ts(&won["closed_at"]) >= ts(&reopened["updated_at"]));
    let res = app
        .send(
            Method::POST,
            &api(&reopen),
            Some(&rep.token),
            Some(("application/json", b"  ".to_vec())),
        )
        .await;
    assert_eq!(res.ok(200)["status"], "open");
    let res = app.post(&rep, &won_path, json!({})).await;
    assert_eq!(res.ok(200)["status"], "won");

    // The history, oldest first, with who did what.
    let history = app
        .get(&rep, &format!("/deals/{id}/history"))
        .await
        .ok(200)
        .clone();
    assert_eq!(
        kinds(&history),
        [
            "deal.created",
            "deal.lost",
            "deal.reopened",
            "deal.won",
            "deal.reopened",
            "deal.won"
        ]
    );
    let events = history.as_array().unwrap();
    for pair in events.windows(2) {
        assert!(pair[0]["seq"].as_i64() < pair[1]["seq"].as_i64());
        assert!(ts(&pair[0]["at"]) <= ts(&pair[1]["at"]));
    }
    for e in events {
        assert_eq!(e["entity"], "deal");
        assert_eq!(e["entity_id"], id);
        assert_eq!(e["actor_id"], rep.id.to_string());
    }
    assert_eq!(events[0]["code"], 100);
    assert_eq!(events[0]["data"]["after"]["title"], "Acme");
    assert_eq!(events[1]["data"]["reason"], "Price too high");
    assert_eq!(events[2]["data"]["from_status"], "lost");
    assert_eq!(events[3]["data"]["value"], 700);
}

async fn list_filters_and_pages(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rep = app.user("Rita", Role::Rep, None).await;
    let other = app.user("Omar", Role::Rep, None).await;
    let p = sales_pipeline(app, &admin).await;
    let q = pipeline(
        app,
        &admin,
        "Partners",
        &[json!({ "name": "Intro", "probability": 5 })],
    )
    .await;

    let mut made = vec![];
    for (who, title, body) in [
        (&rep, "A", json!({ "pipeline_id": p.id })),
        (&rep, "B", json!({ "stage_id": p.stage(1) })),
        (&other, "C", json!({ "pipeline_id": p.id })),
        (&rep, "D", json!({ "pipeline_id": q.id })),
        (&other, "E", json!({ "stage_id": p.stage(1) })),
        (&rep, "F", json!({ "pipeline_id": p.id })),
        (&rep, "G", json!({ "pipeline_id": p.id })),
    ] {
        let mut body = body;
        body["title"] = json!(title);
        made.push(deal(app, who, body).await);
    }
    let id = |title: &str| s(&made.iter().find(|d| d["title"] == title).unwrap()["id"]);
    let titles = |page: &Value| -> Vec<String> {
        let mut t: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| s(&d["title"]))
            .collect();
        t.sort();
        t
    };
    app.post(
        &rep,
        &format!("/deals/{}/lost", id("F")),
        json!({ "reason": "No budget" }),
    )
    .await
    .ok(200);
    app.post_empty(&rep, &format!("/deals/{}/won", id("G")))
        .await
        .ok(200);

    assert_eq!(
        titles(&list(app, &admin, "/deals").await),
        ["A", "B", "C", "D", "E", "F", "G"]
    );
    assert_eq!(
        titles(&list(app, &admin, format!("/deals?pipeline_id={}", p.id)).await),
        ["A", "B", "C", "E", "F", "G"]
    );
    assert_eq!(
        titles(&list(app, &admin, format!("/deals?pipeline_id={}", q.id)).await),
        ["D"]
    );
    assert_eq!(
        titles(&list(app, &admin, format!("/deals?stage_id={}", p.stage(1))).await),
        ["B", "E"]
    );
    assert_eq!(
        titles(&list(app, &admin, format!("/deals?owner_id={}", other.id)).await),
        ["C", "E"]
    );
    assert_eq!(
        titles(&list(app, &admin, "/deals?status=lost").await),
        ["F"]
    );
    assert_eq!(titles(&list(app, &admin, "/deals?status=won").await), ["G"]);
    assert_eq!(
        titles(&list(app, &admin, "/deals?status=open").await),
        ["A", "B", "C", "D", "E"]
    );
    assert_eq!(
        titles(
            &list(
                app,
                &admin,
                format!(
                    "/deals?pipeline_id={}&owner_id={}&status=open",
                    p.id, rep.id
                )
            )
            .await
        ),
        ["A", "B"]
    );
    assert_eq!(
        list(
            app,
            &admin,
            format!("/deals?stage_id={}", q.stage(0)) + "&status=won"
        )
        .await["items"],
        json!([])
    );
    // Changed since an instant.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let res = app
        .patch(
            &rep,
            &format!("/deals/{}", id("B")),
            json!({ "version": 1, "value": 10 }),
        )
        .await;
    let since = s(&res.ok(200)["updated_at"]);
    let encoded = since.replace(':', "%3A");
    assert_eq!(
        titles(&list(app, &admin, format!("/deals?updated_since={encoded}")).await),
        ["B"]
    );
    // A rep lists only their own deals, whatever the filter says.
    let mine = app.get(&rep, "/deals").await.ok(200).clone();
    assert_eq!(titles(&mine), ["A", "B", "D", "F", "G"]);
    let theirs = app
        .get(&rep, &format!("/deals?owner_id={}", other.id))
        .await;
    assert_eq!(theirs.ok(200)["items"], json!([]));

    // Pages: every deal exactly once, in id order, then no cursor.
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/deals?limit=3&cursor={c}"),
            None => "/deals?limit=3".to_string(),
        };
        let page = list(app, &admin, path).await;
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 3);
        seen.extend(page_ids.clone());
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(next, page_ids.last().unwrap(), "the cursor is the last id");
                cursor = Some(next.to_string());
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut all: Vec<String> = made.iter().map(|d| s(&d["id"])).collect();
    all.sort();
    assert_eq!(seen, all);
    // Pages compose with filters.
    let first = list(app, &admin, format!("/deals?pipeline_id={}&limit=5", p.id)).await;
    assert_eq!(ids(&first).len(), 5);
    let next = s(&first["next_cursor"]);
    let second = list(
        app,
        &admin,
        format!("/deals?pipeline_id={}&limit=5&cursor={next}", p.id),
    )
    .await;
    assert_eq!(ids(&second).len(), 1);
    assert_eq!(second["next_cursor"], Value::Null);
    let exact = list(app, &admin, "/deals?limit=7").await;
    assert_eq!(ids(&exact).len(), 7);
    assert_eq!(exact["next_cursor"], Value::Null, "no empty last page");

    // Bad paging.
    for (query, field, words) in [
        ("/deals?limit=0", "limit", "between 1 and 500"),
        ("/deals?limit=501", "limit", "between 1 and 500"),
        ("/deals?limit=-1", "limit", "between 1 and 500"),
        ("/deals?cursor=page-two", "cursor", "not a cursor"),
    ] {
        app.get(&admin, query).await.invalid(field, words);
    }
}

/// Two people change the same deal at once: one wins, the other is told, nothing is lost.
async fn concurrent_edits(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rep = app.user("Rita", Role::Rep, None).await;
    let p = sales_pipeline(app, &admin).await;
    let d = deal(
        app,
        &rep,
        json!({ "title": "Acme", "pipeline_id": p.id, "value": 100 }),
    )
    .await;
    let path = format!("/deals/{}", s(&d["id"]));

    // One after the other, from the same version: the first write survives.
    let first = app
        .patch(&rep, &path, json!({ "version": 1, "value": 200 }))
        .await;
    assert_eq!(first.ok(200)["version"], 2);
    let second = app
        .patch(&admin, &path, json!({ "version": 1, "title": "Acme Corp" }))
        .await;
    assert_eq!(
        second.problem_field(409, "/problems/stale-version", "version")["current_version"],
        2
    );
    let now = app.get(&rep, &path).await.ok(200).clone();
    assert_eq!(
        (&now["value"], &now["title"], &now["version"]),
        (&json!(200), &json!("Acme"), &json!(2))
    );

    // Truly at once, several times over: exactly one of each pair is applied.
    for round in 0..4 {
        let version = app.get(&rep, &path).await.ok(200)["version"].clone();
        let (a, b) = tokio::join!(
            app.patch(
                &rep,
                &path,
                json!({ "version": version, "value": 1000 + round })
            ),
            app.patch(
                &admin,
                &path,
                json!({ "version": version, "title": format!("Acme {round}") })
            ),
        );
        let winners = [&a, &b].iter().filter(|r| r.status == 200).count();
        assert_eq!(winners, 1, "round {round}: {} and {}", a.status, b.status);
        let loser = if a.status == 200 { &b } else { &a };
        let body = loser.problem_field(409, "/problems/stale-version", "version");
        assert_eq!(body["current_version"], version.as_i64().unwrap() + 1);
        let now = app.get(&rep, &path).await.ok(200).clone();
        assert_eq!(now["version"], version.as_i64().unwrap() + 1);
        if a.status == 200 {
            assert_eq!(now["value"], 1000 + round);
            assert_ne!(now["title"], format!("Acme {round}"));
        } else {
            assert_eq!(now["title"], format!("Acme {round}"));
            assert_ne!(now["value"], 1000 + round);
        }
    }
    // Two moves at once, to different stages: one goes through, the other is told.
    let version = app.get(&rep, &path).await.ok(200)["version"].clone();
    let move_path = format!("{path}/move");
    let res = app
        .post(
            &admin,
            &move_path,
            json!({ "stage_id": p.stage(2), "version": version, "override": true }),
        )
        .await;
    let version = res.ok(200)["version"].clone();
    let (a, b) = tokio::join!(
        app.post(
            &rep,
            &move_path,
            json!({ "stage_id": p.stage(0), "version": version })
        ),
        app.post(
            &admin,
            &move_path,
            json!({ "stage_id": p.stage(1), "version": version, "override": true })
        ),
    );
    assert_eq!(
        [a.status, b.status].iter().filter(|s| **s == 200).count(),
        1,
        "{} {}",
        a.status,
        b.status
    );
    let (winner, loser, target) = if a.status == 200 {
        (&a, &b, p.stage(0))
    } else {
        (&b, &a, p.stage(1))
    };
    assert_eq!(winner.ok(200)["stage_id"], target);
    loser.problem_field(409, "/problems/stale-version", "version");
    assert_eq!(app.get(&rep, &path).await.ok(200)["stage_id"], target);
    let history = app
        .get(&rep, &format!("{path}/history"))
        .await
        .ok(200)
        .clone();
    assert_eq!(
        kinds(&history)
            .iter()
            .filter(|k| *k == "deal.updated")
            .count(),
        5,
        "one update per round plus the first"
    );
}
