//! The import page through the HTTP router, as a browser sends it: a multipart form carrying
//! the session's CSRF token, every field sent even when blank, text areas with a setting a
//! line. The page must start the same jobs as `POST /api/v1/imports`, refuse what the API
//! refuses (on the form, changing nothing), and show jobs to whom the API shows them.

#[path = "api/support.rs"]
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::Value;
use throughline_core::Role;
use throughline_store::users::{self, NewUser};
use throughline_store::{Ctx, sessions};

use support::*;

on_both_backends!(
    the_form_starts_a_job_the_api_follows,
    a_form_without_the_session_token_stores_nothing,
    refusals_come_back_on_the_form,
    job_pages_are_seen_by_who_may_see_the_job,
);

const PIPEDRIVE: &str = "Deal - ID,Deal - Title,Deal - Value,Deal - Currency of value,Deal - Pipeline,Deal - Stage,Deal - Status,Deal - Owner,Deal - Deal created,Deal - Won time
101,Acme rollout,5000.00,EUR,Sales Pipeline,Qualified,open,ada@example.com,2024-03-01 10:00,
102,Globex renewal,1200.50,EUR,Sales Pipeline,Proposal Made,won,ada@example.com,2024-02-01 09:00,2024-04-01 12:00
";

const UNRECOGNISED: &str = "Titel;Wert;Phase\nAuftrag Nord;1.234,50;Erstkontakt\n";

/// A signed-in browser: its session cookie and the CSRF token its pages carry.
struct Session {
    cookie: String,
    csrf: String,
}

/// A user who can sign in, signed in: an API token for following jobs, and a session.
async fn signed_in(app: &App, name: &str, role: Role) -> (TestUser, Session) {
    let mut tx = app.store.write().await.unwrap();
    let ctx = Ctx::system_now();
    let new = NewUser {
        email: format!("{}@example.com", name.to_lowercase()),
        name: name.into(),
        role,
        team_id: None,
        password: Some("correct horse battery".into()),
    };
    let user = users::create(&mut tx, &ctx, new).await.unwrap();
    let (_, token) = users::create_token(&mut tx, &ctx, user.id, "tests")
        .await
        .unwrap();
    let session = sessions::create(&mut tx, &ctx, user.id).await.unwrap();
    tx.commit().await.unwrap();
    let who = TestUser {
        id: user.id,
        role,
        token,
    };
    let session = Session {
        cookie: format!("tl_session={}", session.secret),
        csrf: session.csrf_token,
    };
    (who, session)
}

const BOUNDARY: &str = "----browser-form-boundary-x5Yt";

/// The form's parts in the page's order; `None` as a file is the part a browser sends when
/// no file was chosen.
fn form(csrf: Option<&str>, fields: &[(&str, &str)], file: Option<(&str, &str)>) -> Vec<u8> {
    fn text(body: &mut Vec<u8>, name: &str, value: &str) {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    let mut body = Vec::new();
    if let Some(csrf) = csrf {
        text(&mut body, "_csrf", csrf);
    }
    let (before, after): (Vec<_>, Vec<_>) = fields.iter().partition(|(n, _)| *n == "kind");
    for (name, value) in before {
        text(&mut body, name, value);
    }
    let (file_name, content) = file.unwrap_or(("", ""));
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n{content}\r\n"
        )
        .as_bytes(),
    );
    for (name, value) in after {
        text(&mut body, name, value);
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Every field the page has, blank, as a browser sends them; `overrides` set some.
fn fields<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![
        ("kind", "deals"),
        ("partial", "false"),
        ("pipeline", ""),
        ("currency", ""),
        ("map", ""),
        ("status_map", ""),
        ("stages", ""),
        ("null", ""),
        ("mapping", ""),
    ];
    for (name, value) in overrides {
        match all.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => all.push((name, value)),
        }
    }
    all
}

async fn post_form(app: &App, cookie: &str, body: Vec<u8>) -> Res {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/imports")
        .header(header::COOKIE, cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap();
    app.call(request).await
}

async fn get_page(app: &App, cookie: &str, path: &str) -> Res {
    let request = Request::builder()
        .uri(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    app.call(request).await
}

fn html(res: &Res) -> String {
    String::from_utf8_lossy(&res.raw).into_owned()
}

/// The job page a started import leads to.
#[track_caller]
fn job_path(res: &Res) -> String {
    assert_eq!(res.status, 303, "{}: {}", res.what, html(res));
    let location = res.headers[header::LOCATION].to_str().unwrap().to_string();
    assert!(location.starts_with("/imports/"), "{location}");
    location
}

/// Poll the API until the job ends; its JSON.
async fn finished(app: &App, who: &TestUser, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = app
            .get(who, &format!("/imports/{id}"))
            .await
            .ok(200)
            .clone();
        if job["status"] == "done" || job["status"] == "failed" {
            return job;
        }
        assert!(Instant::now() < deadline, "the import did not end: {job}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn jobs(app: &App, who: &TestUser) -> Vec<Value> {
    app.get(who, "/imports").await.ok(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn the_form_starts_a_job_the_api_follows(app: &App) {
    let (ada, browser) = signed_in(app, "Ada", Role::Admin).await;
    let body = form(
        Some(&browser.csrf),
        &fields(&[("dry_run", "true")]),
        Some(("pipedrive.csv", PIPEDRIVE)),
    );
    let res = post_form(app, &browser.cookie, body).await;
    let path = job_path(&res);
    let id = path.trim_start_matches("/imports/");
    let job = finished(app, &ada, id).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["file_name"], "pipedrive.csv");
    assert_eq!(job["report"]["dry_run"], true, "the tick is read: {job}");
    assert_eq!(job["report"]["created"], 2, "{job}");
    assert_eq!(job["report"]["committed"], false);

    let page = html(&get_page(app, &browser.cookie, &path).await);
    assert!(
        page.contains("Dry run: every row would be accepted"),
        "{page}"
    );
    assert!(page.contains("pipedrive.csv"));
    let list = html(&get_page(app, &browser.cookie, "/imports").await);
    assert!(list.contains(&format!("href=\"/imports/{id}\"")), "{list}");

    // Text areas hold a setting a line, as a browser sends them (CRLF); a comma-separated
    // list of null texts; blank fields are settings not given.
    let body = form(
        Some(&browser.csrf),
        &fields(&[
            ("map", "title=Titel\r\nvalue=Wert\r\n\r\nstage=Phase\r\n"),
            ("pipeline", "Europa"),
            ("currency", "EUR"),
            ("null", "n/a, -"),
        ]),
        Some(("european.csv", UNRECOGNISED)),
    );
    let res = post_form(app, &browser.cookie, body).await;
    let path = job_path(&res);
    let job = finished(app, &ada, path.trim_start_matches("/imports/")).await;
    assert_eq!(job["report"]["committed"], true, "{job}");
    assert_eq!(job["report"]["pipelines_created"][0], "Europa");
    assert_eq!(job["report"]["format"], Value::Null);
    let deals = app.get(&ada, "/deals").await.ok(200).clone();
    assert_eq!(deals["items"][0]["title"], "Auftrag Nord");
    assert_eq!(deals["items"][0]["value"], 123_450);
}

async fn a_form_without_the_session_token_stores_nothing(app: &App) {
    let (ada, browser) = signed_in(app, "Ada", Role::Admin).await;
    for csrf in [None, Some("not-the-token")] {
        let body = form(csrf, &fields(&[]), Some(("pipedrive.csv", PIPEDRIVE)));
        let res = post_form(app, &browser.cookie, body).await;
        assert_eq!(res.status, 403, "{csrf:?}: {}", html(&res));
        assert!(html(&res).contains("This form has expired"));
    }
    assert!(jobs(app, &ada).await.is_empty(), "no job was started");

    // Without a session, the form leads to the sign-in page.
    let body = form(
        Some(&browser.csrf),
        &fields(&[]),
        Some(("p.csv", PIPEDRIVE)),
    );
    let res = post_form(app, "tl_session=unknown", body).await;
    assert_eq!(res.status, 303);
    assert!(
        res.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    assert!(jobs(app, &ada).await.is_empty());
}

async fn refusals_come_back_on_the_form(app: &App) {
    let (ada, browser) = signed_in(app, "Ada", Role::Admin).await;
    let refused = async |fields: &[(&str, &str)], file: Option<(&str, &str)>| {
        let res = post_form(
            app,
            &browser.cookie,
            form(Some(&browser.csrf), fields, file),
        )
        .await;
        assert_eq!(res.status, 422, "{}", html(&res));
        html(&res)
    };

    // No file chosen; what was entered comes back.
    let page = refused(
        &fields(&[("pipeline", "Europa"), ("dry_run", "true")]),
        None,
    )
    .await;
    assert!(
        page.contains("Choose the CSV or XLSX file to import."),
        "{page}"
    );
    assert!(page.contains("value=\"Europa\""), "{page}");
    assert!(
        page.contains("name=\"dry_run\" value=\"true\" checked"),
        "{page}"
    );
    assert!(page.contains("Nothing was changed"));

    let page = refused(&fields(&[]), Some(("empty.csv", ""))).await;
    assert!(page.contains("The chosen file is empty."), "{page}");

    let page = refused(
        &fields(&[("kind", "invoices")]),
        Some(("deals.csv", PIPEDRIVE)),
    )
    .await;
    assert!(
        page.contains("<code>invoices</code> is not deals, leads"),
        "{page}"
    );

    let page = refused(&fields(&[("currency", "EURO")]), Some(("d.csv", PIPEDRIVE))).await;
    assert!(page.contains("id=\"i-currency\""));
    assert!(
        page.contains("<code>EURO</code> is not an ISO 4217 currency code"),
        "{page}"
    );

    // A file nothing recognises, without a mapping: refused, its columns listed to map, the
    // name of the file given back since a browser cannot keep it.
    let page = refused(&fields(&[]), Some(("european.csv", UNRECOGNISED))).await;
    assert!(page.contains("id=\"map-error\""), "{page}");
    assert!(page.contains("not a recognised export"));
    for column in ["Titel", "Wert", "Phase"] {
        assert!(
            page.contains(&format!("<li class=\"chip\">{column}</li>")),
            "{column}: {page}"
        );
    }
    assert!(page.contains("<strong>european.csv</strong>"));

    // Text a user typed is escaped when it comes back.
    let page = refused(&fields(&[("pipeline", "<script>x</script>")]), None).await;
    assert!(!page.contains("<script>x</script>"));
    assert!(page.contains("&#60;script&#62;x&#60;/script&#62;") || page.contains("&lt;script&gt;"));

    assert!(jobs(app, &ada).await.is_empty(), "no job was started");
    let deals = app.get(&ada, "/deals").await.ok(200).clone();
    assert_eq!(deals["items"], Value::Array(vec![]));
}

async fn job_pages_are_seen_by_who_may_see_the_job(app: &App) {
    let (_, ada_browser) = signed_in(app, "Ada", Role::Admin).await;
    let (rita, rita_browser) = signed_in(app, "Rita", Role::Rep).await;
    let (_, omar_browser) = signed_in(app, "Omar", Role::Rep).await;
    // Rita's file names a pipeline nobody created: a rep may not create one, so her job
    // fails, and its page says why.
    let body = form(
        Some(&rita_browser.csrf),
        &fields(&[]),
        Some(("rita.csv", &PIPEDRIVE.replace("ada@", "rita@"))),
    );
    let path = job_path(&post_form(app, &rita_browser.cookie, body).await);
    let job = finished(app, &rita, path.trim_start_matches("/imports/")).await;
    assert_eq!(job["status"], "failed", "{job}");

    let own = get_page(app, &rita_browser.cookie, &path).await;
    assert_eq!(own.status, 200);
    let own = html(&own);
    assert!(
        own.contains("The import failed: nothing was changed"),
        "{own}"
    );
    assert!(
        own.contains("admin can change pipelines"),
        "the reason: {own}"
    );

    let other = get_page(app, &omar_browser.cookie, &path).await;
    assert_eq!(other.status, 404, "another rep does not see it");
    let list = html(&get_page(app, &omar_browser.cookie, "/imports").await);
    assert!(!list.contains("rita.csv"));

    let admin = get_page(app, &ada_browser.cookie, &path).await;
    assert_eq!(admin.status, 200, "an admin sees every job");
    let list = html(&get_page(app, &ada_browser.cookie, "/imports").await);
    assert!(
        list.contains("rita.csv") && list.contains(">Rita<"),
        "{list}"
    );

    let missing = get_page(app, &ada_browser.cookie, "/imports/no-such-job").await;
    assert_eq!(missing.status, 404);
}
