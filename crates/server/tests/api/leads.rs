//! Leads: create, list, show, change, qualify into a deal, disqualify and reopen.

use serde_json::{Value, json};
use throughline_core::Role;
use throughline_core::lead::NewLead;
use throughline_store::{Ctx, leads};

use crate::support::*;

on_both_backends!(leads_in_and_out, qualifying_makes_a_deal);

async fn leads_in_and_out(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rep = app.user("Rita", Role::Rep, None).await;
    let other = app.user("Omar", Role::Rep, None).await;

    // A rep's lead is theirs; an admin's may stay unassigned, in everyone's inbox.
    let res = app
        .post(
            &rep,
            "/leads",
            json!({
                "title": " Acme inquiry ",
                "source": "Google Ads",
                "campaign": "Spring 2026",
                "value": 120_000,
                "currency": "eur",
            }),
        )
        .await;
    let acme = res.ok(201).clone();
    let acme_id = s(&acme["id"]);
    assert_eq!(acme["title"], "Acme inquiry");
    assert_eq!(acme["status"], "open");
    assert_eq!(acme["owner_id"], rep.id.to_string());
    assert_eq!(acme["source"], "Google Ads");
    assert_eq!(acme["campaign"], "Spring 2026");
    assert_eq!(acme["value"], 120_000);
    assert_eq!(acme["currency"], "EUR");
    assert_eq!(acme["deal_id"], Value::Null);
    assert_eq!(acme["decided_at"], Value::Null);
    assert_eq!(acme["version"], 1);
    let inbox = app
        .post(
            &admin,
            "/leads",
            json!({ "title": "Web form", "source": "Website" }),
        )
        .await
        .ok(201)
        .clone();
    assert_eq!(inbox["owner_id"], Value::Null);
    let omars = app
        .post(
            &other,
            "/leads",
            json!({ "title": "Omar's", "source": "Website", "campaign": "Fair" }),
        )
        .await
        .ok(201)
        .clone();

    // Refusals name the field and create nothing.
    let before = app.get(&admin, "/leads").await.ok(200).clone();
    let unknown = uuid::Uuid::now_v7().to_string();
    for (body, field, words) in [
        (json!({ "title": "" }), "title", "must not be empty"),
        (
            json!({ "title": "X", "value": 5 }),
            "currency",
            "is required with a value",
        ),
        (
            json!({ "title": "X", "value": -5, "currency": "EUR" }),
            "value",
            "must not be negative",
        ),
        (
            json!({ "title": "X", "value": "5", "currency": "EUR" }),
            "value",
            "wrong type",
        ),
        (
            json!({ "title": "X", "owner_id": unknown }),
            "owner_id",
            "no such user",
        ),
        (
            json!({ "title": "X", "person_id": unknown }),
            "person_id",
            "no such person",
        ),
        (
            json!({ "title": "X", "status": "qualified" }),
            "status",
            "unknown field",
        ),
        (
            json!({ "title": "X", "campaign": "c".repeat(201) }),
            "campaign",
            "at most 200",
        ),
    ] {
        app.post(&rep, "/leads", body).await.invalid(field, words);
    }
    app.post(
        &rep,
        "/leads",
        json!({ "title": "X", "owner_id": other.id }),
    )
    .await
    .problem_field(403, "/problems/forbidden", "owner_id");
    assert_eq!(app.get(&admin, "/leads").await.ok(200), &before);

    // Lists: scoped, filtered, paged.
    let titles = |page: &Value| -> Vec<String> {
        let mut t: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| s(&l["title"]))
            .collect();
        t.sort();
        t
    };
    let all = app.get(&admin, "/leads").await.ok(200).clone();
    assert_eq!(titles(&all), ["Acme inquiry", "Omar's", "Web form"]);
    let mine = app.get(&rep, "/leads").await.ok(200).clone();
    assert_eq!(
        titles(&mine),
        ["Acme inquiry", "Web form"],
        "own and unassigned"
    );
    for (query, expected) in [
        ("/leads?source=Website", vec!["Omar's", "Web form"]),
        ("/leads?campaign=Fair", vec!["Omar's"]),
        (
            "/leads?status=open",
            vec!["Acme inquiry", "Omar's", "Web form"],
        ),
        ("/leads?status=qualified", vec![]),
    ] {
        let page = app.get(&admin, query).await.ok(200).clone();
        assert_eq!(titles(&page), expected, "{query}");
    }
    let page = app
        .get(&admin, &format!("/leads?owner_id={}", other.id))
        .await;
    assert_eq!(titles(page.ok(200)), ["Omar's"]);
    let page = app
        .get(&rep, &format!("/leads?owner_id={}", other.id))
        .await;
    assert_eq!(page.ok(200)["items"], json!([]));
    let first = app.get(&admin, "/leads?limit=2").await.ok(200).clone();
    assert_eq!(ids(&first).len(), 2);
    let cursor = s(&first["next_cursor"]);
    let second = app
        .get(&admin, &format!("/leads?limit=2&cursor={cursor}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(ids(&second).len(), 1);
    assert_eq!(second["next_cursor"], Value::Null);
    let mut both = [ids(&first), ids(&second)].concat();
    both.sort();
    let mut expected = ids(&all);
    expected.sort();
    assert_eq!(both, expected);
    app.get(&admin, "/leads?status=won")
        .await
        .invalid("status", "unknown variant");
    app.get(&admin, "/leads?limit=1000")
        .await
        .invalid("limit", "between 1 and 500");

    // Show: another rep's lead is not found.
    assert_eq!(
        app.get(&rep, &format!("/leads/{acme_id}")).await.ok(200),
        &acme
    );
    app.get(&rep, &format!("/leads/{}", s(&omars["id"])))
        .await
        .not_found();
    app.get(&other, &format!("/leads/{acme_id}"))
        .await
        .not_found();

    // Change.
    let path = format!("/leads/{acme_id}");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let res = app
        .patch(
            &rep,
            &path,
            json!({ "version": 1, "campaign": null, "value": 150_000 }),
        )
        .await;
    let changed = res.ok(200).clone();
    let since = s(&changed["updated_at"]).replace(':', "%3A");
    let page = app
        .get(&admin, &format!("/leads?updated_since={since}"))
        .await;
    assert_eq!(titles(page.ok(200)), ["Acme inquiry"]);
    assert_eq!(changed["campaign"], Value::Null);
    assert_eq!(changed["value"], 150_000);
    assert_eq!(changed["source"], "Google Ads");
    assert_eq!(changed["version"], 2);
    let before = app.get(&rep, &path).await.ok(200).clone();
    app.patch(&rep, &path, json!({ "version": 1, "title": "Old tab" }))
        .await
        .problem_field(409, "/problems/stale-version", "version");
    app.patch(&rep, &path, json!({ "version": 2, "currency": null }))
        .await
        .invalid("currency", "is required with a value");
    app.patch(&rep, &path, json!({ "version": 2, "title": " " }))
        .await
        .invalid("title", "must not be empty");
    app.patch(&rep, &path, json!({ "version": 2, "value": -1 }))
        .await
        .invalid("value", "must not be negative");
    app.patch(&rep, &path, json!({ "version": 2, "owner_id": other.id }))
        .await
        .problem_field(403, "/problems/forbidden", "owner_id");
    app.patch(&other, &path, json!({ "version": 2, "title": "Mine now" }))
        .await
        .not_found();
    assert_eq!(app.get(&rep, &path).await.ok(200), &before);

    // Disqualify needs a reason; reopen puts it back.
    let dq = format!("{path}/disqualify");
    app.post(&rep, &dq, json!({}))
        .await
        .invalid("reason", "missing field");
    app.post(&rep, &dq, json!({ "reason": "  " }))
        .await
        .invalid("reason", "must not be empty");
    app.post(&rep, &dq, json!({ "reason": "Spam", "version": 1 }))
        .await
        .problem_field(409, "/problems/stale-version", "version");
    app.post(&rep, &format!("{path}/reopen"), json!({}))
        .await
        .problem(409, "/problems/conflict");
    assert_eq!(app.get(&rep, &path).await.ok(200), &before);
    let res = app
        .post(
            &rep,
            &dq,
            json!({ "reason": " Student project ", "version": 2 }),
        )
        .await;
    let out = res.ok(200).clone();
    assert_eq!(out["status"], "disqualified");
    assert_eq!(out["disqualify_reason"], "Student project");
    assert!(out["decided_at"].is_string());
    assert_eq!(out["version"], 3);
    app.post(&rep, &dq, json!({ "reason": "Again" }))
        .await
        .problem(409, "/problems/conflict");
    let listed = app
        .get(&rep, "/leads?status=disqualified")
        .await
        .ok(200)
        .clone();
    assert_eq!(ids(&listed), [acme_id.as_str()]);
    app.post(&rep, &format!("{path}/reopen"), json!({ "version": 2 }))
        .await
        .problem_field(409, "/problems/stale-version", "version");
    let res = app.post_empty(&rep, &format!("{path}/reopen")).await;
    let back = res.ok(200).clone();
    assert_eq!(back["status"], "open");
    assert_eq!(back["disqualify_reason"], Value::Null);
    assert_eq!(back["decided_at"], Value::Null);
    assert_eq!(back["version"], 4);
}

async fn qualifying_makes_a_deal(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rep = app.user("Rita", Role::Rep, None).await;
    let other = app.user("Omar", Role::Rep, None).await;
    let p = sales_pipeline(app, &admin).await;
    let person = app
        .post(
            &rep,
            "/people",
            json!({ "name": "Ana", "email": "ana@acme.example" }),
        )
        .await
        .ok(201)
        .clone();

    // A lead that arrived weeks ago (made through the store at that instant).
    let arrived = at("2025-09-01T08:30:00Z");
    let mut tx = app.store.write().await.unwrap();
    let lead = leads::create(
        &mut tx,
        &Ctx::new(rep.actor(), arrived),
        NewLead {
            title: "Acme inquiry".into(),
            person_id: Some(s(&person["id"]).parse().unwrap()),
            source: Some("LinkedIn".into()),
            campaign: Some("Autumn push".into()),
            value: Some(90_000),
            currency: Some(throughline_core::Currency::EUR),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let path = format!("/leads/{}", lead.id);
    let qualify = format!("{path}/qualify");

    // Refusals leave the lead open and make no deal.
    let before = app.get(&rep, &path).await.ok(200).clone();
    let unknown = uuid::Uuid::now_v7().to_string();
    for (body, field, words) in [
        (json!({}), "pipeline_id", "give a pipeline_id or a stage_id"),
        (
            json!({ "pipeline_id": unknown }),
            "pipeline_id",
            "no such pipeline",
        ),
        (
            json!({ "pipeline_id": p.id, "value": -3 }),
            "value",
            "must not be negative",
        ),
        (
            json!({ "pipeline_id": p.id, "title": "" }),
            "title",
            "must not be empty",
        ),
        (
            json!({ "pipeline_id": p.id, "currency": "USD" }),
            "currency",
            "must be EUR",
        ),
        (
            json!({ "pipeline_id": p.id, "source": "x" }),
            "source",
            "unknown field",
        ),
    ] {
        app.post(&rep, &qualify, body).await.invalid(field, words);
    }
    app.post(
        &rep,
        &qualify,
        json!({ "pipeline_id": p.id, "owner_id": other.id }),
    )
    .await
    .problem_field(403, "/problems/forbidden", "owner_id");
    app.post(&rep, &qualify, json!({ "pipeline_id": p.id, "version": 9 }))
        .await
        .problem_field(409, "/problems/stale-version", "version");
    app.post(&other, &qualify, json!({ "pipeline_id": p.id }))
        .await
        .not_found();
    assert_eq!(app.get(&rep, &path).await.ok(200), &before);
    assert_eq!(app.get(&admin, "/deals").await.ok(200)["items"], json!([]));

    // Qualified: the deal keeps the source, campaign, contact and the lead's arrival.
    let res = app
        .post(
            &rep,
            &qualify,
            json!({ "pipeline_id": p.id, "version": 1, "expected_close_date": "2030-12-31" }),
        )
        .await;
    let made = res.ok(201).clone();
    let (l, d) = (&made["lead"], &made["deal"]);
    assert_eq!(l["status"], "qualified");
    assert_eq!(l["deal_id"], d["id"]);
    assert_eq!(l["version"], 2);
    assert!(l["decided_at"].is_string());
    assert_eq!(d["lead_id"], lead.id.to_string());
    assert_eq!(d["title"], "Acme inquiry");
    assert_eq!(d["source"], "LinkedIn");
    assert_eq!(d["campaign"], "Autumn push");
    assert_eq!(d["person_id"], person["id"]);
    assert_eq!(d["value"], 90_000);
    assert_eq!(d["currency"], "EUR");
    assert_eq!(d["owner_id"], rep.id.to_string());
    assert_eq!(d["stage_id"], p.stage(0));
    assert_eq!(d["expected_close_date"], "2030-12-31");
    assert_eq!(
        ts(&d["cycle_started_at"]),
        arrived,
        "the cycle starts at the lead"
    );
    assert_eq!(d["cycle_started_at"], l["created_at"]);
    assert!(ts(&d["created_at"]) > arrived);
    assert_eq!(ts(&l["decided_at"]), ts(&d["created_at"]));
    // The deal is there to read, with its lead's story told in the history.
    let deal_path = format!("/deals/{}", s(&d["id"]));
    let shown = app.get(&rep, &deal_path).await.ok(200).clone();
    assert_eq!(shown["lead_id"], lead.id.to_string());
    let history = app
        .get(&rep, &format!("{deal_path}/history"))
        .await
        .ok(200)
        .clone();
    assert_eq!(history[0]["kind"], "deal.created");
    assert_eq!(history[0]["data"]["after"]["lead_id"], lead.id.to_string());
    // Once qualified it is decided.
    app.post(&rep, &qualify, json!({ "pipeline_id": p.id }))
        .await
        .problem(409, "/problems/conflict");
    app.post(
        &rep,
        &format!("{path}/disqualify"),
        json!({ "reason": "Changed mind" }),
    )
    .await
    .problem(409, "/problems/conflict");
    let res = app.post_empty(&rep, &format!("{path}/reopen")).await;
    let b = res.problem(409, "/problems/conflict");
    assert!(s(&b["detail"]).contains("this one is qualified"), "{b}");

    // An inbox lead qualified by a rep becomes the rep's deal, straight into a stage.
    let inbox = app
        .post(&admin, "/leads", json!({ "title": "Web form" }))
        .await
        .ok(201)
        .clone();
    let res = app
        .post(
            &rep,
            &format!("/leads/{}/qualify", s(&inbox["id"])),
            json!({ "stage_id": p.stage(1), "title": "Web form deal", "value": 4_000 }),
        )
        .await;
    let made = res.ok(201).clone();
    assert_eq!(made["deal"]["owner_id"], rep.id.to_string());
    assert_eq!(made["deal"]["stage_id"], p.stage(1));
    assert_eq!(made["deal"]["title"], "Web form deal");
    assert_eq!(made["deal"]["value"], 4_000);
    assert_eq!(made["deal"]["source"], Value::Null);
    assert_eq!(made["deal"]["cycle_started_at"], inbox["created_at"]);
}
