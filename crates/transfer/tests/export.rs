//! Exports of a small history made through the store operations at known instants, on a
//! fresh SQLite file and a fresh PostgreSQL database: every kind in CSV, JSON and XLSX (read
//! back with calamine), with exact cell values, and what a rep's export leaves out.
//!
//! The PostgreSQL leg uses the server named by `THROUGHLINE_TEST_POSTGRES` (default: the
//! local server, trust auth); set `THROUGHLINE_SKIP_POSTGRES=1` to skip it on purpose.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::atomic::{AtomicU32, Ordering};

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use jiff::Timestamp;
use serde_json::{Value, json};
use throughline_core::activity::{ActivityKind, ActivityPatch, NewActivity};
use throughline_core::deal::NewDeal;
use throughline_core::lead::NewLead;
use throughline_core::party::{OrganizationInput, PersonInput};
use throughline_core::pipeline::{NewPipeline, NewStage};
use throughline_core::{Actor, Currency, Role};
use throughline_store::deals::{self, CloseDeal, MoveDeal};
use throughline_store::leads::{self, Disqualify};
use throughline_store::users::{self, NewUser};
use throughline_store::{Ctx, Store, activities, parties, pipelines};
use throughline_transfer::export::{self, ExportStream, Format, Kind, columns};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

// ---- databases ----

struct Db {
    store: Store,
    /// The server URL and database name to drop at the end (PostgreSQL).
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Db {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("export.db").display());
    Db {
        store: Store::open(&url).await.expect("open sqlite"),
        postgres: None,
        _dir: Some(dir),
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

async fn postgres() -> Option<Db> {
    if std::env::var("THROUGHLINE_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        eprintln!("THROUGHLINE_SKIP_POSTGRES=1: the PostgreSQL leg is skipped");
        return None;
    }
    let server =
        std::env::var("THROUGHLINE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into());
    // The prefix the store tests use, so their sweep drops what a failed run leaves behind.
    let name = format!(
        "tl_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        Timestamp::now().as_millisecond()
    );
    let admin = sqlx::PgPool::connect(&server).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {server} is needed for this test ({e}); set THROUGHLINE_SKIP_POSTGRES=1 to skip")
    });
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
    let store = Store::open(&format!("{base}/{name}"))
        .await
        .expect("open postgres");
    Some(Db {
        store,
        postgres: Some((server, name)),
        _dir: None,
    })
}

impl Db {
    async fn finish(self) {
        self.store.close().await;
        if let Some((server, name)) = self.postgres
            && let Ok(admin) = sqlx::PgPool::connect(&server).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&admin)
            .await;
            admin.close().await;
        }
    }
}

#[tokio::test]
async fn exports_on_sqlite() {
    let db = sqlite().await;
    story(&db.store).await;
    db.finish().await;
}

#[tokio::test]
async fn exports_on_postgres() {
    if let Some(db) = postgres().await {
        story(&db.store).await;
        db.finish().await;
    }
}

// ---- the history ----

fn at(text: &str) -> Timestamp {
    text.parse().expect("test instant")
}

struct World {
    admin: Actor,
    rita: Actor,
    rita_deal: String,
    wes_deal: String,
    rita_lead: String,
    wes_lead: String,
}

async fn user(store: &Store, email: &str, name: &str, role: Role) -> Actor {
    let mut tx = store.write().await.unwrap();
    let u = users::create(
        &mut tx,
        &Ctx::new(Actor::SYSTEM, at("2024-01-01T00:00:00Z")),
        NewUser {
            email: email.into(),
            name: name.into(),
            role,
            team_id: None,
            password: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Actor::user(u.id, role)
}

async fn history(store: &Store) -> World {
    let admin = user(store, "ada@example.com", "Ada Admin", Role::Admin).await;
    let rita = user(store, "rita@example.com", "Rita Rep", Role::Rep).await;
    let wes = user(store, "wes@example.com", "Wes West", Role::Rep).await;

    let mut tx = store.write().await.unwrap();
    let setup = Ctx::new(admin, at("2024-02-01T08:00:00Z"));
    let sales = pipelines::create(
        &mut tx,
        &setup,
        NewPipeline {
            name: "Sales".into(),
            currency: Some(Currency::EUR),
        },
    )
    .await
    .unwrap();
    let mut stages = vec![];
    for (name, probability) in [("Lead in", 10), ("Qualified", 40), ("Proposal", 70)] {
        let stage = pipelines::create_stage(
            &mut tx,
            &setup,
            sales.id,
            NewStage {
                name: name.into(),
                probability,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        stages.push(stage);
    }
    let japan = pipelines::create(
        &mut tx,
        &setup,
        NewPipeline {
            name: "Japan".into(),
            currency: Some("JPY".parse().unwrap()),
        },
    )
    .await
    .unwrap();
    pipelines::create_stage(
        &mut tx,
        &setup,
        japan.id,
        NewStage {
            name: "Talks".into(),
            probability: 20,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let acme = parties::create_organization(
        &mut tx,
        &setup,
        OrganizationInput {
            name: "Acme GmbH".into(),
            domain: Some("acme.example".into()),
            owner_id: rita.user_id,
        },
    )
    .await
    .unwrap();
    let paula = parties::create_person(
        &mut tx,
        &setup,
        PersonInput {
            name: "Paula Buyer".into(),
            email: Some("paula@acme.example".into()),
            phone: Some("+49 30 1234".into()),
            organization_id: Some(acme.id),
            owner_id: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let rita_at = |t: &str| Ctx::new(rita, at(t));
    let wes_at = |t: &str| Ctx::new(wes, at(t));

    let mut tx = store.write().await.unwrap();
    let rita_lead = leads::create(
        &mut tx,
        &rita_at("2024-02-28T16:45:00.5Z"),
        NewLead {
            title: "Inbound Globex".into(),
            owner_id: rita.user_id,
            organization_id: Some(acme.id),
            person_id: Some(paula.id),
            source: Some("Ads".into()),
            campaign: Some("Winter".into()),
            value: Some(99_900),
            currency: Some(Currency::EUR),
            custom: [("score".to_string(), json!(7))].into_iter().collect(),
        },
    )
    .await
    .unwrap();
    let wes_lead = leads::create(
        &mut tx,
        &wes_at("2024-02-29T09:00:00Z"),
        NewLead {
            title: "Cold list".into(),
            owner_id: wes.user_id,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    leads::disqualify(
        &mut tx,
        &wes_at("2024-03-01T08:00:00Z"),
        wes_lead.id,
        Disqualify {
            reason: "No budget".into(),
            version: None,
        },
    )
    .await
    .unwrap();

    let deal = deals::create(
        &mut tx,
        &rita_at("2024-03-01T10:22:33.250Z"),
        NewDeal {
            title: "Acme rollout".into(),
            pipeline_id: Some(sales.id),
            value: 500_000,
            person_id: Some(paula.id),
            organization_id: Some(acme.id),
            expected_close_date: Some("2024-04-30".parse().unwrap()),
            source: Some("Web".into()),
            campaign: Some("Spring".into()),
            custom: [
                ("seats".to_string(), json!(40)),
                ("industry".to_string(), json!("Retail")),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let d = deals::move_to(
        &mut tx,
        &rita_at("2024-03-05T09:00:00.125Z"),
        deal.id,
        MoveDeal {
            stage_id: stages[1].id,
            version: deal.version,
            force: false,
        },
    )
    .await
    .unwrap();
    let d = deals::move_to(
        &mut tx,
        &rita_at("2024-03-10T15:30:00Z"),
        deal.id,
        MoveDeal {
            stage_id: stages[2].id,
            version: d.version,
            force: false,
        },
    )
    .await
    .unwrap();
    deals::win(
        &mut tx,
        &rita_at("2024-03-20T12:00:00Z"),
        deal.id,
        CloseDeal {
            reason: None,
            version: Some(d.version),
        },
    )
    .await
    .unwrap();

    let wes_deal = deals::create(
        &mut tx,
        &wes_at("2024-03-02T08:00:00Z"),
        NewDeal {
            title: "Wes, \"the\" deal".into(),
            pipeline_id: Some(sales.id),
            value: 123_456,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    deals::create(
        &mut tx,
        &Ctx::new(admin, at("2024-03-03T00:00:00Z")),
        NewDeal {
            title: "Tokyo".into(),
            pipeline_id: Some(japan.id),
            value: 5_000,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let call = activities::create(
        &mut tx,
        &rita_at("2024-03-03T12:00:00Z"),
        NewActivity {
            kind: ActivityKind::Call,
            subject: "Intro call".into(),
            owner_id: None,
            deal_id: Some(deal.id),
            lead_id: None,
            person_id: Some(paula.id),
            organization_id: Some(acme.id),
            due_at: Some(at("2024-03-04T09:00:00Z")),
            duration_minutes: Some(30),
            note: Some("Bring slides, and the price list".into()),
            done: false,
        },
    )
    .await
    .unwrap();
    activities::update(
        &mut tx,
        &rita_at("2024-03-04T09:45:00Z"),
        call.id,
        ActivityPatch {
            version: call.version,
            done: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    activities::create(
        &mut tx,
        &wes_at("2024-03-03T13:00:00Z"),
        NewActivity {
            kind: ActivityKind::Task,
            subject: "Wes's task".into(),
            owner_id: None,
            deal_id: Some(wes_deal.id),
            lead_id: None,
            person_id: None,
            organization_id: None,
            due_at: None,
            duration_minutes: None,
            note: None,
            done: false,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    World {
        admin,
        rita,
        rita_deal: deal.id.to_string(),
        wes_deal: wes_deal.id.to_string(),
        rita_lead: rita_lead.id.to_string(),
        wes_lead: wes_lead.id.to_string(),
    }
}

// ---- reading exports back ----

async fn bytes(store: &Store, actor: Actor, kind: Kind, format: Format) -> Vec<u8> {
    let mut out = vec![];
    let ctx = Ctx::now(actor);
    let n = export::export(store, &ctx, kind, format, &mut out, &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("export {kind} as {format}: {e}"));
    // The same export read one record per page is the same document.
    let mut paged = ExportStream::open(store, ctx, kind, format)
        .await
        .unwrap()
        .with_page_size(1);
    let total = paged.count().await.unwrap();
    assert_eq!(total, n, "{kind}: count and records written");
    let mut again = vec![];
    while let Some(chunk) = paged.next_chunk().await.unwrap() {
        again.extend(chunk);
    }
    assert_eq!(paged.rows(), n);
    if format != Format::Xlsx {
        // (An XLSX file carries its creation time, so only its cells are compared.)
        assert_eq!(
            again, out,
            "{kind} as {format}: paging changed the document"
        );
    } else {
        assert_eq!(xlsx_rows(&again, kind), xlsx_rows(&out, kind));
    }
    out
}

type Row = BTreeMap<String, String>;

/// CSV rows as maps from column to text, after checking the header.
fn csv_rows(data: &[u8], kind: Kind) -> Vec<Row> {
    let mut reader = csv::Reader::from_reader(data);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, columns(kind), "{kind} CSV header");
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(r.len(), header.len());
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

fn json_rows(data: &[u8], kind: Kind) -> Vec<serde_json::Map<String, Value>> {
    let value: Value = serde_json::from_slice(data).expect("valid JSON");
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|o| {
            let o = o.as_object().expect("objects").clone();
            let keys: Vec<&str> = o.keys().map(String::as_str).collect();
            let mut expected = columns(kind).to_vec();
            expected.sort();
            let mut keys_sorted = keys.clone();
            keys_sorted.sort();
            assert_eq!(keys_sorted, expected, "{kind} JSON keys");
            o
        })
        .collect()
}

/// XLSX rows (sheet named after the kind) as maps from column to cell, after the header.
fn xlsx_rows(data: &[u8], kind: Kind) -> Vec<BTreeMap<String, Data>> {
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(data.to_vec())).expect("an XLSX");
    assert_eq!(book.sheet_names(), [kind.as_str()]);
    let range = book.worksheet_range(kind.as_str()).unwrap();
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .expect("a header row")
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header, columns(kind), "{kind} XLSX header");
    rows.map(|r| {
        header
            .iter()
            .cloned()
            .zip(r.iter().cloned().chain(std::iter::repeat(Data::Empty)))
            .collect()
    })
    .collect()
}

fn find<'a>(rows: &'a [Row], column: &str, value: &str) -> &'a Row {
    rows.iter()
        .find(|r| r[column] == value)
        .unwrap_or_else(|| panic!("no row with {column} = {value}"))
}

fn column(rows: &[Row], name: &str) -> Vec<String> {
    rows.iter().map(|r| r[name].clone()).collect()
}

// ---- the story ----

async fn story(store: &Store) {
    let w = history(store).await;
    let system = Actor::SYSTEM;

    deals(store, &w, system).await;
    leads_people_organizations(store, &w).await;
    activities_and_events(store, &w, system).await;
    a_rep_sees_only_their_own(store, &w).await;

    // An admin's export is the system's.
    for kind in Kind::ALL {
        assert_eq!(
            csv_rows(&bytes(store, w.admin, kind, Format::Csv).await, kind),
            csv_rows(&bytes(store, system, kind, Format::Csv).await, kind),
            "{kind}"
        );
    }
}

async fn deals(store: &Store, w: &World, actor: Actor) {
    let rows = csv_rows(
        &bytes(store, actor, Kind::Deals, Format::Csv).await,
        Kind::Deals,
    );
    assert_eq!(
        column(&rows, "title"),
        ["Acme rollout", "Wes, \"the\" deal", "Tokyo"],
        "in id (creation) order"
    );
    let acme = &rows[0];
    let expected: Row = [
        ("id", w.rita_deal.as_str()),
        ("title", "Acme rollout"),
        ("pipeline", "Sales"),
        ("stage", "Proposal"),
        ("status", "won"),
        ("value", "5000.00"),
        ("currency", "EUR"),
        ("owner_email", "rita@example.com"),
        ("owner_name", "Rita Rep"),
        ("organization", "Acme GmbH"),
        ("person", "Paula Buyer"),
        ("person_email", "paula@acme.example"),
        ("expected_close_date", "2024-04-30"),
        ("source", "Web"),
        ("campaign", "Spring"),
        ("lost_reason", ""),
        ("created_at", "2024-03-01T10:22:33.250Z"),
        ("cycle_started_at", "2024-03-01T10:22:33.250Z"),
        ("closed_at", "2024-03-20T12:00:00.000Z"),
        (
            "stage_history",
            r#"[{"stage":"Lead in","at":"2024-03-01T10:22:33.250Z"},{"stage":"Qualified","at":"2024-03-05T09:00:00.125Z"},{"stage":"Proposal","at":"2024-03-10T15:30:00.000Z"}]"#,
        ),
        ("custom", r#"{"industry":"Retail","seats":40}"#),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(acme, &expected);

    let wes = find(&rows, "id", &w.wes_deal);
    assert_eq!(wes["value"], "1234.56");
    assert_eq!(wes["status"], "open");
    assert_eq!(wes["stage"], "Lead in");
    assert_eq!(wes["closed_at"], "");
    assert_eq!(wes["organization"], "");
    assert_eq!(wes["custom"], "{}");
    assert_eq!(
        wes["stage_history"],
        r#"[{"stage":"Lead in","at":"2024-03-02T08:00:00.000Z"}]"#
    );
    let tokyo = find(&rows, "title", "Tokyo");
    assert_eq!(
        (tokyo["value"].as_str(), tokyo["currency"].as_str()),
        ("5000", "JPY")
    );

    // JSON: the same keys, typed values.
    let text = bytes(store, actor, Kind::Deals, Format::Json).await;
    let raw = String::from_utf8(text.clone()).unwrap();
    assert!(
        raw.contains(r#""value":5000.00,"#),
        "money keeps its decimals: {raw}"
    );
    assert!(raw.contains(r#""value":5000,"currency":"JPY""#), "{raw}");
    let objects = json_rows(&text, Kind::Deals);
    assert_eq!(objects.len(), 3);
    let o = &objects[0];
    assert_eq!(o["id"], json!(w.rita_deal));
    assert_eq!(o["value"], json!(5000.0));
    assert_eq!(o["custom"], json!({ "industry": "Retail", "seats": 40 }));
    assert_eq!(
        o["stage_history"],
        json!([
            { "stage": "Lead in", "at": "2024-03-01T10:22:33.250Z" },
            { "stage": "Qualified", "at": "2024-03-05T09:00:00.125Z" },
            { "stage": "Proposal", "at": "2024-03-10T15:30:00.000Z" },
        ])
    );
    assert_eq!(o["lost_reason"], Value::Null);
    assert_eq!(o["closed_at"], json!("2024-03-20T12:00:00.000Z"));
    assert_eq!(objects[1]["value"], json!(1234.56));
    assert_eq!(objects[1]["closed_at"], Value::Null);
    assert_eq!(objects[1]["custom"], json!({}));
    // Every JSON value, as text, is the CSV cell.
    for (object, row) in objects.iter().zip(&rows) {
        for (key, value) in object {
            match value {
                Value::Null => assert_eq!(row[key], "", "{key}"),
                Value::String(s) => assert_eq!(s, &row[key], "{key}"),
                // The exact text is checked above.
                Value::Number(n) => assert_eq!(n.as_f64(), row[key].parse().ok(), "{key}"),
                other => assert_eq!(
                    other,
                    &serde_json::from_str::<Value>(&row[key]).unwrap(),
                    "{key}"
                ),
            }
        }
    }

    // XLSX: numbers as numbers (shown with the currency's decimals), text as text, nulls
    // as empty cells.
    let cells = xlsx_rows(
        &bytes(store, actor, Kind::Deals, Format::Xlsx).await,
        Kind::Deals,
    );
    assert_eq!(cells.len(), 3);
    let x = &cells[0];
    assert_eq!(x["id"], Data::String(w.rita_deal.clone()));
    assert_eq!(x["value"], Data::Float(5000.0));
    assert_eq!(x["currency"], Data::String("EUR".into()));
    assert_eq!(
        x["created_at"],
        Data::String("2024-03-01T10:22:33.250Z".into())
    );
    assert_eq!(x["expected_close_date"], Data::String("2024-04-30".into()));
    assert_eq!(x["lost_reason"], Data::Empty);
    assert_eq!(x["custom"], Data::String(expected["custom"].clone()));
    assert_eq!(
        x["stage_history"],
        Data::String(expected["stage_history"].clone())
    );
    assert_eq!(cells[1]["value"], Data::Float(1234.56));
    assert_eq!(cells[1]["title"], Data::String("Wes, \"the\" deal".into()));
    assert_eq!(cells[2]["value"], Data::Float(5000.0));
    // Read back through the usual shortest printing, a cell gives the CSV text's amount.
    assert_eq!(cells[1]["value"].to_string(), "1234.56");
    for (row, xrow) in rows.iter().zip(&cells) {
        for (key, cell) in xrow {
            if key != "value" {
                assert_eq!(cell.to_string(), row[key], "{key}");
            }
        }
    }
}

async fn leads_people_organizations(store: &Store, w: &World) {
    let system = Actor::SYSTEM;
    let leads = csv_rows(
        &bytes(store, system, Kind::Leads, Format::Csv).await,
        Kind::Leads,
    );
    assert_eq!(leads.len(), 2);
    let l = find(&leads, "id", &w.rita_lead);
    let expected: Row = [
        ("id", w.rita_lead.as_str()),
        ("title", "Inbound Globex"),
        ("status", "open"),
        ("owner_email", "rita@example.com"),
        ("owner_name", "Rita Rep"),
        ("organization", "Acme GmbH"),
        ("person", "Paula Buyer"),
        ("person_email", "paula@acme.example"),
        ("source", "Ads"),
        ("campaign", "Winter"),
        ("value", "999.00"),
        ("currency", "EUR"),
        ("disqualify_reason", ""),
        ("deal_id", ""),
        ("created_at", "2024-02-28T16:45:00.500Z"),
        ("decided_at", ""),
        ("custom", r#"{"score":7}"#),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(l, &expected);
    let cold = find(&leads, "id", &w.wes_lead);
    assert_eq!(cold["status"], "disqualified");
    assert_eq!(cold["disqualify_reason"], "No budget");
    assert_eq!(cold["decided_at"], "2024-03-01T08:00:00.000Z");
    assert_eq!(
        (cold["value"].as_str(), cold["currency"].as_str()),
        ("", "")
    );

    let json = json_rows(
        &bytes(store, system, Kind::Leads, Format::Json).await,
        Kind::Leads,
    );
    let jl = json.iter().find(|o| o["id"] == json!(w.rita_lead)).unwrap();
    assert_eq!(jl["value"], json!(999.0));
    assert_eq!(jl["custom"], json!({ "score": 7 }));
    let jc = json.iter().find(|o| o["id"] == json!(w.wes_lead)).unwrap();
    assert_eq!(jc["value"], Value::Null);
    let x = xlsx_rows(
        &bytes(store, system, Kind::Leads, Format::Xlsx).await,
        Kind::Leads,
    );
    assert_eq!(x.len(), 2);
    let xl = x
        .iter()
        .find(|r| r["id"] == Data::String(w.rita_lead.clone()))
        .unwrap();
    assert_eq!(xl["value"], Data::Float(999.0));
    assert_eq!(xl["decided_at"], Data::Empty);

    let people = csv_rows(
        &bytes(store, system, Kind::People, Format::Csv).await,
        Kind::People,
    );
    assert_eq!(people.len(), 1);
    assert_eq!(people[0]["name"], "Paula Buyer");
    assert_eq!(people[0]["email"], "paula@acme.example");
    assert_eq!(people[0]["phone"], "+49 30 1234");
    assert_eq!(people[0]["organization"], "Acme GmbH");
    assert_eq!(people[0]["owner_email"], "");
    assert_eq!(people[0]["created_at"], "2024-02-01T08:00:00.000Z");
    let pj = json_rows(
        &bytes(store, system, Kind::People, Format::Json).await,
        Kind::People,
    );
    assert_eq!(pj[0]["owner_email"], Value::Null);
    let px = xlsx_rows(
        &bytes(store, system, Kind::People, Format::Xlsx).await,
        Kind::People,
    );
    assert_eq!(px[0]["phone"], Data::String("+49 30 1234".into()));

    let orgs = csv_rows(
        &bytes(store, system, Kind::Organizations, Format::Csv).await,
        Kind::Organizations,
    );
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0]["name"], "Acme GmbH");
    assert_eq!(orgs[0]["domain"], "acme.example");
    assert_eq!(orgs[0]["owner_email"], "rita@example.com");
    let oj = json_rows(
        &bytes(store, system, Kind::Organizations, Format::Json).await,
        Kind::Organizations,
    );
    assert_eq!(oj[0]["domain"], json!("acme.example"));
    let ox = xlsx_rows(
        &bytes(store, system, Kind::Organizations, Format::Xlsx).await,
        Kind::Organizations,
    );
    assert_eq!(ox[0]["name"], Data::String("Acme GmbH".into()));
}

async fn activities_and_events(store: &Store, w: &World, actor: Actor) {
    let acts = csv_rows(
        &bytes(store, actor, Kind::Activities, Format::Csv).await,
        Kind::Activities,
    );
    assert_eq!(column(&acts, "subject"), ["Intro call", "Wes's task"]);
    let call = &acts[0];
    assert_eq!(call["kind"], "call");
    assert_eq!(call["owner_email"], "rita@example.com");
    assert_eq!(call["deal_id"], w.rita_deal);
    assert_eq!(call["deal_title"], "Acme rollout");
    assert_eq!(call["lead_id"], "");
    assert_eq!(call["person"], "Paula Buyer");
    assert_eq!(call["organization"], "Acme GmbH");
    assert_eq!(call["due_at"], "2024-03-04T09:00:00.000Z");
    assert_eq!(call["duration_minutes"], "30");
    assert_eq!(call["note"], "Bring slides, and the price list");
    assert_eq!(call["done"], "true");
    assert_eq!(call["done_at"], "2024-03-04T09:45:00.000Z");
    assert_eq!(call["created_at"], "2024-03-03T12:00:00.000Z");
    assert_eq!(acts[1]["done"], "false");
    assert_eq!(acts[1]["duration_minutes"], "");
    let aj = json_rows(
        &bytes(store, actor, Kind::Activities, Format::Json).await,
        Kind::Activities,
    );
    assert_eq!(aj[0]["duration_minutes"], json!(30));
    assert_eq!(aj[0]["done"], json!(true));
    assert_eq!(aj[1]["due_at"], Value::Null);
    let ax = xlsx_rows(
        &bytes(store, actor, Kind::Activities, Format::Xlsx).await,
        Kind::Activities,
    );
    assert_eq!(ax[0]["duration_minutes"], Data::Float(30.0));
    assert_eq!(ax[0]["done"], Data::Bool(true));

    let events = csv_rows(
        &bytes(store, actor, Kind::Events, Format::Csv).await,
        Kind::Events,
    );
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|p| p[0] < p[1]), "seq order: {seqs:?}");
    let of_deal: Vec<&Row> = events
        .iter()
        .filter(|e| e["entity_id"] == w.rita_deal)
        .collect();
    assert_eq!(
        of_deal
            .iter()
            .map(|e| (e["kind"].as_str(), e["at"].as_str()))
            .collect::<Vec<_>>(),
        [
            ("deal.created", "2024-03-01T10:22:33.250Z"),
            ("deal.stage_changed", "2024-03-05T09:00:00.125Z"),
            ("deal.stage_changed", "2024-03-10T15:30:00.000Z"),
            ("deal.won", "2024-03-20T12:00:00.000Z"),
        ]
    );
    for e in &of_deal {
        assert_eq!(e["entity"], "deal");
        assert_eq!(e["actor_email"], "rita@example.com");
    }
    let moved: Value = serde_json::from_str(&of_deal[1]["data"]).unwrap();
    assert_eq!(moved["to"]["stage"], "Qualified");
    // The system's own changes (the users) have no actor.
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "user.created" && e["actor_email"].is_empty())
    );
    let ej = json_rows(
        &bytes(store, actor, Kind::Events, Format::Json).await,
        Kind::Events,
    );
    assert_eq!(ej.len(), events.len());
    let first_move = ej
        .iter()
        .find(|e| e["kind"] == "deal.stage_changed")
        .unwrap();
    assert_eq!(first_move["data"]["to"]["stage"], "Qualified");
    assert!(first_move["seq"].is_i64());
    let ex = xlsx_rows(
        &bytes(store, actor, Kind::Events, Format::Xlsx).await,
        Kind::Events,
    );
    assert_eq!(ex.len(), events.len());
    assert_eq!(ex[0]["seq"], Data::Float(seqs[0] as f64));
}

async fn a_rep_sees_only_their_own(store: &Store, w: &World) {
    let deals = csv_rows(
        &bytes(store, w.rita, Kind::Deals, Format::Csv).await,
        Kind::Deals,
    );
    assert_eq!(column(&deals, "id"), std::slice::from_ref(&w.rita_deal));
    let json = json_rows(
        &bytes(store, w.rita, Kind::Deals, Format::Json).await,
        Kind::Deals,
    );
    assert_eq!(json.len(), 1);
    let xlsx = xlsx_rows(
        &bytes(store, w.rita, Kind::Deals, Format::Xlsx).await,
        Kind::Deals,
    );
    assert_eq!(xlsx.len(), 1);
    assert_eq!(xlsx[0]["id"], Data::String(w.rita_deal.clone()));

    let leads = csv_rows(
        &bytes(store, w.rita, Kind::Leads, Format::Csv).await,
        Kind::Leads,
    );
    assert_eq!(column(&leads, "id"), std::slice::from_ref(&w.rita_lead));
    let acts = csv_rows(
        &bytes(store, w.rita, Kind::Activities, Format::Csv).await,
        Kind::Activities,
    );
    assert_eq!(column(&acts, "subject"), ["Intro call"]);
    // People and organizations are everyone's.
    for kind in [Kind::People, Kind::Organizations] {
        assert_eq!(
            csv_rows(&bytes(store, w.rita, kind, Format::Csv).await, kind).len(),
            1
        );
    }
    // Events: only those of her deal, lead and activity; none of Wes's, no settings.
    let events = csv_rows(
        &bytes(store, w.rita, Kind::Events, Format::Csv).await,
        Kind::Events,
    );
    let entities: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e["entity"].as_str()).collect();
    assert_eq!(
        entities,
        ["activity", "deal", "lead"].into_iter().collect(),
        "{events:?}"
    );
    assert!(events.iter().all(|e| e["entity_id"] != w.wes_deal));
    assert!(events.iter().all(|e| e["entity_id"] != w.wes_lead));
    assert!(events.iter().any(|e| e["entity_id"] == w.rita_deal));
    assert!(events.iter().any(|e| e["entity_id"] == w.rita_lead));
}
