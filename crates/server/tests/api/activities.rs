//! Activities: create, list with filters, show and change (done and not done).

use serde_json::{Value, json};
use throughline_core::Role;

use crate::support::*;

on_both_backends!(activities_are_scheduled_and_done);

fn subjects(page: &Value) -> Vec<String> {
    let mut out: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| s(&a["subject"]))
        .collect();
    out.sort();
    out
}

async fn activities_are_scheduled_and_done(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rep = app.user("Rita", Role::Rep, None).await;
    let other = app.user("Omar", Role::Rep, None).await;
    let p = sales_pipeline(app, &admin).await;
    let d = deal(app, &rep, json!({ "title": "Acme", "pipeline_id": p.id })).await;
    let theirs = deal(
        app,
        &other,
        json!({ "title": "Omar's", "pipeline_id": p.id }),
    )
    .await;
    let lead = app
        .post(&rep, "/leads", json!({ "title": "Lead" }))
        .await
        .ok(201)
        .clone();

    // Create.
    let res = app
        .post(
            &rep,
            "/activities",
            json!({
                "kind": "call",
                "subject": " Discovery call ",
                "deal_id": d["id"],
                "due_at": "2030-01-10T09:00:00Z",
                "duration_minutes": 30,
                "note": "  ",
            }),
        )
        .await;
    let call = res.ok(201).clone();
    let call_id = s(&call["id"]);
    assert_eq!(call["kind"], "call");
    assert_eq!(call["subject"], "Discovery call");
    assert_eq!(call["owner_id"], rep.id.to_string());
    assert_eq!(call["deal_id"], d["id"]);
    assert_eq!(ts(&call["due_at"]), at("2030-01-10T09:00:00Z"));
    assert_eq!(call["duration_minutes"], 30);
    assert_eq!(call["note"], Value::Null);
    assert_eq!(call["done"], false);
    assert_eq!(call["done_at"], Value::Null);
    assert_eq!(call["version"], 1);
    let logged = app
        .post(&rep, "/activities", json!({ "kind": "email", "subject": "Sent prices", "done": true, "lead_id": lead["id"] }))
        .await
        .ok(201)
        .clone();
    assert_eq!(logged["done"], true);
    assert!(logged["done_at"].is_string());
    app.post(
        &rep,
        "/activities",
        json!({ "kind": "meeting", "subject": "Demo", "due_at": "2030-01-20T14:00:00+01:00" }),
    )
    .await
    .ok(201);
    app.post(
        &other,
        "/activities",
        json!({ "kind": "task", "subject": "Omar's task", "deal_id": theirs["id"] }),
    )
    .await
    .ok(201);

    // Refusals name the field and create nothing.
    let before = app.get(&admin, "/activities").await.ok(200).clone();
    let unknown = uuid::Uuid::now_v7().to_string();
    for (body, field, words) in [
        (
            json!({ "kind": "lunch", "subject": "X" }),
            "kind",
            "unknown variant",
        ),
        (json!({ "subject": "X" }), "kind", "missing field"),
        (
            json!({ "kind": "call", "subject": "" }),
            "subject",
            "must not be empty",
        ),
        (
            json!({ "kind": "call", "subject": "X", "duration_minutes": -1 }),
            "duration_minutes",
            "between 0 and 10080",
        ),
        (
            json!({ "kind": "call", "subject": "X", "duration_minutes": 10081 }),
            "duration_minutes",
            "between 0 and 10080",
        ),
        (
            json!({ "kind": "call", "subject": "X", "due_at": "tomorrow" }),
            "due_at",
            "",
        ),
        (
            json!({ "kind": "call", "subject": "X", "deal_id": unknown }),
            "deal_id",
            "no such deal",
        ),
        (
            json!({ "kind": "call", "subject": "X", "deal_id": theirs["id"] }),
            "deal_id",
            "no such deal",
        ),
        (
            json!({ "kind": "call", "subject": "X", "lead_id": unknown }),
            "lead_id",
            "no such lead",
        ),
        (
            json!({ "kind": "call", "subject": "X", "person_id": unknown }),
            "person_id",
            "no such person",
        ),
        (
            json!({ "kind": "call", "subject": "X", "organization_id": unknown }),
            "organization_id",
            "no such organization",
        ),
        (
            json!({ "kind": "call", "subject": "X", "done_at": "2030-01-01T00:00:00Z" }),
            "done_at",
            "unknown field",
        ),
    ] {
        app.post(&rep, "/activities", body)
            .await
            .invalid(field, words);
    }
    app.post(
        &rep,
        "/activities",
        json!({ "kind": "call", "subject": "X", "owner_id": other.id }),
    )
    .await
    .problem_field(403, "/problems/forbidden", "owner_id");
    assert_eq!(app.get(&admin, "/activities").await.ok(200), &before);

    // Lists: scoped to what the caller may see, and filtered.
    let all = app.get(&admin, "/activities").await.ok(200).clone();
    assert_eq!(
        subjects(&all),
        ["Demo", "Discovery call", "Omar's task", "Sent prices"]
    );
    let mine = app.get(&rep, "/activities").await.ok(200).clone();
    assert_eq!(subjects(&mine), ["Demo", "Discovery call", "Sent prices"]);
    for (query, expected) in [
        ("/activities?done=true".to_string(), vec!["Sent prices"]),
        (
            "/activities?done=false".to_string(),
            vec!["Demo", "Discovery call"],
        ),
        (
            format!("/activities?deal_id={}", s(&d["id"])),
            vec!["Discovery call"],
        ),
        (
            format!("/activities?lead_id={}", s(&lead["id"])),
            vec!["Sent prices"],
        ),
        (
            "/activities?due_before=2030-01-15T00:00:00Z".to_string(),
            vec!["Discovery call"],
        ),
        (
            "/activities?due_after=2030-01-15T00:00:00Z".to_string(),
            vec!["Demo"],
        ),
        (
            "/activities?due_after=2030-01-10T09:00:00Z&due_before=2030-01-20T13:00:00Z"
                .to_string(),
            vec!["Discovery call"],
        ),
        (format!("/activities?owner_id={}", other.id), vec![]),
        (format!("/activities?deal_id={}", s(&theirs["id"])), vec![]),
    ] {
        let page = app.get(&rep, &query).await.ok(200).clone();
        assert_eq!(subjects(&page), expected, "{query}");
    }
    let page = app.get(&rep, "/activities?limit=2").await.ok(200).clone();
    let cursor = s(&page["next_cursor"]);
    let rest = app
        .get(&rep, &format!("/activities?limit=2&cursor={cursor}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(ids(&page).len() + ids(&rest).len(), 3);
    assert_eq!(rest["next_cursor"], Value::Null);
    app.get(&rep, "/activities?due_before=soon")
        .await
        .invalid("due_before", "");
    app.get(&rep, "/activities?kind=call")
        .await
        .invalid("kind", "unknown field");

    // Show: another rep's activity is not found.
    let path = format!("/activities/{call_id}");
    assert_eq!(app.get(&rep, &path).await.ok(200), &call);
    app.get(&other, &path).await.not_found();
    app.patch(&other, &path, json!({ "version": 1, "done": true }))
        .await
        .not_found();

    // Change: done stamps done_at, not done clears it.
    let res = app
        .patch(
            &rep,
            &path,
            json!({ "version": 1, "done": true, "note": "Went well", "due_at": null }),
        )
        .await;
    let done = res.ok(200).clone();
    assert_eq!(done["done"], true);
    assert!(ts(&done["done_at"]) >= ts(&call["created_at"]));
    assert_eq!(done["note"], "Went well");
    assert_eq!(done["due_at"], Value::Null);
    assert_eq!(done["version"], 2);
    let before = app.get(&rep, &path).await.ok(200).clone();
    app.patch(&rep, &path, json!({ "version": 1, "subject": "Old tab" }))
        .await
        .problem_field(409, "/problems/stale-version", "version");
    app.patch(&rep, &path, json!({ "version": 2, "subject": " " }))
        .await
        .invalid("subject", "must not be empty");
    app.patch(&rep, &path, json!({ "version": 2, "duration_minutes": -5 }))
        .await
        .invalid("duration_minutes", "between 0 and 10080");
    app.patch(&rep, &path, json!({ "version": 2, "kind": "lunch" }))
        .await
        .invalid("kind", "unknown variant");
    app.patch(&rep, &path, json!({ "version": 2, "deal_id": null }))
        .await
        .invalid("deal_id", "unknown field");
    app.patch(&rep, &path, json!({ "version": 2, "owner_id": other.id }))
        .await
        .problem_field(403, "/problems/forbidden", "owner_id");
    assert_eq!(app.get(&rep, &path).await.ok(200), &before);
    let res = app
        .patch(
            &rep,
            &path,
            json!({ "version": 2, "done": false, "kind": "meeting" }),
        )
        .await;
    let undone = res.ok(200).clone();
    assert_eq!(undone["done"], false);
    assert_eq!(undone["done_at"], Value::Null);
    assert_eq!(undone["kind"], "meeting");
    assert_eq!(undone["version"], 3);
    // An admin can hand it to someone else.
    let res = app
        .patch(&admin, &path, json!({ "version": 3, "owner_id": other.id }))
        .await;
    assert_eq!(res.ok(200)["owner_id"], other.id.to_string());
    app.get(&rep, &path).await.not_found();
    assert_eq!(app.get(&other, &path).await.ok(200)["version"], 4);
}
