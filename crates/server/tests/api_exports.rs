//! `GET /api/v1/exports/{kind}` through the HTTP router, on SQLite and on PostgreSQL: the
//! file's media type, header and rows; refusals as problem documents; what each role gets.

#[path = "api/support.rs"]
#[allow(dead_code)]
mod support;

use serde_json::{Value, json};
use throughline_core::Role;

use support::*;

on_both_backends!(exports_by_kind_and_format, exports_follow_roles);

const DEAL_HEADER: &str = "id,title,pipeline,stage,status,value,currency,owner_email,owner_name,organization,person,person_email,expected_close_date,source,campaign,lost_reason,created_at,cycle_started_at,closed_at,stage_history,custom";

fn content_type(res: &Res) -> String {
    res.headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The CSV body's rows as (header, records), after checking the status and media type.
fn csv(res: &Res) -> (Vec<String>, Vec<Vec<String>>) {
    assert_eq!(
        res.status,
        200,
        "{}: {}",
        res.what,
        String::from_utf8_lossy(&res.raw)
    );
    assert_eq!(content_type(res), "text/csv; charset=utf-8", "{}", res.what);
    let mut reader = csv::Reader::from_reader(&res.raw[..]);
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn cell<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let i = header.iter().position(|h| h == name).unwrap();
    &row[i]
}

fn titles(res: &Res) -> Vec<String> {
    let (header, rows) = csv(res);
    let mut t: Vec<String> = rows
        .iter()
        .map(|r| cell(&header, r, "title").to_string())
        .collect();
    t.sort();
    t
}

async fn exports_by_kind_and_format(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rita = app.user("Rita", Role::Rep, None).await;
    let p = sales_pipeline(app, &admin).await;
    let d = deal(
        app,
        &rita,
        json!({
            "title": "Acme rollout", "pipeline_id": p.id, "value": 500_000,
            "source": "Web", "custom": { "seats": 40 },
        }),
    )
    .await;
    let id = s(&d["id"]);

    let res = app.get(&admin, "/exports/deals?format=csv").await;
    let text = String::from_utf8(res.raw.to_vec()).unwrap();
    assert_eq!(text.lines().next(), Some(DEAL_HEADER));
    let (header, rows) = csv(&res);
    assert_eq!(header.join(","), DEAL_HEADER);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(cell(&header, row, "id"), id);
    assert_eq!(cell(&header, row, "title"), "Acme rollout");
    assert_eq!(cell(&header, row, "pipeline"), "Sales");
    assert_eq!(cell(&header, row, "stage"), "Lead in");
    assert_eq!(cell(&header, row, "status"), "open");
    assert_eq!(cell(&header, row, "value"), "5000.00");
    assert_eq!(cell(&header, row, "currency"), "EUR");
    assert_eq!(cell(&header, row, "owner_email"), "rita@example.com");
    assert_eq!(cell(&header, row, "owner_name"), "Rita");
    assert_eq!(cell(&header, row, "source"), "Web");
    assert_eq!(cell(&header, row, "closed_at"), "");
    assert_eq!(cell(&header, row, "custom"), r#"{"seats":40}"#);
    let created = cell(&header, row, "created_at");
    assert_eq!(ts(&json!(created)), ts(&d["created_at"]));
    assert!(
        created.len() == 24 && created.ends_with('Z'),
        "milliseconds, UTC: {created}"
    );
    assert_eq!(
        cell(&header, row, "stage_history"),
        format!(r#"[{{"stage":"Lead in","at":"{created}"}}]"#)
    );
    let disposition = res.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"throughline-deals-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );

    // CSV unless told otherwise.
    let plain = app.get(&admin, "/exports/deals").await;
    assert_eq!(content_type(&plain), "text/csv; charset=utf-8");
    assert_eq!(plain.raw, res.raw);

    let json_res = app.get(&admin, "/exports/deals?format=json").await;
    assert_eq!(json_res.status, 200);
    assert_eq!(content_type(&json_res), "application/json");
    let items = json_res.body.as_array().expect("an array of deals");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["value"], json!(5000.0));
    assert_eq!(items[0]["custom"], json!({ "seats": 40 }));
    assert_eq!(items[0]["closed_at"], Value::Null);
    assert!(
        String::from_utf8_lossy(&json_res.raw).contains(r#""value":5000.00"#),
        "money keeps its decimals"
    );

    let xlsx = app.get(&admin, "/exports/deals?format=xlsx").await;
    assert_eq!(xlsx.status, 200);
    assert_eq!(
        content_type(&xlsx),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(xlsx.raw.starts_with(b"PK"), "an XLSX file is a zip archive");

    // Every kind answers, with its header first.
    for (kind, first) in [
        ("leads", "id,title,status,owner_email"),
        (
            "people",
            "id,name,email,phone,organization,owner_email,created_at",
        ),
        ("organizations", "id,name,domain,owner_email,created_at"),
        (
            "activities",
            "id,kind,subject,owner_email,deal_id,deal_title",
        ),
        ("events", "seq,at,actor_email,kind,entity,entity_id,data"),
        (
            "pipelines",
            "pipeline,currency,pipeline_archived,stage,position,probability,rot_days,description,criteria",
        ),
    ] {
        let res = app.get(&admin, &format!("/exports/{kind}")).await;
        let (header, _) = csv(&res);
        assert!(header.join(",").starts_with(first), "{kind}: {header:?}");
    }
    let events = app.get(&admin, "/exports/events?format=json").await;
    let events = events.body.as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "deal.created" && e["entity_id"] == json!(id)),
        "{events:?}"
    );

    // Pipelines nest their stages in JSON.
    let pipelines = app.get(&rita, "/exports/pipelines?format=json").await;
    let sales = pipelines
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "Sales")
        .unwrap_or_else(|| panic!("{:?}", pipelines.body));
    assert!(!sales["stages"].as_array().unwrap().is_empty(), "{sales}");
    assert!(sales["stages"][0]["probability"].is_i64(), "{sales}");

    // Refusals.
    let bad = app.get(&admin, "/exports/deals?format=xml").await;
    let b = bad.invalid("format", "csv, json or xlsx");
    assert!(b["detail"].as_str().unwrap().contains("xml"), "{b}");
    app.get(&admin, "/exports/deals?colour=red")
        .await
        .problem_field(422, "/problems/validation", "colour");
    let unknown = app.get(&admin, "/exports/invoices").await;
    let b = unknown.not_found();
    assert!(
        b["detail"].as_str().unwrap().contains("/exports/invoices"),
        "{b}"
    );
    app.send(axum::http::Method::GET, &api("/exports/deals"), None, None)
        .await
        .problem(401, "/problems/unauthorized");
    app.send(
        axum::http::Method::POST,
        &api("/exports/deals"),
        Some(&admin.token),
        None,
    )
    .await
    .problem(405, "/problems/method-not-allowed");
}

async fn exports_follow_roles(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let mia = app.user("Mia", Role::Manager, None).await;
    let east = app.team("East", Some(mia.id)).await;
    let rita = app.user("Rita", Role::Rep, Some(east)).await;
    let wes = app.user("Wes", Role::Rep, None).await;
    let p = sales_pipeline(app, &admin).await;
    let mut ids = vec![];
    for (who, title) in [(&rita, "rita's deal"), (&wes, "wes's deal")] {
        let d = deal(
            app,
            who,
            json!({ "title": title, "pipeline_id": p.id, "value": 1000 }),
        )
        .await;
        ids.push(s(&d["id"]));
    }
    let lead = app
        .post(&wes, "/leads", json!({ "title": "wes's lead" }))
        .await
        .ok(201)
        .clone();

    assert_eq!(
        titles(&app.get(&rita, "/exports/deals?format=csv").await),
        ["rita's deal"]
    );
    assert_eq!(
        titles(&app.get(&wes, "/exports/deals?format=csv").await),
        ["wes's deal"]
    );
    assert_eq!(
        titles(&app.get(&mia, "/exports/deals?format=csv").await),
        ["rita's deal"],
        "a manager exports their team's deals"
    );
    assert_eq!(
        titles(&app.get(&admin, "/exports/deals?format=csv").await),
        ["rita's deal", "wes's deal"]
    );
    let json_res = app.get(&rita, "/exports/deals?format=json").await;
    assert_eq!(json_res.body.as_array().unwrap().len(), 1);

    // A rep's history holds only what is about their own records.
    let events = app.get(&rita, "/exports/events?format=json").await;
    let events = events.body.as_array().expect("events").clone();
    assert!(!events.is_empty());
    for e in &events {
        assert_eq!(e["entity_id"], json!(ids[0]), "{e}");
    }
    let wes_events = app.get(&wes, "/exports/events?format=json").await;
    let wes_ids: Vec<&Value> = wes_events
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["entity_id"])
        .collect();
    assert!(wes_ids.contains(&&lead["id"]));
    assert!(wes_ids.contains(&&json!(ids[1])));
    assert!(!wes_ids.contains(&&json!(ids[0])));
}
