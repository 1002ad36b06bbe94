//! The application on a fresh real database, and helpers to call it through the router.
//!
//! Every story runs twice: on a fresh SQLite file and on a fresh PostgreSQL schema on the
//! server named by `THROUGHLINE_TEST_POSTGRES` (default: the local server, trust auth). The
//! PostgreSQL leg fails when no server answers; set `THROUGHLINE_SKIP_POSTGRES=1` to skip it
//! on purpose.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, header};
use http_body_util::BodyExt;
use jiff::Timestamp;
use serde_json::Value;
use throughline_core::{Actor, Role, TeamId, UserId};
use throughline_server::{AppState, ServerConfig, router};
use throughline_store::users::{self, NewUser};
use throughline_store::{Ctx, Store};
use tower::ServiceExt;

pub const API: &str = "/api/v1";
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The database on that server holding one schema per running story.
const TEST_DATABASE: &str = "throughline_api_tests";

/// Run each named story (an `async fn(&App)`) as two tests, `<story>::sqlite` and
/// `<story>::postgres`.
macro_rules! on_both_backends {
    ($($story:ident),+ $(,)?) => {$(
        mod $story {
            #[tokio::test]
            async fn sqlite() {
                let app = $crate::support::App::sqlite().await;
                super::$story(&app).await;
                app.finish().await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(app) = $crate::support::App::postgres().await {
                    super::$story(&app).await;
                    app.finish().await;
                }
            }
        }
    )+};
}
pub(crate) use on_both_backends;

/// The application over one fresh database.
pub struct App {
    router: Router,
    pub store: Store,
    /// The PostgreSQL database URL and the schema to drop at the end.
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One connection for setting up and tearing down, failing fast when no server answers.
async fn connect(url: &str) -> Result<sqlx::PgPool, sqlx::Error> {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(url)
        .await
}
static LEFTOVERS_DROPPED: AtomicBool = AtomicBool::new(false);

/// Drop the schemas of test processes that are no longer running (a failed test keeps its
/// schema to look at until the next run).
async fn drop_leftovers(admin: &sqlx::PgPool) {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'tl\\_api\\_%'")
            .fetch_all(admin)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE"
            )))
            .execute(admin)
            .await;
        }
    }
}

impl App {
    fn over(store: Store) -> Self {
        let router = router(AppState::new(store.clone(), ServerConfig::default()));
        App {
            router,
            store,
            postgres: None,
            _dir: None,
        }
    }

    /// The server started again over the same database: nothing of the last one's memory.
    #[allow(dead_code)] // Not every test binary that shares this file restarts.
    pub fn restart(&mut self) {
        self.router = router(AppState::new(self.store.clone(), ServerConfig::default()));
    }

    pub async fn sqlite() -> App {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("api.db").display());
        let store = Store::open(&url).await.expect("open sqlite");
        let mut app = App::over(store);
        app._dir = Some(dir);
        app
    }

    /// A fresh PostgreSQL schema (in the database `throughline_api_tests`, created when
    /// missing), or `None` only when `THROUGHLINE_SKIP_POSTGRES=1`. A schema per story
    /// isolates like a database per story and is made in milliseconds rather than a second.
    pub async fn postgres() -> Option<App> {
        if std::env::var("THROUGHLINE_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
            eprintln!("THROUGHLINE_SKIP_POSTGRES=1: the PostgreSQL leg is skipped");
            return None;
        }
        let server_url =
            std::env::var("THROUGHLINE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into());
        let base = server_url
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or_else(|| server_url.clone());
        let db_url = format!("{base}/{TEST_DATABASE}");
        let server = connect(&server_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {server_url} is needed for this test ({e}); \
                 set THROUGHLINE_SKIP_POSTGRES=1 to skip the PostgreSQL leg"
            )
        });
        let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(TEST_DATABASE)
            .fetch_optional(&server)
            .await
            .expect("look for the test database");
        if exists.is_none() {
            // Two tests may race to create it: the loser's error is harmless.
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {TEST_DATABASE}"
            )))
            .execute(&server)
            .await;
        }
        server.close().await;
        let admin = connect(&db_url)
            .await
            .expect("connect to the test database");
        if !LEFTOVERS_DROPPED.swap(true, Ordering::SeqCst) {
            drop_leftovers(&admin).await;
        }
        let schema = format!(
            "tl_api_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            Timestamp::now().as_millisecond()
        );
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .expect("create test schema");
        admin.close().await;
        let store = Store::open(&format!("{db_url}?options=-c%20search_path%3D{schema}"))
            .await
            .expect("open postgres");
        let mut app = App::over(store);
        app.postgres = Some((db_url, schema));
        Some(app)
    }

    /// Close the pool and drop the PostgreSQL schema (a failed test leaves it behind, for
    /// the next run to drop).
    pub async fn finish(self) {
        self.store.close().await;
        if let Some((db_url, schema)) = &self.postgres
            && let Ok(admin) = connect(db_url).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE"
            )))
            .execute(&admin)
            .await;
            admin.close().await;
        }
    }

    /// A user of `role` (optionally in `team`) with an API token.
    pub async fn user(&self, name: &str, role: Role, team: Option<TeamId>) -> TestUser {
        let mut tx = self.store.write().await.unwrap();
        let ctx = Ctx::system_now();
        let user = users::create(
            &mut tx,
            &ctx,
            NewUser {
                email: format!("{}@example.com", name.to_lowercase()),
                name: name.into(),
                role,
                team_id: team,
                password: None,
            },
        )
        .await
        .unwrap();
        let (_, token) = users::create_token(&mut tx, &ctx, user.id, "tests")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        TestUser {
            id: user.id,
            role,
            token,
        }
    }

    /// A team led by `manager`.
    pub async fn team(&self, name: &str, manager: Option<UserId>) -> TeamId {
        let mut tx = self.store.write().await.unwrap();
        let team = users::create_team(&mut tx, &Ctx::system_now(), name, manager)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        team.id
    }

    pub async fn join_team(&self, user: &TestUser, team: TeamId) {
        let mut tx = self.store.write().await.unwrap();
        users::set_team(&mut tx, &Ctx::system_now(), user.id, Some(team))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// Send a request as it is.
    pub async fn call(&self, request: Request<Body>) -> Res {
        let method = request.method().clone();
        let uri = request.uri().clone();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let raw = response.into_body().collect().await.unwrap().to_bytes();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw).unwrap_or(Value::Null)
        };
        Res {
            what: format!("{method} {uri}"),
            status,
            headers,
            body,
            raw,
        }
    }

    /// A request with an optional token and an optional body of the given content type.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Res {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some((content_type, bytes)) => {
                builder = builder
                    .header(header::CONTENT_TYPE, content_type)
                    .header(header::CONTENT_LENGTH, bytes.len());
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        self.call(builder.body(body).unwrap()).await
    }

    pub async fn get(&self, who: &TestUser, path: &str) -> Res {
        self.send(Method::GET, &api(path), Some(&who.token), None)
            .await
    }

    pub async fn post(&self, who: &TestUser, path: &str, body: Value) -> Res {
        self.json(Method::POST, who, path, body).await
    }

    pub async fn patch(&self, who: &TestUser, path: &str, body: Value) -> Res {
        self.json(Method::PATCH, who, path, body).await
    }

    pub async fn put(&self, who: &TestUser, path: &str, body: Value) -> Res {
        self.json(Method::PUT, who, path, body).await
    }

    /// A POST without any body or content type (`/won`, `/reopen`, `/archive`).
    pub async fn post_empty(&self, who: &TestUser, path: &str) -> Res {
        self.send(Method::POST, &api(path), Some(&who.token), None)
            .await
    }

    /// A body sent as JSON text exactly as given (malformed on purpose).
    pub async fn raw(&self, method: Method, who: &TestUser, path: &str, text: &str) -> Res {
        self.send(
            method,
            &api(path),
            Some(&who.token),
            Some(("application/json", text.as_bytes().to_vec())),
        )
        .await
    }

    async fn json(&self, method: Method, who: &TestUser, path: &str, body: Value) -> Res {
        self.send(
            method,
            &api(path),
            Some(&who.token),
            Some(("application/json", serde_json::to_vec(&body).unwrap())),
        )
        .await
    }
}

/// `/deals` → `/api/v1/deals`.
pub fn api(path: &str) -> String {
    format!("{API}{path}")
}

pub struct TestUser {
    pub id: UserId,
    pub role: Role,
    pub token: String,
}

impl TestUser {
    pub fn actor(&self) -> Actor {
        Actor::user(self.id, self.role)
    }
}

/// A response, its body read and parsed as JSON where it is JSON.
#[derive(Debug)]
pub struct Res {
    pub what: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Bytes,
}

impl Res {
    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Assert a success with a JSON body and return it.
    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(
            self.status,
            status,
            "{}: expected {status}, got {} with {}",
            self.what,
            self.status,
            String::from_utf8_lossy(&self.raw)
        );
        assert!(
            self.content_type().starts_with("application/json"),
            "{}: content type {:?}",
            self.what,
            self.content_type()
        );
        assert!(!self.body.is_null(), "{}: no JSON body", self.what);
        &self.body
    }

    /// Assert an RFC 9457 problem document of this status and type, with a title and a
    /// detail, and return it.
    #[track_caller]
    pub fn problem(&self, status: u16, kind: &str) -> &Value {
        assert_eq!(
            self.status,
            status,
            "{}: expected a {status} problem, got {} with {}",
            self.what,
            self.status,
            String::from_utf8_lossy(&self.raw)
        );
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}: a problem must be application/problem+json",
            self.what
        );
        let b = &self.body;
        assert_eq!(b["status"], status, "{}: status member of {b}", self.what);
        assert_eq!(b["type"], kind, "{}: type member of {b}", self.what);
        assert!(
            b["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{}: title of {b}",
            self.what
        );
        assert!(
            b["detail"].as_str().is_some_and(|t| !t.is_empty()),
            "{}: detail of {b}",
            self.what
        );
        b
    }

    /// A problem naming `field` first, with an entry for it in `errors`.
    #[track_caller]
    pub fn problem_field(&self, status: u16, kind: &str, field: &str) -> &Value {
        let b = self.problem(status, kind);
        assert_eq!(b["field"], field, "{}: field member of {b}", self.what);
        assert!(
            error_fields(b).contains(&field.to_string()),
            "{}: `errors` of {b} should name {field}",
            self.what
        );
        b
    }

    /// A 422 validation problem naming `field`, whose message for it contains `words`.
    #[track_caller]
    pub fn invalid(&self, field: &str, words: &str) -> &Value {
        let b = self.problem_field(422, "/problems/validation", field);
        let message = error_message(b, field);
        assert!(
            message.contains(words),
            "{}: message for {field} is {message:?}, expected it to contain {words:?}",
            self.what
        );
        assert!(
            b["detail"].as_str().unwrap().contains(field),
            "{}: detail should name {field}: {b}",
            self.what
        );
        b
    }

    /// The 404 problem.
    #[track_caller]
    pub fn not_found(&self) -> &Value {
        self.problem(404, "/problems/not-found")
    }
}

/// The fields named in a problem's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The message a problem gives for `field`.
pub fn error_message(problem: &Value, field: &str) -> String {
    problem["errors"]
        .as_array()
        .and_then(|errors| errors.iter().find(|e| e["field"] == field))
        .and_then(|e| e["message"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The text of a JSON string member.
#[track_caller]
pub fn s(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
        .to_string()
}

/// An instant member. (Compare instants, never their text: the fraction digits vary.)
#[track_caller]
pub fn ts(value: &Value) -> Timestamp {
    s(value)
        .parse()
        .unwrap_or_else(|e| panic!("expected an instant, got {value}: {e}"))
}

/// The ids of the items of a page or list.
pub fn ids(list: &Value) -> Vec<String> {
    let items = list.get("items").unwrap_or(list);
    items
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {list}"))
        .iter()
        .map(|i| s(&i["id"]))
        .collect()
}

pub fn at(text: &str) -> Timestamp {
    text.parse().expect("test instant")
}

/// A pipeline `name` with stages made by the admin: each stage is `json!` of a `NewStage`.
pub async fn pipeline(app: &App, admin: &TestUser, name: &str, stages: &[Value]) -> Pipeline {
    let p = app
        .post(admin, "/pipelines", serde_json::json!({ "name": name }))
        .await;
    let id = s(&p.ok(201)["id"]);
    let mut made = vec![];
    for stage in stages {
        let r = app
            .post(admin, &format!("/pipelines/{id}/stages"), stage.clone())
            .await;
        made.push(r.ok(201).clone());
    }
    Pipeline { id, stages: made }
}

pub struct Pipeline {
    pub id: String,
    /// The stages as created.
    pub stages: Vec<Value>,
}

impl Pipeline {
    pub fn stage(&self, i: usize) -> String {
        s(&self.stages[i]["id"])
    }

    /// The id of criterion `c` of stage `i`.
    pub fn criterion(&self, i: usize, c: usize) -> String {
        s(&self.stages[i]["criteria"][c]["id"])
    }
}

/// The usual three-stage pipeline: `Lead in` (10%), `Proposal` (50%, requiring a ticked
/// "Budget confirmed" and an expected close date), `Negotiation` (80%, requiring a contact).
pub async fn sales_pipeline(app: &App, admin: &TestUser) -> Pipeline {
    use serde_json::json;
    pipeline(
        app,
        admin,
        "Sales",
        &[
            json!({ "name": "Lead in", "probability": 10 }),
            json!({
                "name": "Proposal",
                "probability": 50,
                "criteria": [
                    { "kind": "checklist", "label": "Budget confirmed" },
                    { "kind": "field", "field": "expected_close_date" },
                ],
            }),
            json!({
                "name": "Negotiation",
                "probability": 80,
                "criteria": [{ "kind": "field", "field": "person_id" }],
            }),
        ],
    )
    .await
}

/// Create a deal through the API and return its JSON.
pub async fn deal(app: &App, who: &TestUser, body: Value) -> Value {
    app.post(who, "/deals", body).await.ok(201).clone()
}
