//! `POST /api/v1/imports`: a CSV or XLSX file uploaded as `multipart/form-data`, imported in
//! the background; `GET /api/v1/imports/{id}` follows the job, `GET /api/v1/imports` lists
//! the recent ones.
//!
//! The upload is streamed to a temporary file (never held in memory), its header is checked
//! against the mapping before answering, so a file the mapping does not fit is refused at
//! once with a 422, and the import then runs as the caller: what a rep's import creates,
//! they may own; creating pipelines takes an admin, and the store refuses otherwise (the job
//! fails with its message).
//!
//! Running jobs live in this process's memory ([`ImportJobs`]); a finished job is also
//! written to the database, so that its report outlives a restart. A restart during an import
//! loses the job, never data: an import is one transaction that commits whole or leaves
//! nothing behind. The temporary file is deleted when its job ends.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Json;
use axum::extract::State;
use axum::extract::multipart::{Field, Multipart, MultipartError, MultipartRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tempfile::{NamedTempFile, TempPath};
use throughline_core::{Currency, Role, UserId};
use throughline_store::{Ctx, Store, StoreError, import_jobs};
use throughline_transfer::import::{
    self, ImportError, ImportOptions, ImportReport, Kind, Mapping, Progress, read,
};
use tokio::io::AsyncWriteExt;

use crate::AppState;
use crate::auth::Auth;
use crate::error::{ApiResult, Problem};
use crate::extract::ApiPath;

/// The largest upload accepted (the route's body limit).
pub const UPLOAD_LIMIT: usize = 512 * 1024 * 1024;
/// The largest text part (a mapping file is a few kilobytes).
const TEXT_LIMIT: usize = 1024 * 1024;
/// Finished jobs kept in memory, and listed; older ones are read from the database.
const KEEP_FINISHED: usize = 100;
/// An XLSX sheet is read whole to find its header, so a larger one is checked by the job
/// instead of before answering.
const XLSX_CHECK_LIMIT: u64 = 32 * 1024 * 1024;

/// The import jobs of this process, in memory: the running ones, and the last
/// [`KEEP_FINISHED`] finished ones, which are also in the database (`import_jobs`).
#[derive(Clone, Default)]
pub struct ImportJobs(Arc<Mutex<Jobs>>);

#[derive(Default)]
struct Jobs {
    by_id: HashMap<String, Job>,
    /// Finished jobs, oldest first.
    finished: VecDeque<String>,
}

struct Job {
    id: String,
    started_by: UserId,
    kind: Kind,
    file_name: Option<String>,
    state: JobState,
    progress: Arc<Counter>,
    created_at: Timestamp,
    finished_at: Option<Timestamp>,
}

enum JobState {
    Queued,
    Running,
    Done(Box<ImportReport>),
    Failed(String),
}

impl JobState {
    /// The status, report and error a view shows.
    fn parts(&self) -> (JobStatus, Option<ImportReport>, Option<String>) {
        match self {
            JobState::Queued => (JobStatus::Queued, None, None),
            JobState::Running => (JobStatus::Running, None, None),
            JobState::Done(report) => (JobStatus::Done, Some((**report).clone()), None),
            JobState::Failed(message) => (JobStatus::Failed, None, Some(message.clone())),
        }
    }
}

/// The rows counted and converted so far, updated by the import without taking the lock.
#[derive(Default)]
struct Counter {
    counted: AtomicBool,
    total: AtomicU64,
    done: AtomicU64,
}

impl Progress for Counter {
    fn total(&self, rows: u64) {
        self.total.store(rows, Ordering::Relaxed);
        self.counted.store(true, Ordering::Release);
    }
    fn advance(&self, rows: u64) {
        self.done.fetch_add(rows, Ordering::Relaxed);
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    /// See `report`; `report.committed` says whether anything was written.
    Done,
    /// See `error`.
    Failed,
}

/// A job as the API shows it (and the import page renders it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobView {
    pub id: String,
    pub status: JobStatus,
    pub kind: Kind,
    /// The uploaded file's name, as the client gave it.
    pub file_name: Option<String>,
    pub started_by: UserId,
    /// The number of data rows, once the first pass has counted them.
    pub rows_total: Option<u64>,
    pub rows_done: u64,
    pub report: Option<ImportReport>,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

impl Job {
    fn view(&self) -> JobView {
        let (status, report, error) = self.state.parts();
        let p = &self.progress;
        JobView {
            id: self.id.clone(),
            status,
            kind: self.kind,
            file_name: self.file_name.clone(),
            started_by: self.started_by,
            rows_total: p
                .counted
                .load(Ordering::Acquire)
                .then(|| p.total.load(Ordering::Relaxed)),
            rows_done: p.done.load(Ordering::Relaxed),
            report,
            error,
            created_at: self.created_at,
            finished_at: self.finished_at,
        }
    }

    fn visible_to(&self, auth: &Auth) -> bool {
        visible(auth, self.started_by)
    }
}

fn visible(auth: &Auth, started_by: UserId) -> bool {
    auth.user.role == Role::Admin || started_by == auth.user.id
}

fn stored_view(json: &str) -> Result<JobView, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("a stored import job cannot be read: {e}")))
}

impl ImportJobs {
    fn lock(&self) -> MutexGuard<'_, Jobs> {
        // A panic while holding the lock leaves the map consistent (every change is one
        // insert or field assignment), so a poisoned lock is still usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn add(
        &self,
        started_by: UserId,
        kind: Kind,
        file_name: Option<String>,
        progress: Arc<Counter>,
    ) -> JobView {
        let job = Job {
            id: uuid::Uuid::now_v7().to_string(),
            started_by,
            kind,
            file_name,
            state: JobState::Queued,
            progress,
            created_at: Timestamp::now(),
            finished_at: None,
        };
        let view = job.view();
        self.lock().by_id.insert(job.id.clone(), job);
        view
    }

    fn set_running(&self, id: &str) {
        if let Some(job) = self.lock().by_id.get_mut(id) {
            job.state = JobState::Running;
        }
    }

    /// The job as it will stand once finished with `state` at `at`, to be recorded before
    /// anyone sees it finished.
    fn finished_view(&self, id: &str, state: &JobState, at: Timestamp) -> Option<JobView> {
        let jobs = self.lock();
        let mut view = jobs.by_id.get(id)?.view();
        (view.status, view.report, view.error) = state.parts();
        view.finished_at = Some(at);
        Some(view)
    }

    fn finish(&self, id: &str, state: JobState, at: Timestamp) {
        let mut jobs = self.lock();
        if let Some(job) = jobs.by_id.get_mut(id) {
            job.state = state;
            job.finished_at = Some(at);
            jobs.finished.push_back(id.to_string());
        }
        while jobs.finished.len() > KEEP_FINISHED {
            if let Some(old) = jobs.finished.pop_front() {
                jobs.by_id.remove(&old);
            }
        }
    }

    /// Job `id` if `auth` may see it: from memory, else as the database recorded it.
    pub(crate) async fn get(
        &self,
        store: &Store,
        auth: &Auth,
        id: &str,
    ) -> Result<Option<JobView>, StoreError> {
        let in_memory = self
            .lock()
            .by_id
            .get(id)
            .map(|job| (job.started_by, job.view()));
        if let Some((started_by, view)) = in_memory {
            return Ok(visible(auth, started_by).then_some(view));
        }
        let mut tx = store.read().await?;
        match import_jobs::get(&mut tx, id).await? {
            Some((started_by, json)) if visible(auth, started_by) => Ok(Some(stored_view(&json)?)),
            _ => Ok(None),
        }
    }

    /// The jobs `auth` may see, newest first: those running, and the latest
    /// [`KEEP_FINISHED`] finished ones.
    pub(crate) async fn list(
        &self,
        store: &Store,
        auth: &Auth,
    ) -> Result<Vec<JobView>, StoreError> {
        let mut views: Vec<JobView> = self
            .lock()
            .by_id
            .values()
            .filter(|job| job.visible_to(auth))
            .map(Job::view)
            .collect();
        let mut tx = store.read().await?;
        let whose = (auth.user.role != Role::Admin).then_some(auth.user.id);
        for json in import_jobs::recent(&mut tx, whose, KEEP_FINISHED as i64).await? {
            let view = stored_view(&json)?;
            if !views.iter().any(|v| v.id == view.id) {
                views.push(view);
            }
        }
        views.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        let running = views
            .iter()
            .filter(|v| matches!(v.status, JobStatus::Queued | JobStatus::Running))
            .count();
        views.truncate(running + KEEP_FINISHED);
        Ok(views)
    }
}

/// Write a finished job to the database, so that its report outlives this process. A job
/// that cannot be recorded stays in memory, and the failure is logged.
async fn record(store: &Store, view: &JobView) {
    let result = async {
        let json = serde_json::to_string(view)
            .map_err(|e| StoreError::Corrupt(format!("an import job cannot be written: {e}")))?;
        let mut tx = store.write().await?;
        import_jobs::record(
            &mut tx,
            &import_jobs::FinishedJob {
                id: view.id.clone(),
                started_by: view.started_by,
                created_at: view.created_at,
                finished_at: view.finished_at.unwrap_or(view.created_at),
                view: json,
            },
        )
        .await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = result {
        tracing::error!(job = %view.id, error = %e, "a finished import job was not recorded");
    }
}

/// Who sent an upload: a client of the API, or the web UI's import page, whose form carries
/// the session's CSRF token, sends every field even when left blank, and writes the repeated
/// settings one to a line.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sender<'a> {
    Api,
    Page { csrf: &'a str },
}

/// The form's parts, as sent.
#[derive(Default)]
pub(crate) struct Form {
    file: Option<(NamedTempFile, u64)>,
    /// A `file` part came, even if it was not read (other parts were refused first).
    file_sent: bool,
    /// The uploaded file's name, as the client gave it.
    pub(crate) file_name: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) map: Vec<String>,
    pub(crate) status_map: Vec<String>,
    pub(crate) pipeline: Option<String>,
    pub(crate) stages: Vec<String>,
    pub(crate) currency: Option<String>,
    pub(crate) null: Vec<String>,
    pub(crate) mapping: Option<String>,
    pub(crate) dry_run: Option<String>,
    pub(crate) partial: Option<String>,
    /// The page's `_csrf` part matched the session's token.
    csrf_ok: bool,
}

/// The field errors found so far, answered together as one 422.
#[derive(Default)]
pub(crate) struct Errors(Vec<(String, String)>);

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_string(), message.into()));
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn into_problem(self) -> Problem {
        let detail = self
            .0
            .iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut problem = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/problems/validation",
            "Invalid input",
            detail,
        );
        for (field, message) in self.0 {
            problem = problem.with_field(field, message);
        }
        problem
    }
}

fn invalid(field: &str, message: impl Into<String>) -> Problem {
    let mut errors = Errors::default();
    errors.add(field, message);
    errors.into_problem()
}

fn multipart_problem(err: MultipartError) -> Problem {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "/problems/too-large",
            "Upload too large",
            format!(
                "the upload is larger than {} MiB",
                UPLOAD_LIMIT / (1024 * 1024)
            ),
        );
    }
    Problem::new(
        StatusCode::BAD_REQUEST,
        "/problems/malformed-multipart",
        "Malformed upload",
        format!("the multipart/form-data body cannot be read: {err}"),
    )
}

fn not_multipart(rejection: MultipartRejection) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "/problems/malformed-multipart",
        "Not a multipart upload",
        format!(
            "send the file as multipart/form-data with a `file` part and a `kind` part ({})",
            rejection.body_text()
        ),
    )
}

/// A text part, bounded by [`TEXT_LIMIT`].
async fn text(field: &mut Field<'_>, name: &str) -> Result<Result<String, String>, Problem> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_problem)? {
        if bytes.len() + chunk.len() > TEXT_LIMIT {
            return Ok(Err(format!("is longer than {} KiB", TEXT_LIMIT / 1024)));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8(bytes).map_err(|_| format!("`{name}` is not UTF-8 text")))
}

/// The extension to give the temporary file, from the uploaded file's name, so that a
/// spreadsheet is recognised as one.
fn extension(file_name: Option<&str>) -> String {
    file_name
        .and_then(|n| Path::new(n).extension())
        .and_then(|e| e.to_str())
        .filter(|e| e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|e| format!(".{}", e.to_ascii_lowercase()))
        .unwrap_or_else(|| ".upload".into())
}

/// Stream the `file` part to a temporary file, a chunk at a time.
async fn save(field: &mut Field<'_>) -> Result<(NamedTempFile, u64), Problem> {
    let io = |e: std::io::Error| {
        tracing::error!(error = %e, "cannot store an uploaded file");
        Problem::internal()
    };
    let temp = tempfile::Builder::new()
        .prefix("throughline-import-")
        .suffix(&extension(field.file_name()))
        .tempfile()
        .map_err(io)?;
    let file = tokio::fs::File::from_std(temp.as_file().try_clone().map_err(io)?);
    let mut out = tokio::io::BufWriter::with_capacity(1024 * 1024, file);
    let mut size = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(multipart_problem)? {
        size += chunk.len() as u64;
        out.write_all(&chunk).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    out.into_inner().sync_all().await.map_err(io)?;
    Ok((temp, size))
}

fn csrf_refused() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "/problems/csrf",
        "Missing CSRF token",
        "the form's CSRF token does not match the session's: reload the page and try again",
    )
}

/// Read every part. Errors in text parts are collected; when the parts before the file
/// are refused already, the API does not read the file at all (the caller learns at once),
/// and the page reads on for the fields it shows again.
pub(crate) async fn read_form(
    mut multipart: Multipart,
    sender: Sender<'_>,
) -> Result<(Form, Errors), Problem> {
    let mut form = Form::default();
    let mut errors = Errors::default();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_problem)? {
        let name = field.name().unwrap_or("").to_string();
        if let Sender::Page { csrf } = sender {
            if name == "_csrf" {
                let sent = match text(&mut field, &name).await? {
                    Ok(sent) => sent,
                    Err(_) => return Err(csrf_refused()),
                };
                form.csrf_ok = crate::web::session::same_secret(sent.trim(), csrf);
                continue;
            }
            // Nothing is stored for a form that does not carry the session's token.
            if !form.csrf_ok {
                return Err(csrf_refused());
            }
        }
        if name == "file" {
            // Kept to show with the job: a name as long as a file system allows, no longer.
            let file_name = field
                .file_name()
                .map(|n| n.chars().take(255).collect::<String>());
            if matches!(sender, Sender::Page { .. })
                && file_name.as_deref().unwrap_or("").is_empty()
            {
                // A browser sends an empty, nameless part when no file was chosen.
                continue;
            }
            form.file_sent = true;
            form.file_name = file_name;
            // The parts so far, checked as they will be at the end (but for a `kind` that
            // may still come after the file).
            let mut probe = Errors::default();
            let _ = options(&form, &mut probe);
            let refused = probe
                .0
                .iter()
                .any(|(field, _)| field != "kind" || form.kind.is_some());
            if refused || !errors.is_empty() {
                match sender {
                    Sender::Api => return Ok((form, errors)),
                    Sender::Page { .. } => continue,
                }
            }
            if form.file.is_some() {
                errors.add("file", "is given twice: upload one file per import");
                return Ok((form, errors));
            }
            form.file = Some(save(&mut field).await?);
            continue;
        }
        let known = [
            "kind",
            "map",
            "status_map",
            "pipeline",
            "stages",
            "currency",
            "null",
            "mapping",
            "dry_run",
            "partial",
        ];
        if !known.contains(&name.as_str()) {
            errors.add(
                if name.is_empty() { "body" } else { &name },
                format!(
                    "is not a part of an import; the parts are file, {}",
                    known.join(", ")
                ),
            );
            continue;
        }
        let value = match text(&mut field, &name).await? {
            Ok(value) => value,
            Err(message) => {
                errors.add(&name, message);
                continue;
            }
        };
        let values: Vec<String> = match sender {
            Sender::Api => vec![value],
            // A field left blank is a setting not given; a text area holds one per line,
            // and the null texts are a comma-separated list, as the stages are.
            Sender::Page { .. } => {
                let separator = if name == "null" { ',' } else { '\n' };
                let many = ["map", "status_map", "null"].contains(&name.as_str());
                if many {
                    value
                        .split(separator)
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(String::from)
                        .collect()
                } else if value.trim().is_empty() {
                    vec![]
                } else {
                    vec![value]
                }
            }
        };
        for value in values {
            let single = match name.as_str() {
                "map" => {
                    form.map.push(value);
                    continue;
                }
                "status_map" => {
                    form.status_map.push(value);
                    continue;
                }
                "null" => {
                    form.null.push(value);
                    continue;
                }
                "stages" => {
                    form.stages.extend(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(String::from),
                    );
                    continue;
                }
                "kind" => &mut form.kind,
                "pipeline" => &mut form.pipeline,
                "currency" => &mut form.currency,
                "mapping" => &mut form.mapping,
                "dry_run" => &mut form.dry_run,
                _ => &mut form.partial,
            };
            if single.is_some() {
                errors.add(&name, "is given twice");
            } else {
                *single = Some(value);
            }
        }
    }
    if matches!(sender, Sender::Page { .. }) && !form.csrf_ok {
        return Err(csrf_refused());
    }
    Ok((form, errors))
}

fn flag(value: Option<&str>, field: &str, errors: &mut Errors) -> bool {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            errors.add(field, format!("must be true or false, not `{other}`"));
            false
        }
    }
}

/// The options the form asks for: the TOML mapping first, the single settings over it (as
/// the command line does).
fn options(form: &Form, errors: &mut Errors) -> Option<ImportOptions> {
    let kind = match form.kind.as_deref().map(str::trim) {
        None | Some("") => {
            errors.add(
                "kind",
                "is required: deals, leads, people, organizations, activities or pipelines",
            );
            None
        }
        Some(text) => match text.parse::<Kind>() {
            Ok(kind) => Some(kind),
            Err(message) => {
                errors.add("kind", message);
                None
            }
        },
    };
    let mut mapping = match &form.mapping {
        Some(text) => Mapping::from_toml(text).unwrap_or_else(|e| {
            errors.add("mapping", e.to_string());
            Mapping::default()
        }),
        None => Mapping::default(),
    };
    for m in &form.map {
        if let Err(e) = mapping.add_field_flag(m) {
            errors.add("map", e.to_string().replace("--map ", ""));
        }
    }
    for m in &form.status_map {
        if let Err(e) = mapping.add_status_flag(m) {
            errors.add("status_map", e.to_string().replace("--status-map ", ""));
        }
    }
    if let Some(p) = form.pipeline.as_deref().map(str::trim) {
        if p.is_empty() {
            errors.add("pipeline", "must not be empty");
        }
        mapping.pipeline = Some(p.to_string());
    }
    if !form.stages.is_empty() {
        mapping.stages = form.stages.clone();
    }
    if let Some(c) = form.currency.as_deref().map(str::trim) {
        if c.parse::<Currency>().is_err() {
            errors.add(
                "currency",
                format!("`{c}` is not an ISO 4217 currency code"),
            );
        }
        mapping.currency = Some(c.to_string());
    }
    mapping.null.extend(form.null.iter().cloned());
    let dry_run = flag(form.dry_run.as_deref(), "dry_run", errors);
    let partial = flag(form.partial.as_deref(), "partial", errors);
    Some(ImportOptions {
        kind: kind?,
        mapping,
        dry_run,
        partial,
    })
}

/// Open the file and resolve its mapping, as the import will: a file that does not fit
/// is refused now rather than by a failed job. (A large spreadsheet is left to the job: its
/// sheet is read whole to find the header.) A refused mapping lists the file's `columns`,
/// to map them from.
async fn check_header(
    path: PathBuf,
    size: u64,
    options: &ImportOptions,
    mapping_part: bool,
    sender: Sender<'_>,
) -> Result<(), Problem> {
    let (kind, explicit) = (options.kind, options.mapping.clone());
    let checked = tokio::task::spawn_blocking(move || {
        let mut magic = [0u8; 4];
        let read = std::fs::File::open(&path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut magic))
            .map_err(|e| {
                let e = ImportError::Format(format!("the upload cannot be read back: {e}"));
                (e, vec![])
            })?;
        if magic[..read] == *b"PK\x03\x04" && size > XLSX_CHECK_LIMIT {
            return Ok(());
        }
        let table = read::open(&path).map_err(|e| (e, vec![]))?;
        import::resolve_mapping(kind, &table.headers, &explicit)
            .map(|_| ())
            .map_err(|e| (e, table.headers.clone()))
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "the header check of an upload stopped");
        Problem::internal()
    })?;
    match checked {
        Ok(()) => Ok(()),
        Err((ImportError::Mapping(message), columns)) => {
            // Name the part the user wrote the mapping in, in the words of the form.
            let field = if mapping_part { "mapping" } else { "map" };
            let message = match sender {
                Sender::Api => message.replace("--map ", "map "),
                Sender::Page { .. } => message.replace("--map ", ""),
            };
            Err(invalid(field, message).with("columns", json!(columns)))
        }
        Err((ImportError::Format(message), _)) => Err(invalid("file", message)),
        Err((other, _)) => {
            tracing::error!(error = %other, "cannot read an uploaded file");
            Err(Problem::internal())
        }
    }
}

/// What a failed job tells its user: the refusal's own words, never internals.
fn failure(err: ImportError) -> String {
    match err {
        ImportError::Format(m) | ImportError::Mapping(m) => m,
        ImportError::Store(
            e @ (StoreError::Forbidden { .. }
            | StoreError::Invalid(_)
            | StoreError::Conflict { .. }
            | StoreError::NotFound { .. }
            | StoreError::StaleVersion { .. }
            | StoreError::CriteriaUnmet { .. }),
        ) => e.to_string(),
        other => {
            tracing::error!(error = %other, "import failed");
            "the import failed on our side; it has been logged, and nothing was written".into()
        }
    }
}

/// An upload whose options and header were checked: ready to run as a job.
pub(crate) struct Upload {
    options: ImportOptions,
    temp: NamedTempFile,
    file_name: Option<String>,
}

/// Check what [`read_form`] read: the options, the file, and the file's header against the
/// mapping. Every refusal is one problem naming its fields.
pub(crate) async fn prepare(
    form: &mut Form,
    mut errors: Errors,
    sender: Sender<'_>,
) -> Result<Upload, Problem> {
    let options = options(form, &mut errors);
    let file = form.file.take();
    match (&file, sender) {
        (None, Sender::Api) if !form.file_sent => errors.add(
            "file",
            "is required: the CSV or XLSX file, as a multipart file part",
        ),
        (None, Sender::Page { .. }) if !form.file_sent => {
            errors.add("file", "choose the CSV or XLSX file to import")
        }
        (Some((_, 0)), Sender::Api) => errors.add("file", "is empty"),
        (Some((_, 0)), Sender::Page { .. }) => errors.add("file", "the chosen file is empty"),
        _ => {}
    }
    let (Some(options), Some((temp, size)), true) = (options, file, errors.is_empty()) else {
        return Err(errors.into_problem());
    };
    let mapping_part = form.map.is_empty() && form.mapping.is_some();
    check_header(
        temp.path().to_path_buf(),
        size,
        &options,
        mapping_part,
        sender,
    )
    .await?;
    Ok(Upload {
        options,
        temp,
        file_name: form.file_name.clone(),
    })
}

/// Run `upload` in the background as `auth`'s user, as a job of `state.imports`.
pub(crate) fn start(state: &AppState, auth: &Auth, upload: Upload) -> JobView {
    let Upload {
        options,
        temp,
        file_name,
    } = upload;
    let path: TempPath = temp.into_temp_path();
    let progress = Arc::new(Counter::default());
    let view = state
        .imports
        .add(auth.user.id, options.kind, file_name, progress.clone());
    let (jobs, id, store, actor) = (
        state.imports.clone(),
        view.id.clone(),
        state.store.clone(),
        auth.actor(),
    );
    let recorder = store.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::spawn(async move {
        // The import reads the file synchronously between its database calls, so it runs on
        // a blocking thread rather than holding up the threads that serve requests.
        let worker = {
            let (jobs, id) = (jobs.clone(), id.clone());
            tokio::task::spawn_blocking(move || {
                jobs.set_running(&id);
                let result = runtime.block_on(import::run(
                    &store,
                    Ctx::now(actor),
                    &path,
                    &options,
                    progress.as_ref(),
                ));
                // Deletes the file.
                drop(path);
                result
            })
        };
        let state = match worker.await {
            Ok(Ok(report)) => JobState::Done(Box::new(report)),
            Ok(Err(e)) => JobState::Failed(failure(e)),
            Err(e) => {
                tracing::error!(error = %e, "import job stopped");
                JobState::Failed(
                    "the import stopped unexpectedly; it has been logged, and nothing was written"
                        .into(),
                )
            }
        };
        // Recorded first: whoever sees the job finished can also find it after a restart.
        let at = Timestamp::now();
        if let Some(finished) = jobs.finished_view(&id, &state, at) {
            record(&recorder, &finished).await;
        }
        jobs.finish(&id, state, at);
    });
    view
}

/// `POST /imports`.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let multipart = multipart.map_err(not_multipart)?;
    let (mut form, errors) = read_form(multipart, Sender::Api).await?;
    let upload = prepare(&mut form, errors, Sender::Api).await?;
    let view = start(&state, &auth, upload);
    let location = format!("/api/v1/imports/{}", view.id);
    let mut response = (StatusCode::ACCEPTED, Json(view)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `GET /imports/{id}`: a job the caller started (an admin: any job).
pub async fn show(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<JobView>> {
    state
        .imports
        .get(&state.store, &auth, &id)
        .await?
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("no import job {id}")).into())
}

/// `GET /imports`: the caller's jobs (an admin's: everyone's), newest first.
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<serde_json::Value>> {
    let items = state.imports.list(&state.store, &auth).await?;
    Ok(Json(json!({ "items": items })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_finished_jobs_are_kept() {
        let jobs = ImportJobs::default();
        let user = UserId::new();
        let running = jobs.add(user, Kind::Deals, None, Arc::default());
        jobs.set_running(&running.id);
        let mut finished = vec![];
        for _ in 0..KEEP_FINISHED + 5 {
            let job = jobs.add(user, Kind::Leads, None, Arc::default());
            jobs.finish(&job.id, JobState::Failed("no".into()), Timestamp::now());
            finished.push(job.id);
        }
        let kept = jobs.lock();
        assert_eq!(kept.by_id.len(), KEEP_FINISHED + 1);
        assert!(kept.by_id.contains_key(&running.id), "a running job stays");
        assert!(!kept.by_id.contains_key(&finished[4]), "the oldest go");
        assert!(kept.by_id.contains_key(&finished[5]));
        assert_eq!(kept.finished.len(), KEEP_FINISHED);
    }

    #[test]
    fn progress_is_counted() {
        let job = Job {
            id: "j".into(),
            started_by: UserId::new(),
            kind: Kind::Deals,
            file_name: None,
            state: JobState::Running,
            progress: Arc::new(Counter::default()),
            created_at: Timestamp::now(),
            finished_at: None,
        };
        assert_eq!(job.view().rows_total, None, "not counted yet");
        job.progress.total(10);
        job.progress.advance(4);
        job.progress.advance(3);
        let view = job.view();
        assert_eq!((view.rows_total, view.rows_done), (Some(10), 7));
        assert_eq!(view.status, JobStatus::Running);
    }

    #[test]
    fn the_temporary_file_keeps_a_plain_extension() {
        assert_eq!(extension(Some("Deals export.XLSX")), ".xlsx");
        assert_eq!(extension(Some("deals.csv")), ".csv");
        assert_eq!(extension(Some("../../etc/passwd")), ".upload");
        assert_eq!(extension(Some("x.c$v")), ".upload");
        assert_eq!(extension(None), ".upload");
    }
}
