//! Pipelines and stages: list, create, show, update, reorder and archive, with entry criteria.

use serde_json::{Value, json};
use throughline_core::Role;

use crate::support::*;

on_both_backends!(pipelines_and_stages, criteria_keep_their_ids);

/// What a pipeline looks like through the API (with its active stages).
async fn snapshot_of(app: &App, who: &TestUser, id: &str) -> Value {
    app.get(who, &format!("/pipelines/{id}"))
        .await
        .ok(200)
        .clone()
}

async fn pipelines_and_stages(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let manager = app.user("Mia", Role::Manager, None).await;
    let rep = app.user("Rita", Role::Rep, None).await;

    // Create.
    let res = app
        .post(&admin, "/pipelines", json!({ "name": "  Sales " }))
        .await;
    let sales = res.ok(201).clone();
    let pid = s(&sales["id"]);
    assert_eq!(sales["name"], "Sales", "names are trimmed");
    assert_eq!(sales["currency"], "EUR", "the default currency");
    assert_eq!(sales["archived"], false);
    assert_eq!(sales["version"], 1);
    let res = app
        .post(
            &admin,
            "/pipelines",
            json!({ "name": "US", "currency": "usd" }),
        )
        .await;
    let us = res.ok(201).clone();
    assert_eq!(us["currency"], "USD");

    // Refused creations change nothing.
    let before = app.get(&admin, "/pipelines").await.ok(200).clone();
    let mut both = ids(&before);
    both.sort();
    let mut expected = [pid.clone(), s(&us["id"])];
    expected.sort();
    assert_eq!(both, expected);
    app.post(&admin, "/pipelines", json!({ "name": "   " }))
        .await
        .invalid("name", "must not be empty");
    app.post(&admin, "/pipelines", json!({ "name": "sALES" }))
        .await
        .invalid("name", "another active pipeline has this name");
    app.post(
        &admin,
        "/pipelines",
        json!({ "name": "X", "currency": "EURO" }),
    )
    .await
    .invalid("currency", "ISO 4217");
    app.post(&admin, "/pipelines", json!({ "name": "x".repeat(121) }))
        .await
        .invalid("name", "at most 120");
    app.post(&admin, "/pipelines", json!({}))
        .await
        .invalid("name", "missing field");
    for who in [&rep, &manager] {
        let res = app.post(who, "/pipelines", json!({ "name": "Mine" })).await;
        let b = res.problem(403, "/problems/forbidden");
        assert!(s(&b["detail"]).contains("only an admin"), "{b}");
    }
    assert_eq!(app.get(&admin, "/pipelines").await.ok(200), &before);

    // Stages: appended in order, or inserted at a position.
    let stages = format!("/pipelines/{pid}/stages");
    let lead_in = app
        .post(
            &admin,
            &stages,
            json!({ "name": "Lead in", "probability": 10 }),
        )
        .await
        .ok(201)
        .clone();
    assert_eq!(lead_in["position"], 1);
    assert_eq!(lead_in["pipeline_id"], pid);
    assert_eq!(lead_in["criteria"], json!([]));
    assert_eq!(lead_in["rot_days"], Value::Null);
    let proposal = app
        .post(
            &admin,
            &stages,
            json!({
                "name": "Proposal",
                "probability": 50,
                "rot_days": 14,
                "description": "  A proposal was sent ",
                "criteria": [
                    { "kind": "checklist", "label": " Budget confirmed " },
                    { "kind": "field", "field": "expected_close_date" },
                    { "kind": "field", "field": "value", "label": "Value agreed" },
                ],
            }),
        )
        .await
        .ok(201)
        .clone();
    assert_eq!(proposal["position"], 2);
    assert_eq!(proposal["rot_days"], 14);
    assert_eq!(proposal["description"], "A proposal was sent");
    let criteria = proposal["criteria"].as_array().unwrap();
    assert_eq!(criteria.len(), 3);
    assert_eq!(criteria[0]["kind"], "checklist");
    assert_eq!(criteria[0]["label"], "Budget confirmed");
    assert!(criteria[0].get("field").is_none());
    assert_eq!(criteria[1]["kind"], "field");
    assert_eq!(criteria[1]["field"], "expected_close_date");
    assert_eq!(criteria[1]["label"], "Expected close date is set");
    assert_eq!(criteria[2]["label"], "Value agreed");
    let qualified = app
        .post(
            &admin,
            &stages,
            json!({ "name": "Qualified", "probability": 25, "position": 2 }),
        )
        .await
        .ok(201)
        .clone();
    let order = |list: &Value| -> Vec<(String, i64)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|st| (s(&st["name"]), st["position"].as_i64().unwrap()))
            .collect()
    };
    let listed = app.get(&rep, &stages).await.ok(200).clone();
    assert_eq!(
        order(&listed),
        [
            ("Lead in".to_string(), 1),
            ("Qualified".to_string(), 2),
            ("Proposal".to_string(), 3)
        ]
    );

    // Refused stages change nothing, and name every bad field.
    let before = snapshot_of(app, &admin, &pid).await;
    let res = app
        .post(
            &admin,
            &stages,
            json!({ "name": " ", "probability": 101, "rot_days": 0 }),
        )
        .await;
    let b = res.invalid("name", "must not be empty");
    assert_eq!(error_fields(b), ["name", "probability", "rot_days"]);
    assert_eq!(
        error_message(b, "probability"),
        "must be a whole percentage from 0 to 100"
    );
    app.post(
        &admin,
        &stages,
        json!({ "name": "Won't", "probability": -1 }),
    )
    .await
    .invalid("probability", "0 to 100");
    app.post(
        &admin,
        &stages,
        json!({ "name": "Won't", "probability": "high" }),
    )
    .await
    .invalid("probability", "wrong type");
    app.post(&admin, &stages, json!({ "name": "won't" }))
        .await
        .invalid("probability", "missing field");
    app.post(
        &admin,
        &stages,
        json!({ "name": "proposal", "probability": 5 }),
    )
    .await
    .invalid("name", "another stage of this pipeline has this name");
    app.post(
        &admin,
        &stages,
        json!({ "name": "Late", "probability": 5, "position": 9 }),
    )
    .await
    .invalid("position", "between 1 and 4");
    app.post(
        &admin,
        &stages,
        json!({ "name": "Late", "probability": 5, "position": 0 }),
    )
    .await
    .invalid("position", "between 1 and 4");
    let res = app
        .post(
            &admin,
            &stages,
            json!({
                "name": "Closing",
                "probability": 90,
                "criteria": [
                    { "kind": "checklist", "label": "Signed" },
                    { "kind": "checklist", "label": "  " },
                    { "kind": "field", "field": "colour" },
                    { "kind": "field" },
                    { "kind": "checklist", "label": "x", "field": "value" },
                    { "kind": "field", "field": "value" },
                    { "kind": "field", "field": "value" },
                ],
            }),
        )
        .await;
    let b = res.invalid("criteria[1].label", "must not be empty");
    assert_eq!(
        error_fields(b),
        [
            "criteria[1].label",
            "criteria[2].field",
            "criteria[3].field",
            "criteria[4].field",
            "criteria[6].field"
        ]
    );
    assert!(error_message(b, "criteria[2].field").contains("expected_close_date"));
    assert!(error_message(b, "criteria[6].field").contains("already required"));
    app.post(
        &admin,
        &stages,
        json!({
            "name": "Closing",
            "probability": 90,
            "criteria": [{ "id": uuid::Uuid::now_v7(), "kind": "checklist", "label": "Signed" }],
        }),
    )
    .await
    .invalid("criteria", "cannot carry ids");
    for who in [&rep, &manager] {
        app.post(who, &stages, json!({ "name": "Mine", "probability": 5 }))
            .await
            .problem(403, "/problems/forbidden");
    }
    assert_eq!(snapshot_of(app, &admin, &pid).await, before);

    // Show.
    let shown = app
        .get(&rep, &format!("/pipelines/{pid}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(shown["name"], "Sales");
    assert_eq!(order(&shown["stages"]).len(), 3);
    assert_eq!(shown["stages"][2], proposal.clone().tap_position(3));
    let stage = app
        .get(&rep, &format!("/stages/{}", s(&proposal["id"])))
        .await
        .ok(200)
        .clone();
    assert_eq!(stage, proposal.clone().tap_position(3));

    // Update the pipeline: versions guard against lost updates.
    let path = format!("/pipelines/{pid}");
    let res = app
        .patch(&admin, &path, json!({ "version": 1, "name": "Sales EU" }))
        .await;
    let renamed = res.ok(200).clone();
    assert_eq!(renamed["name"], "Sales EU");
    assert_eq!(renamed["version"], 2);
    let res = app
        .patch(
            &admin,
            &path,
            json!({ "version": 1, "name": "Sales World" }),
        )
        .await;
    let b = res.problem_field(409, "/problems/stale-version", "version");
    assert_eq!(b["current_version"], 2);
    assert!(s(&b["detail"]).contains("version 1"), "{b}");
    assert!(error_message(b, "version").contains("current version is 2"));
    app.patch(&admin, &path, json!({ "version": 2, "name": "" }))
        .await
        .invalid("name", "must not be empty");
    app.patch(&admin, &path, json!({ "version": 2, "name": "us" }))
        .await
        .invalid("name", "another active pipeline has this name");
    app.patch(&admin, &path, json!({ "name": "No version" }))
        .await
        .invalid("version", "missing field");
    app.patch(&admin, &path, json!({ "version": 2, "currency": "USD" }))
        .await
        .invalid("currency", "unknown field");
    app.patch(&rep, &path, json!({ "version": 2, "name": "Rita's" }))
        .await
        .problem(403, "/problems/forbidden");
    let shown = snapshot_of(app, &rep, &pid).await;
    assert_eq!(
        (&shown["name"], &shown["version"]),
        (&json!("Sales EU"), &json!(2))
    );
    // A patch that changes nothing leaves the version alone.
    let res = app
        .patch(&admin, &path, json!({ "version": 2, "name": "Sales EU" }))
        .await;
    assert_eq!(res.ok(200)["version"], 2);

    // Update a stage.
    let stage_path = format!("/stages/{}", s(&proposal["id"]));
    let res = app
        .patch(
            &admin,
            &stage_path,
            json!({ "version": 1, "probability": 60, "rot_days": null, "description": null }),
        )
        .await;
    let updated = res.ok(200).clone();
    assert_eq!(updated["probability"], 60);
    assert_eq!(updated["rot_days"], Value::Null);
    assert_eq!(updated["description"], Value::Null);
    assert_eq!(updated["name"], "Proposal", "absent fields stay");
    assert_eq!(
        updated["criteria"], proposal["criteria"],
        "criteria stay when absent"
    );
    assert_eq!(updated["version"], 2);
    let before = app.get(&admin, &stage_path).await.ok(200).clone();
    let b = app
        .patch(
            &admin,
            &stage_path,
            json!({ "version": 1, "probability": 70 }),
        )
        .await
        .problem_field(409, "/problems/stale-version", "version")
        .clone();
    assert_eq!(b["current_version"], 2);
    app.patch(
        &admin,
        &stage_path,
        json!({ "version": 2, "probability": 170 }),
    )
    .await
    .invalid("probability", "0 to 100");
    app.patch(&admin, &stage_path, json!({ "version": 2, "rot_days": -3 }))
        .await
        .invalid("rot_days", "between 1 and 3650");
    app.patch(
        &admin,
        &stage_path,
        json!({ "version": 2, "name": "lead IN" }),
    )
    .await
    .invalid("name", "another stage of this pipeline has this name");
    app.patch(
        &admin,
        &stage_path,
        json!({ "version": 2, "criteria": [{ "kind": "checklist", "label": "ok" }, { "kind": "checklist", "label": "" }] }),
    )
    .await
    .invalid("criteria[1].label", "must not be empty");
    app.patch(
        &manager,
        &stage_path,
        json!({ "version": 2, "probability": 1 }),
    )
    .await
    .problem(403, "/problems/forbidden");
    assert_eq!(app.get(&admin, &stage_path).await.ok(200), &before);

    // Reorder: every active stage exactly once.
    let order_path = format!("/pipelines/{pid}/stages/order");
    let (a, q, p) = (s(&lead_in["id"]), s(&qualified["id"]), s(&proposal["id"]));
    let before = app.get(&admin, &stages).await.ok(200).clone();
    for bad in [
        json!({ "stage_ids": [a, q] }),
        json!({ "stage_ids": [a, q, p, p] }),
        json!({ "stage_ids": [a, q, uuid::Uuid::now_v7()] }),
        json!({ "stage_ids": [] }),
    ] {
        app.put(&admin, &order_path, bad)
            .await
            .invalid("stage_ids", "every active stage");
    }
    app.put(&admin, &order_path, json!({ "stage_ids": [a, "x", p] }))
        .await
        .invalid("stage_ids[1]", "UUID");
    app.put(&rep, &order_path, json!({ "stage_ids": [p, q, a] }))
        .await
        .problem(403, "/problems/forbidden");
    assert_eq!(app.get(&admin, &stages).await.ok(200), &before);
    let res = app
        .put(&admin, &order_path, json!({ "stage_ids": [q, a, p] }))
        .await;
    assert_eq!(
        order(res.ok(200)),
        [
            ("Qualified".to_string(), 1),
            ("Lead in".to_string(), 2),
            ("Proposal".to_string(), 3)
        ]
    );
    let unknown = uuid::Uuid::now_v7();
    app.put(
        &admin,
        &format!("/pipelines/{unknown}/stages/order"),
        json!({ "stage_ids": [] }),
    )
    .await
    .not_found();

    // Archive a stage: refused while deals are open in it; then gone from the lists.
    let d = deal(app, &rep, json!({ "title": "Acme", "stage_id": q })).await;
    let res = app
        .post_empty(&admin, &format!("/stages/{q}/archive"))
        .await;
    let b = res.problem(409, "/problems/conflict");
    assert!(s(&b["detail"]).contains("1 open deal"), "{b}");
    app.post_empty(&rep, &format!("/stages/{a}/archive"))
        .await
        .problem(403, "/problems/forbidden");
    let res = app
        .post_empty(&admin, &format!("/stages/{a}/archive"))
        .await;
    let archived = res.ok(200).clone();
    assert_eq!(archived["archived"], true);
    assert_eq!(
        order(&app.get(&rep, &stages).await.ok(200).clone()),
        [("Qualified".to_string(), 1), ("Proposal".to_string(), 2)]
    );
    let all = app
        .get(&rep, &format!("{stages}?archived=true"))
        .await
        .ok(200)
        .clone();
    assert_eq!(ids(&all), [q.clone(), p.clone(), a.clone()]);
    // Archived stages take no deals and no changes.
    app.post(&rep, "/deals", json!({ "title": "Late", "stage_id": a }))
        .await
        .invalid("stage_id", "archived");
    app.patch(
        &admin,
        &format!("/stages/{a}"),
        json!({ "version": archived["version"], "probability": 1 }),
    )
    .await
    .problem(409, "/problems/conflict");
    // Archiving twice is harmless.
    assert_eq!(
        app.post_empty(&admin, &format!("/stages/{a}/archive"))
            .await
            .ok(200),
        &archived
    );

    // Archive a pipeline: refused while it has open deals.
    let res = app
        .post_empty(&admin, &format!("/pipelines/{pid}/archive"))
        .await;
    let b = res.problem(409, "/problems/conflict");
    assert!(s(&b["detail"]).contains("1 open deal"), "{b}");
    assert_eq!(snapshot_of(app, &admin, &pid).await["archived"], false);
    app.post_empty(&manager, &format!("/pipelines/{}/archive", s(&us["id"])))
        .await
        .problem(403, "/problems/forbidden");
    let res = app
        .post_empty(&admin, &format!("/pipelines/{}/archive", s(&us["id"])))
        .await;
    assert_eq!(res.ok(200)["archived"], true);
    assert_eq!(
        ids(app.get(&rep, "/pipelines").await.ok(200)),
        [pid.as_str()]
    );
    assert_eq!(
        ids(app.get(&rep, "/pipelines?archived=true").await.ok(200)),
        [pid.clone(), s(&us["id"])]
    );
    // An archived pipeline takes no deals and no stages; its name is free again.
    app.post(
        &rep,
        "/deals",
        json!({ "title": "Late", "pipeline_id": us["id"] }),
    )
    .await
    .invalid("pipeline_id", "the pipeline has no stages yet");
    app.post(
        &admin,
        &format!("/pipelines/{}/stages", s(&us["id"])),
        json!({ "name": "Lead in", "probability": 10 }),
    )
    .await
    .problem(409, "/problems/conflict");
    app.post(&admin, "/pipelines", json!({ "name": "US" }))
        .await
        .ok(201);
    // The deal kept the pipeline from being archived; once won it no longer does.
    app.post_empty(&rep, &format!("/deals/{}/won", s(&d["id"])))
        .await
        .ok(200);
    let res = app
        .post_empty(&admin, &format!("/pipelines/{pid}/archive"))
        .await;
    assert_eq!(res.ok(200)["archived"], true);
    app.post(
        &rep,
        "/deals",
        json!({ "title": "Late", "pipeline_id": pid }),
    )
    .await
    .invalid("pipeline_id", "the pipeline is archived");
}

/// Updating a stage's criteria keeps the ids of the items sent with their id (and the ticks
/// made against them), retires the ones left out and creates the new ones.
async fn criteria_keep_their_ids(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rep = app.user("Rita", Role::Rep, None).await;
    let p = sales_pipeline(app, &admin).await;
    let proposal = &p.stages[1];
    let budget = p.criterion(1, 0);
    let close_date = p.criterion(1, 1);

    let d = deal(app, &rep, json!({ "title": "Acme", "pipeline_id": p.id })).await;
    let did = s(&d["id"]);
    let res = app
        .post(
            &rep,
            &format!("/deals/{did}/criteria/{budget}"),
            json!({ "checked": true }),
        )
        .await;
    assert_eq!(res.ok(200)["checks"][0]["criterion_id"], budget);

    let stage_path = format!("/stages/{}", p.stage(1));
    // An id from another stage, or a changed kind, is refused.
    let other = p.criterion(2, 0);
    let before = app.get(&admin, &stage_path).await.ok(200).clone();
    app.patch(
        &admin,
        &stage_path,
        json!({ "version": 1, "criteria": [{ "id": other, "kind": "field", "field": "person_id" }] }),
    )
    .await
    .invalid("criteria[0].id", "not a criterion of this stage");
    app.patch(
        &admin,
        &stage_path,
        json!({ "version": 1, "criteria": [{ "id": budget, "kind": "field", "field": "value" }] }),
    )
    .await
    .invalid("criteria[0].kind", "cannot change");
    app.patch(
        &admin,
        &stage_path,
        json!({ "version": 1, "criteria": [
            { "id": budget, "kind": "checklist", "label": "a" },
            { "id": budget, "kind": "checklist", "label": "b" },
        ] }),
    )
    .await
    .invalid("criteria[1].id", "appears twice");
    assert_eq!(app.get(&admin, &stage_path).await.ok(200), &before);

    let res = app
        .patch(
            &admin,
            &stage_path,
            json!({
                "version": 1,
                "criteria": [
                    { "kind": "checklist", "label": "Decision maker known" },
                    { "id": budget, "kind": "checklist", "label": "Budget confirmed by the CFO" },
                ],
            }),
        )
        .await;
    let updated = res.ok(200).clone();
    let criteria = updated["criteria"].as_array().unwrap();
    assert_eq!(criteria.len(), 2, "the close-date criterion is retired");
    assert_eq!(criteria[0]["label"], "Decision maker known");
    assert_ne!(criteria[0]["id"], budget);
    assert_ne!(criteria[0]["id"], close_date);
    assert_eq!(criteria[1]["id"], budget, "the id is kept");
    assert_eq!(criteria[1]["label"], "Budget confirmed by the CFO");
    assert_eq!(
        updated["version"],
        proposal["version"].as_i64().unwrap() + 1
    );

    // The tick made against the kept criterion still counts; the new item is what is unmet.
    let res = app
        .post(
            &rep,
            &format!("/deals/{did}/move"),
            json!({ "stage_id": p.stage(1), "version": 2 }),
        )
        .await;
    let b = res.problem(422, "/problems/criteria-unmet");
    let unmet: Vec<_> = b["unmet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| s(&u["label"]))
        .collect();
    assert_eq!(unmet, ["Decision maker known"]);
    let shown = app
        .get(&rep, &format!("/deals/{did}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(shown["checks"][0]["criterion_id"], budget);
    assert_eq!(shown["checks"][0]["checked"], true);
    // A retired criterion can no longer be ticked.
    app.post(
        &rep,
        &format!("/deals/{did}/criteria/{close_date}"),
        json!({ "checked": true }),
    )
    .await
    .invalid("criterion_id", "not a criterion of this deal's pipeline");
}

/// A stage as listed after others moved it: only its position differs.
trait TapPosition {
    fn tap_position(self, position: i64) -> Value;
}

impl TapPosition for Value {
    fn tap_position(mut self, position: i64) -> Value {
        self["position"] = json!(position);
        self
    }
}
