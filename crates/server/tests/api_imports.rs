//! `POST /api/v1/imports` through the HTTP router, on SQLite and on PostgreSQL: a file
//! uploaded as multipart/form-data, the job polled until it ends, and what it wrote (or did
//! not); refusals as problem documents; who sees which job.

#[path = "api/support.rs"]
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use axum::http::Method;
use serde_json::{Value, json};
use throughline_core::Role;

use support::*;

on_both_backends!(
    imports_a_pipedrive_export,
    a_dry_run_writes_nothing,
    a_bad_row_refuses_the_file_unless_partial,
    refusals_name_the_part,
    jobs_are_seen_by_who_started_them,
);

/// A finished job's report outlives the server process: the same JSON after a restart, in
/// the list and by id, seen by who may see it.
#[tokio::test]
async fn finished_jobs_outlive_a_restart_on_sqlite() {
    let mut app = App::sqlite().await;
    finished_jobs_outlive_a_restart(&mut app).await;
    app.finish().await;
}

#[tokio::test]
async fn finished_jobs_outlive_a_restart_on_postgres() {
    if let Some(mut app) = App::postgres().await {
        finished_jobs_outlive_a_restart(&mut app).await;
        app.finish().await;
    }
}

async fn finished_jobs_outlive_a_restart(app: &mut App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rita = app.user("Rita", Role::Rep, None).await;
    let file = good_file();
    let done = import(
        app,
        &admin,
        &[
            Part::Text("kind", "deals"),
            Part::File("deals.csv", file.as_bytes()),
        ],
    )
    .await;
    assert_eq!(done["status"], "done", "{done}");
    let other = good_file().replace("Sales Pipeline", "Rita's Pipeline");
    let failed = import(
        app,
        &rita,
        &[
            Part::Text("kind", "deals"),
            Part::File("deals.csv", other.as_bytes()),
        ],
    )
    .await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let listed = app.get(&admin, "/imports").await.ok(200).clone();

    app.restart();
    let (done_id, failed_id) = (s(&done["id"]), s(&failed["id"]));
    let again = app
        .get(&admin, &format!("/imports/{done_id}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(again, done, "the same job, report and all");
    assert_eq!(again["report"]["created"], 3);
    assert_eq!(
        app.get(&admin, "/imports").await.ok(200).clone(),
        listed,
        "the same list, newest first"
    );
    assert_eq!(ids(&listed), [failed_id.clone(), done_id.clone()]);
    // Who may see which job holds after the restart too.
    app.get(&rita, &format!("/imports/{done_id}"))
        .await
        .not_found();
    let mine = app.get(&rita, "/imports").await.ok(200).clone();
    assert_eq!(ids(&mine), std::slice::from_ref(&failed_id));
    let hers = app
        .get(&rita, &format!("/imports/{failed_id}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(hers, failed);
}

const PIPEDRIVE_HEADER: &str = "Deal - ID,Deal - Title,Deal - Value,Deal - Currency of value,Deal - Pipeline,Deal - Stage,Deal - Status,Deal - Owner,Deal - Organization,Deal - Deal created,Deal - Won time,Deal - Lost time,Deal - Lost reason";

/// Three deals of a Pipedrive export: one open, one won, one lost; Olga is no user yet.
fn pipedrive(values: [&str; 3]) -> String {
    format!(
        "{PIPEDRIVE_HEADER}\n\
         101,Acme rollout,{},EUR,Sales Pipeline,Qualified,open,rita@example.com,Acme,2024-03-01 10:00,,,\n\
         102,Globex renewal,{},EUR,Sales Pipeline,Proposal Made,won,olga@example.com,Globex,2024-02-01 09:00,2024-04-01 12:00,,\n\
         103,Initech pilot,{},EUR,Sales Pipeline,Qualified,lost,rita@example.com,Initech,2024-01-15 08:00,,2024-03-10 16:00,No budget\n",
        values[0], values[1], values[2]
    )
}

fn good_file() -> String {
    pipedrive(["5000.00", "1200.50", "300.00"])
}

/// A part of a multipart/form-data body.
enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a [u8]),
}

const BOUNDARY: &str = "----throughline-test-boundary-7MA4YWxkTrZu0gW";

fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}")
                        .as_bytes(),
                );
            }
            Part::File(file_name, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
                         Content-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(app: &App, who: Option<&TestUser>, parts: &[Part<'_>]) -> Res {
    app.send(
        Method::POST,
        &api("/imports"),
        who.map(|u| u.token.as_str()),
        Some((
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            multipart(parts),
        )),
    )
    .await
}

/// Upload, check the 202 and its `Location`, and poll until the job ends; the job's JSON.
async fn import(app: &App, who: &TestUser, parts: &[Part<'_>]) -> Value {
    let res = upload(app, Some(who), parts).await;
    let job = res.ok(202).clone();
    let id = s(&job["id"]);
    assert!(
        ["queued", "running"].contains(&job["status"].as_str().unwrap()),
        "{job}"
    );
    assert_eq!(job["report"], Value::Null);
    assert_eq!(job["error"], Value::Null);
    assert_eq!(job["finished_at"], Value::Null);
    assert!(job["created_at"].is_string(), "{job}");
    assert_eq!(
        res.headers["location"].to_str().unwrap(),
        format!("/api/v1/imports/{id}")
    );
    wait(app, who, &id).await
}

async fn wait(app: &App, who: &TestUser, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = app
            .get(who, &format!("/imports/{id}"))
            .await
            .ok(200)
            .clone();
        if job["status"] == "done" || job["status"] == "failed" {
            assert!(job["finished_at"].is_string(), "{job}");
            return job;
        }
        assert!(Instant::now() < deadline, "the import did not end: {job}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The titles and values of the deals `who` sees, sorted by title.
async fn deals(app: &App, who: &TestUser) -> Vec<(String, i64, String)> {
    let list = app.get(who, "/deals").await.ok(200).clone();
    let mut out: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                s(&d["title"]),
                d["value"].as_i64().unwrap(),
                s(&d["status"]),
            )
        })
        .collect();
    out.sort();
    out
}

async fn user_emails(app: &App, who: &TestUser) -> Vec<String> {
    let list = app.get(who, "/users").await.ok(200).clone();
    let items = list.get("items").unwrap_or(&list);
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|u| s(&u["email"]))
        .collect()
}

async fn imports_a_pipedrive_export(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rita = app.user("Rita", Role::Rep, None).await;
    let file = good_file();
    let job = import(
        app,
        &admin,
        &[
            Part::Text("kind", "deals"),
            Part::File("deals.csv", file.as_bytes()),
        ],
    )
    .await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["kind"], "deals");
    assert_eq!(job["error"], Value::Null);
    assert_eq!(job["rows_total"], 3);
    assert_eq!(job["rows_done"], 3);
    let report = &job["report"];
    assert_eq!(report["format"], "pipedrive", "{report}");
    assert_eq!(report["rows"], 3);
    assert_eq!(report["created"], 3, "{report}");
    assert_eq!(report["rejected"], json!([]));
    assert_eq!(
        report["users_created"],
        json!(["olga <olga@example.com>"]),
        "Rita is a user already: {report}"
    );
    assert_eq!(report["pipelines_created"], json!(["Sales Pipeline"]));
    assert_eq!(report["committed"], true);
    assert_eq!(report["dry_run"], false);

    assert_eq!(
        deals(app, &admin).await,
        vec![
            ("Acme rollout".into(), 500_000, "open".into()),
            ("Globex renewal".into(), 120_050, "won".into()),
            ("Initech pilot".into(), 30_000, "lost".into()),
        ]
    );
    // Owners are resolved: Rita sees her own two deals.
    let mine: Vec<String> = deals(app, &rita).await.into_iter().map(|d| d.0).collect();
    assert_eq!(mine, ["Acme rollout", "Initech pilot"]);

    // The same file again: the deals are known by their Pipedrive ids.
    let again = import(
        app,
        &admin,
        &[
            Part::File("deals.csv", file.as_bytes()),
            Part::Text("kind", "deals"),
        ],
    )
    .await;
    assert_eq!(again["status"], "done", "{again}");
    assert_eq!(again["report"]["created"], 0, "{again}");
    assert_eq!(deals(app, &admin).await.len(), 3);

    // An XLSX file (here Throughline's own export) is recognised as a spreadsheet.
    let xlsx = app.get(&admin, "/exports/deals?format=xlsx").await;
    assert_eq!(xlsx.status, 200);
    let job = import(
        app,
        &admin,
        &[
            Part::Text("kind", "deals"),
            Part::Text("dry_run", "true"),
            Part::File("deals.xlsx", &xlsx.raw),
        ],
    )
    .await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["report"]["format"], "throughline", "{job}");
    assert_eq!(job["report"]["rows"], 3, "{job}");

    // The list holds the caller's jobs, newest first.
    let list = app.get(&admin, "/imports").await.ok(200).clone();
    let listed = list["items"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "{list}");
    assert_eq!(listed[0]["id"], job["id"]);
    assert!(listed.iter().all(|j| j["status"] == "done"), "{list}");
}

async fn a_dry_run_writes_nothing(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let file = good_file();
    let job = import(
        app,
        &admin,
        &[
            Part::Text("kind", "deals"),
            Part::Text("dry_run", "true"),
            Part::File("pipedrive.csv", file.as_bytes()),
        ],
    )
    .await;
    assert_eq!(job["status"], "done", "{job}");
    let report = &job["report"];
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["committed"], false);
    assert_eq!(report["created"], 3, "what it would have done: {report}");
    assert_eq!(
        report["users_created"],
        json!(["rita <rita@example.com>", "olga <olga@example.com>"]),
        "{report}"
    );
    assert!(deals(app, &admin).await.is_empty());
    assert!(
        !user_emails(app, &admin)
            .await
            .contains(&"olga@example.com".to_string()),
        "the users it would create are rolled back too"
    );
    let pipelines = app.get(&admin, "/pipelines").await.ok(200).clone();
    assert_eq!(ids(&pipelines).len(), 0, "{pipelines}");
}

async fn a_bad_row_refuses_the_file_unless_partial(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let file = pipedrive(["5000.00", "abc", "300.00"]);
    let parts = [
        Part::Text("kind", "deals"),
        Part::File("deals.csv", file.as_bytes()),
    ];
    let job = import(app, &admin, &parts).await;
    assert_eq!(
        job["status"], "done",
        "a refused file is a finished job: {job}"
    );
    let report = &job["report"];
    assert_eq!(report["committed"], false);
    let rejected = report["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{report}");
    assert_eq!(rejected[0]["line"], 3, "the header is line 1: {report}");
    assert_eq!(rejected[0]["column"], "Deal - Value");
    assert!(
        rejected[0]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{report}"
    );
    assert!(deals(app, &admin).await.is_empty(), "nothing is written");

    let job = import(
        app,
        &admin,
        &[
            Part::Text("kind", "deals"),
            Part::Text("partial", "true"),
            Part::File("deals.csv", file.as_bytes()),
        ],
    )
    .await;
    assert_eq!(job["status"], "done", "{job}");
    let report = &job["report"];
    assert_eq!(report["committed"], true, "{report}");
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(report["rejected"][0]["line"], 3);
    let titles: Vec<String> = deals(app, &admin).await.into_iter().map(|d| d.0).collect();
    assert_eq!(titles, ["Acme rollout", "Initech pilot"]);
}

async fn refusals_name_the_part(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let file = good_file();
    let csv = Part::File("deals.csv", file.as_bytes());

    upload(
        app,
        Some(&admin),
        &[Part::File("deals.csv", file.as_bytes())],
    )
    .await
    .invalid("kind", "required");
    let bad = upload(
        app,
        Some(&admin),
        &[
            Part::Text("kind", "invoices"),
            Part::File("deals.csv", file.as_bytes()),
        ],
    )
    .await;
    let b = bad.invalid("kind", "invoices");
    assert_eq!(
        error_fields(b),
        ["kind"],
        "refused before the file is read, which is not said to be missing: {b}"
    );
    // Every fault at once.
    let all = upload(app, Some(&admin), &[Part::Text("dry_run", "yes")]).await;
    all.invalid("kind", "required");
    let b = &all.body;
    assert_eq!(error_fields(b), ["kind", "dry_run", "file"], "{b}");
    assert!(error_message(b, "dry_run").contains("true or false"), "{b}");
    upload(app, Some(&admin), &[Part::Text("kind", "deals")])
        .await
        .invalid("file", "required");
    upload(
        app,
        Some(&admin),
        &[Part::Text("kind", "deals"), Part::File("empty.csv", b"")],
    )
    .await
    .invalid("file", "empty");
    upload(
        app,
        Some(&admin),
        &[Part::Text("kind", "deals"), Part::Text("map", "title"), csv],
    )
    .await
    .invalid("map", "FIELD=COLUMN");
    upload(
        app,
        Some(&admin),
        &[
            Part::Text("kind", "deals"),
            Part::Text("status_map", "Closed=maybe"),
            Part::File("deals.csv", file.as_bytes()),
        ],
    )
    .await
    .invalid("status_map", "open, won or lost");
    upload(
        app,
        Some(&admin),
        &[
            Part::Text("kind", "deals"),
            Part::Text("currency", "EURO"),
            Part::File("deals.csv", file.as_bytes()),
        ],
    )
    .await
    .invalid("currency", "ISO 4217");
    upload(
        app,
        Some(&admin),
        &[
            Part::Text("kind", "deals"),
            Part::Text("colour", "red"),
            Part::File("deals.csv", file.as_bytes()),
        ],
    )
    .await
    .invalid("colour", "not a part");

    // The header is checked before answering: a column the file lacks is refused at once.
    let res = upload(
        app,
        Some(&admin),
        &[
            Part::Text("kind", "deals"),
            Part::Text("map", "source=Lead source"),
            Part::File("deals.csv", file.as_bytes()),
        ],
    )
    .await;
    let b = res.invalid("map", "Lead source");
    assert!(
        b["detail"].as_str().unwrap().contains("Deal - Title"),
        "the file's columns are listed: {b}"
    );
    // A file no format recognises and nothing maps.
    upload(
        app,
        Some(&admin),
        &[
            Part::Text("kind", "deals"),
            Part::File("plain.csv", b"Name,Amount\nAcme,10\n"),
        ],
    )
    .await
    .invalid("map", "title");
    upload(
        app,
        Some(&admin),
        &[
            Part::Text("kind", "deals"),
            Part::Text("mapping", "[fields]\ntitle = \"Nope\"\n"),
            Part::File("deals.csv", file.as_bytes()),
        ],
    )
    .await
    .invalid("mapping", "Nope");
    upload(
        app,
        Some(&admin),
        &[
            Part::Text("kind", "deals"),
            Part::Text("mapping", "colour = 1"),
            Part::File("deals.csv", file.as_bytes()),
        ],
    )
    .await
    .invalid("mapping", "colour");
    // Explicit mappings that fit are taken.
    let job = import(
        app,
        &admin,
        &[
            Part::Text("kind", "deals"),
            Part::Text("map", "title=Name"),
            Part::Text("map", "value=Amount"),
            Part::Text("pipeline", "Inbound"),
            Part::Text("stages", "New, Talking"),
            Part::Text("currency", "USD"),
            Part::File("plain.csv", b"Name,Amount\nAcme,10\n"),
        ],
    )
    .await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["report"]["created"], 1, "{job}");
    assert_eq!(job["report"]["pipelines_created"], json!(["Inbound"]));
    let list = app.get(&admin, "/deals").await.ok(200).clone();
    assert_eq!(list["items"][0]["value"], 1000);
    assert_eq!(list["items"][0]["currency"], "USD");

    // Uploads are not held to the 2 MiB limit of JSON bodies.
    let big = format!("Name,Notes\nBig one,{}\n", "x".repeat(3 * 1024 * 1024));
    let job = import(
        app,
        &admin,
        &[
            Part::Text("kind", "deals"),
            Part::Text("map", "title=Name"),
            Part::Text("pipeline", "Inbound"),
            Part::Text("dry_run", "true"),
            Part::File("big.csv", big.as_bytes()),
        ],
    )
    .await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["report"]["rows"], 1, "{job}");

    // Not multipart, no token.
    app.send(
        Method::POST,
        &api("/imports"),
        Some(&admin.token),
        Some(("text/csv", file.as_bytes().to_vec())),
    )
    .await
    .problem(400, "/problems/malformed-multipart");
    upload(
        app,
        None,
        &[
            Part::Text("kind", "deals"),
            Part::File("deals.csv", file.as_bytes()),
        ],
    )
    .await
    .problem(401, "/problems/unauthorized");
    app.send(Method::GET, &api("/imports"), None, None)
        .await
        .problem(401, "/problems/unauthorized");
}

async fn jobs_are_seen_by_who_started_them(app: &App) {
    let admin = app.user("Ada", Role::Admin, None).await;
    let rita = app.user("Rita", Role::Rep, None).await;
    let file = good_file();
    let job = import(
        app,
        &admin,
        &[
            Part::Text("kind", "deals"),
            Part::File("deals.csv", file.as_bytes()),
        ],
    )
    .await;
    let id = s(&job["id"]);
    app.get(&rita, &format!("/imports/{id}")).await.not_found();
    app.get(&admin, "/imports/no-such-job").await.not_found();
    let list = app.get(&rita, "/imports").await.ok(200).clone();
    assert_eq!(list["items"], json!([]));

    // A rep's import runs as the rep: creating a pipeline takes an admin, so the job fails
    // with the store's refusal and writes nothing.
    let other = good_file().replace("Sales Pipeline", "Rita's Pipeline");
    let job = import(
        app,
        &rita,
        &[
            Part::Text("kind", "deals"),
            Part::File("deals.csv", other.as_bytes()),
        ],
    )
    .await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["report"], Value::Null);
    assert!(
        job["error"]
            .as_str()
            .is_some_and(|e| e.contains("only an admin can change pipelines")),
        "the store's own words: {job}"
    );
    // The admin sees every job; the rep only theirs.
    let all = app.get(&admin, "/imports").await.ok(200).clone();
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");
    let mine = app.get(&rita, "/imports").await.ok(200).clone();
    assert_eq!(ids(&mine), [s(&job["id"])]);
    app.get(&admin, &format!("/imports/{}", s(&job["id"])))
        .await
        .ok(200);
    assert_eq!(
        deals(app, &admin).await.len(),
        3,
        "the rep's import wrote nothing"
    );
}
